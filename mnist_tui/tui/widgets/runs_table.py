"""The workspace's table: one row per run folder, sortable, filterable, with a mark column.

The table owns what it shows: every summary it was given, the filter, the sort and the
marks (kept by run name, so they survive re-sorting, filtering and refreshes). A refresh
whose rows kept their order only updates the cells that changed; the table is rebuilt only
when the order or the set of rows changed. Broken folders are dim rows whose state reads
"broken"; :meth:`RunsTable.current` gives the highlighted run, and the screen shows its reason.

A column is shown whole or not at all: a table cut at the terminal's edge showed batch 1024 as
"10". Where not every column fits, the last of ``PRIORITY`` give way (the sorted column never
does) and :attr:`RunsTable.hidden` names them for the screen to say so.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding
from textual.reactive import reactive
from textual.widgets import DataTable

from mnist_tui.tui import messages as msg
from mnist_tui.workspace.columns import BY_KEY, COLUMNS, Column, cell_text, sort_summaries
from mnist_tui.workspace.filters import RunFilter, parse_filter
from mnist_tui.workspace.index import RunSummary

MARK_KEY = "mark"
STATE_STYLES = {
    "training": "bold green",
    "loading": "yellow",
    "paused": "yellow",
    "finished": "cyan",
    "stopped": "cyan",
    "failed": "red",
    "lost": "bold red",
    "broken": "red",
}
# The order in which columns are kept when not all fit (the first ones stay longest): the result
# and the settings a sweep varies before the rest.
PRIORITY = (
    "name", "state", "acc", "lr", "batch", "epochs", "loss", "schedule", "dropout", "t99", "sps",
    "started", "recipe", "precision", "seed", "world", "device", "dataset",
)  # fmt: skip


class RunsTable(DataTable):
    """Post :class:`RunsTable.MarksChanged` when the marked runs change, and
    :class:`RunsTable.ColumnsShown` when columns were left out or came back."""

    MarksChanged = msg.MarksChanged  # (in messages.py, with the app's other messages)
    ColumnsShown = msg.ColumnsShown
    # the first and last run, as on the dashboard's digits (DataTable's own scroll the table sideways)
    BINDINGS = [Binding("home", "to_run(0)", show=False), Binding("end", "to_run(-1)", show=False)]

    sort_column: reactive[str] = reactive("started", init=False)
    descending: reactive[bool] = reactive(True, init=False)
    run_filter: reactive[RunFilter] = reactive(RunFilter(""), init=False)

    def __init__(self, start_at: str = "", **kwargs) -> None:
        """``start_at``: the run the cursor starts on once listed (R from its dashboard)."""
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.start_at = start_at
        self.summaries: list[RunSummary] = []
        self.listed: list[RunSummary] = []  # what is shown, in order
        self.marked: list[str] = []  # run names, in the order they were marked
        self.markers: dict[str, str] = {}  # run name → its marker in its plot colour (markup)
        self._shown: dict[str, tuple[str, ...]] = {}  # row key → the cells on screen
        self._drawn: dict[str, tuple[RunSummary, str]] = {}  # row key → what they were made from
        self.shown_columns: tuple[Column, ...] = ()  # in COLUMNS' order; set by _fit_columns
        self._widths: dict[str, tuple[RunSummary, dict[str, int]]] = {}  # row key → its cells' widths

    def action_to_run(self, row: int) -> None:
        self.move_cursor(row=row % max(self.row_count, 1))

    @property
    def hidden(self) -> tuple[Column, ...]:
        """The columns left out at this width (the filter and the sort still know them)."""
        return tuple(c for c in COLUMNS if c not in self.shown_columns)

    def on_mount(self) -> None:
        self._fit_columns()

    def on_resize(self) -> None:
        self._relist()

    def _column_widths(self) -> dict[str, int]:
        """What DataTable will give each column: its widest cell or header, and the cell padding.
        A row's widths are measured again only when its summary changed (a refresh every 2 s)."""
        old, self._widths = self._widths, {}
        for run in self.listed:
            kept = old.get(run.name)
            if kept is None or kept[0] != run:
                kept = (run, {c.key: cell_len(_plain(c, run)) for c in COLUMNS})
            self._widths[run.name] = kept
        widths = {}
        for column in COLUMNS:
            header = cell_len(column.header) + (2 if column.key == self.sort_column else 0)  # " ▼"
            cells = max((w[column.key] for _, w in self._widths.values()), default=0)
            widths[column.key] = max(header, cells) + 2 * self.cell_padding
        return widths

    def _fit_columns(self) -> bool:
        """Show the columns that fit whole, by PRIORITY; True when the set changed (the rows must
        be added again). Before the first layout (no width yet) every column is shown."""
        scrolls = len(self.listed) + 1 > self.size.height  # rows and the header: a vertical scrollbar
        room = self.size.width - (self.styles.scrollbar_size_vertical if scrolls else 0) - (1 + 2 * self.cell_padding)
        keep = {"name", self.sort_column}
        if self.size.width:
            widths = self._column_widths()
            used = sum(widths[k] for k in keep)
            for key in PRIORITY:
                if key in keep:
                    continue
                used += widths[key]
                if used > room:
                    break  # strictly by priority: no narrow column slips past a wider one
                keep.add(key)
        shown = tuple(c for c in COLUMNS if c.key in keep or not self.size.width)
        if shown == self.shown_columns:
            return False
        self.shown_columns = shown
        self.clear(columns=True)
        self.add_column(" ", key=MARK_KEY, width=1)
        for column in shown:
            self.add_column(column.header, key=column.key)
        self._shown, self._drawn = {}, {}
        self._label_sort()
        self.post_message(self.ColumnsShown())
        return True

    # -- data --------------------------------------------------------------------------------

    def show(self, summaries: list[RunSummary]) -> None:
        """The index's latest scan (from the UI thread)."""
        self.summaries = summaries
        names = {s.name for s in summaries}
        kept = [n for n in self.marked if n in names]
        if kept != self.marked:
            self.marked = kept
            self.post_message(self.MarksChanged(tuple(kept)))
        self._relist()

    def set_filter(self, text: str) -> None:
        """Apply the filter typed after ``/``; raises ``FilterError`` (the old filter stays)."""
        self.run_filter = parse_filter(text)

    def watch_run_filter(self) -> None:
        self._relist()

    def watch_sort_column(self) -> None:
        self._label_sort()
        self._relist()

    def watch_descending(self) -> None:
        self._label_sort()
        self._relist()

    def sort_by(self, key: str) -> None:
        """Sort by the column ``key``; the same column again reverses the order (a header click)."""
        if key == self.sort_column:
            self.descending = not self.descending
        elif key in BY_KEY:
            self.sort_column = BY_KEY[key].key

    def step_sort(self, step: int) -> None:
        keys = [c.key for c in COLUMNS]
        index = keys.index(self.sort_column) if self.sort_column in keys else 0
        self.sort_column = keys[(index + step) % len(keys)]

    def _label_sort(self) -> None:
        for column in self.shown_columns:
            arrow = (" ▼" if self.descending else " ▲") if column.key == self.sort_column else ""
            label = Text(column.header + arrow, style="bold" if arrow else "")
            shown = self.columns[column.key]
            # DataTable sizes a column by its label only when added: "batch ▼" was cut to "batch"
            cells = max((w[column.key] for _, w in self._widths.values()), default=0)
            shown.label, shown.content_width = label, max(label.cell_len, cells)
        self._require_update_dimensions = True
        # the header row is drawn from DataTable's caches, cleared only when rows change: a sort
        # that kept the order (all runs 3/3 sorted by epochs) left the arrow on the old column
        self._clear_caches()
        self.refresh()

    # -- marks -------------------------------------------------------------------------------

    def toggle_mark(self) -> None:
        run = self.current
        if run is None or (run.problem and run.name not in self.marked):
            return  # a broken folder has no curves to compare
        if run.name in self.marked:
            self.marked.remove(run.name)
        else:
            self.marked.append(run.name)
        self._update_row(run)
        self.post_message(self.MarksChanged(tuple(self.marked)))

    def show_markers(self, markers: dict[str, str]) -> None:
        """Each marked run's marker as the compare plots draw it."""
        self.markers = markers
        for run in self.listed:
            self._update_row(run)  # only rows whose marker changed are redrawn

    def clear_marks(self) -> None:
        self.marked = []
        self._relist(force=True)
        self.post_message(self.MarksChanged(()))

    @property
    def current(self) -> RunSummary | None:
        if not self.listed or not 0 <= self.cursor_row < len(self.listed):
            return None
        return self.listed[self.cursor_row]

    # -- drawing rows ------------------------------------------------------------------------

    def _cells(self, run: RunSummary) -> tuple:
        if run.name in self.marked:
            mark = Text.from_markup(self.markers[run.name]) if run.name in self.markers else Text("●", style="bold")
        else:
            mark = Text(" ")
        dim = "dim" if run.problem else ""
        cells: list = [mark]
        for column in self.shown_columns:
            text = _plain(column, run)
            style = STATE_STYLES.get(run.state, "") if column.key == "state" else ""
            if column.key == "name" and run.note and not run.problem:  # its note (rows cut, skipped) is
                style = "yellow"  # shown under the table for the row at the cursor: flag which rows have one
            cells.append(Text(text, style=f"{style} {dim}".strip(), justify=_justify(column)))
        return tuple(cells)

    def _relist(self, force: bool = False) -> None:
        """Show ``listed``: rows that stay are updated in place and reordered with
        ``DataTable.sort``; only new rows are added. Adding a row measures each of its cells
        (about 0.7 ms a row here: 0.37 s for 500 rows on a loaded 2-core machine), so a live
        run that changes the order of a sorted table must not rebuild it every refresh."""
        if not self.is_mounted:
            return
        column = BY_KEY[self.sort_column]
        listed = sort_summaries(self.run_filter.apply(self.summaries), column, self.descending)
        names = [s.name for s in listed]
        old_order = [s.name for s in self.listed]
        current = old_order[self.cursor_row] if 0 <= self.cursor_row < len(old_order) else None
        self.listed = listed
        wanted = set(names)
        gone = [name for name in self._shown if name not in wanted]
        if not self._fit_columns():  # new columns empty the table: then every row is added below
            if force or len(gone) > len(self._shown) - len(gone):  # mostly gone: clearing is cheaper
                self.clear()
                self._shown, self._drawn = {}, {}
            else:
                for name in gone:
                    self.remove_row(name)
                    del self._shown[name], self._drawn[name]
        for run in listed:
            if run.name in self._shown:
                self._update_row(run)
            else:
                cells = self._cells(run)
                self._shown[run.name] = tuple(c.plain for c in cells)
                self._drawn[run.name] = (run, self.markers.get(run.name, "●") if run.name in self.marked else "")
                self.add_row(*cells, key=run.name)
        if [str(row.key.value) for row in self.ordered_rows] != names:
            position = {name: i for i, name in enumerate(names)}
            self.sort("name", key=lambda cell: position[cell.plain])
        if current is None and self.start_at in wanted:
            current, self.start_at = self.start_at, ""
        if current in wanted:
            self.move_cursor(row=names.index(current), animate=False)

    def _update_row(self, run: RunSummary) -> None:
        """Only a changed summary (or mark) makes cells: 500 rows of cells cost ~80 ms a refresh."""
        drawn = (run, self.markers.get(run.name, "●") if run.name in self.marked else "")
        if self._drawn.get(run.name) == drawn:
            return
        self._drawn[run.name] = drawn
        cells = self._cells(run)
        plain = tuple(c.plain for c in cells)
        old = self._shown.get(run.name)
        if old == plain or run.name not in self.rows:
            return
        keys = [MARK_KEY] + [c.key for c in self.shown_columns]
        for key, cell, before, now in zip(keys, cells, old or (), plain, strict=False):
            if before != now:
                self.update_cell(run.name, key, cell, update_width=True)
        self._shown[run.name] = plain

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        if event.column_key.value != MARK_KEY:
            self.sort_by(str(event.column_key.value))


def _plain(column: Column, run: RunSummary) -> str:
    """A broken folder shows only its name and state."""
    return cell_text(column, run) if not run.problem or column.key in ("name", "state") else ""


def _justify(column: Column) -> str:
    return "right" if column.kind == "number" and column.key not in ("dropout",) else "left"
