"""Every finished epoch as a row (a resumed run's earlier epochs included)."""

from __future__ import annotations

from textual.widgets import DataTable

from mnist_tui.training.events import EpochRecord

# Each column: its header and how a record shows in it. The wide side panel (52 columns) takes
# all five; the 40-column one at 80×24 drops the train accuracy rather than cutting a column.
COLUMNS = {
    "ep": lambda r: str(r.epoch),
    "train loss": lambda r: f"{r.train_loss:.4f}",
    "train acc": lambda r: f"{r.train_acc:.2%}",
    "test loss": lambda r: f"{r.test_loss:.4f}",
    "test acc": lambda r: f"{r.test_acc:.2%}",
}
COMPACT = ("ep", "train loss", "test loss", "test acc")


class EpochTable(DataTable):
    can_focus = False  # the dashboard's keys act on the run and the browser; no hidden focus here

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.records: dict[int, EpochRecord] = {}
        self.pending: list[EpochRecord] = []  # added since the last flush
        self.compact = False

    def on_mount(self) -> None:
        self.cursor_type = "none"
        self.zebra_stripes = True
        self.border_title = "Epochs"
        self._rebuild()

    def on_resize(self) -> None:
        # The newest epoch stays in view when the layout changes the table's height (a replay's
        # history arrives before the side panels settle: it stayed scrolled to the middle).
        self.call_after_refresh(self.scroll_end, animate=False)

    def set_compact(self, compact: bool) -> None:
        if compact != self.compact:
            self.compact = compact
            if self.is_mounted:
                self._rebuild()

    def _columns(self) -> tuple[str, ...]:
        return COMPACT if self.compact else tuple(COLUMNS)

    def _rebuild(self) -> None:
        self.pending = []
        self.clear(columns=True)
        self.add_columns(*self._columns())
        for record in sorted(self.records.values(), key=lambda r: r.epoch):
            self._add_row(record)

    def _add_row(self, record: EpochRecord) -> None:
        key = str(record.epoch)
        if key in self.rows:
            self.remove_row(key)
        self.add_row(*(COLUMNS[name](record) for name in self._columns()), key=key)
        self.move_cursor(row=self.row_count - 1)
        self.scroll_end(animate=False)

    def add_epoch(self, record: EpochRecord) -> None:
        """A finished epoch; a repeated epoch (a resumed run) replaces its row. Shown at :meth:`flush`."""
        self.records[record.epoch] = record
        self.pending.append(record)

    def flush(self) -> None:
        """Show the epochs added since the last flush. A new row changes the table's size, and a
        layout pass costs the whole screen ~7 ms: the dashboard flushes on its once-a-second tick,
        so short epochs (0.5 s on a 20k-sample benchmark pass) share one pass."""
        pending, self.pending = self.pending, []
        if self.is_mounted:
            for record in pending:
                self._add_row(record)
