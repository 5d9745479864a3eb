"""The runs workspace: every run folder under a folder, compared side by side.

The index is scanned every ``REFRESH_S`` in a worker thread (a warm re-scan of 500 folders
reads nothing but ``stat``s: ~12 ms, see ``benchmarks/workspace_index.py``), and the marked
runs' curves are built there too, so the UI thread only updates cells and plots. The screen
does not open runs or start training itself: it posts :class:`OpenRun` and
:class:`NewRunFrom`, which bubble to the app.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Static

from mnist_tui.errors import UserError, one_line, told
from mnist_tui.tui.header_line import run_line
from mnist_tui.tui.messages import NewRunFrom, OpenRun
from mnist_tui.tui.screens.help import HelpScreen
from mnist_tui.tui.screens.workspace_help import HELP_ABOUT, HELP_KEYS, HELP_TITLE, WORKSPACE_BINDINGS
from mnist_tui.tui.widgets.compare_panel import ComparePanel
from mnist_tui.tui.widgets.fitted_footer import FittedFooter
from mnist_tui.tui.widgets.runs_table import RunsTable
from mnist_tui.words import counted
from mnist_tui.workspace.compare import run_curves
from mnist_tui.workspace.export import export_beside
from mnist_tui.workspace.filters import FilterError
from mnist_tui.workspace.index import RunIndex, RunSummary
from mnist_tui.workspace.runs import nothing_to_open

REFRESH_S = 2.0
NARROW_COLUMNS, SHORT_ROWS = 100, 30


class WorkspaceScreen(Screen):
    BINDINGS = WORKSPACE_BINDINGS
    CSS_PATH = "workspace.tcss"

    OpenRun = OpenRun
    NewRunFrom = NewRunFrom

    def __init__(self, root: Path, index: RunIndex | None = None, select: str = "") -> None:
        super().__init__()
        self.select = select  # the run the cursor starts on
        self.root = Path(root)
        self.shown_root = one_line(str(self.root))  # a folder may hold an escape sequence
        self.index = index or RunIndex(self.root)
        self.scans = 0  # finished scans (tests wait on it)
        self._scanning = False
        self._again = False
        self.kept_filter = ""  # the last filter enter kept: a refused one falls back to it
        self.filter_problem = ""  # what is wrong with the words in the filter box

    def compose(self) -> ComposeResult:
        yield Header()
        yield RunsTable(id="runs", start_at=self.select)
        hint = "filter: words, lr<0.005 dropout=0.1 state=finished (enter: keep, esc: clear)"
        yield Input(placeholder=hint, id="filter", select_on_focus=False)  # `/` again refines the kept one
        yield Static(id="run-detail")
        yield ComparePanel(hint=self.compare_hint(), id="compare")
        yield FittedFooter()

    def compare_hint(self) -> str:
        """How to compare, in the keys bound above (a hint typed by hand once named other keys)."""
        key = {b.action: self.app.get_key_display(b) for b in self.BINDINGS}
        return f"{key['mark']} marks a run to compare; {key['toggle_error']} shows test accuracy or error"

    @property
    def table(self) -> RunsTable:
        return self.query_one("#runs", RunsTable)

    @property
    def compare(self) -> ComparePanel:
        return self.query_one("#compare", ComparePanel)

    def on_mount(self) -> None:
        self.title = "mnist-tui runs"
        self.sub_title = self.shown_root
        self._fit_layout(self.app.size.width, self.app.size.height)
        self.table.focus()
        self.rescan()
        self.set_interval(REFRESH_S, self.rescan)

    def on_resize(self, event: Resize) -> None:
        self._fit_layout(event.size.width, event.size.height)

    def _fit_layout(self, width: int, height: int) -> None:
        self.set_class(height < SHORT_ROWS, "-short")
        self.compare.set_class(width < NARROW_COLUMNS, "-narrow")
        self.compare.set_class(height < SHORT_ROWS, "-short")
        # at 80 columns every key, esc Back included, comes before the palette's (? lists ctrl+p)
        self.query_one(FittedFooter).fit(width, width < NARROW_COLUMNS)
        self.refresh_bindings()
        if self.scans:
            self._show_detail()  # the path is shortened to the width

    # -- scanning, off the UI thread -----------------------------------------------------------

    def rescan(self) -> None:
        """Scan now, or right after the scan in progress (one at a time: on a slow file system
        a scan longer than REFRESH_S must still finish and show, not be replaced by the next)."""
        if self._scanning:
            self._again = True
            return
        self._scanning, self._again = True, False
        self._scan(tuple(self.table.marked))

    @work(thread=True, group="workspace-scan", exit_on_error=False)
    def _scan(self, marked: tuple[str, ...]) -> None:
        summaries, runs, error = None, [], None
        try:
            summaries = self.index.scan()
            by_name = {s.name: s for s in summaries}
            runs = [(by_name[n], run_curves(self.index, by_name[n])) for n in marked if n in by_name]
        except UserError as exc:
            error = str(exc)
        except Exception as exc:  # a bug must show as a line, not stop the refreshes for good
            error = f"the scan failed: {type(exc).__name__}: {exc}"
        finally:
            self.app.call_from_thread(self._scanned, summaries, runs, error)

    def _scanned(self, summaries: list[RunSummary] | None, runs, error: str | None) -> None:
        self._scanning = False
        if error is not None:
            self._show_error(error)
        else:
            self._show(summaries, runs)
        if self._again:
            self.rescan()

    def _show(self, summaries: list[RunSummary], runs) -> None:
        self.table.show(summaries)
        marked = tuple(self.table.marked)
        self.compare.show_runs([(s, c) for s, c in runs if s.name in marked])
        self.set_class(bool(marked), "-comparing")
        self._show_detail()
        self.scans += 1

    def _show_counts(self) -> None:
        summaries = self.table.summaries
        broken = sum(1 for s in summaries if s.problem)
        shown = len(self.table.listed)
        runs = counted(len(summaries), "run")
        count = f"{shown} of {runs}" if shown != len(summaries) else runs
        # a long path is cut
        self.sub_title = count + (f" · {broken} broken" if broken else "") + f" · {self.shown_root}"

    def _show_error(self, message: str) -> None:
        self.query_one("#run-detail", Static).update(Text(message, style="bold red"))
        self.scans += 1

    def _show_detail(self) -> None:
        self._show_counts()
        listed = {s.name for s in self.table.listed}  # a marked run the filter hides stays in the plots: say so
        self.compare.show_filtered_out({name for name in self.table.marked if name not in listed})
        run = self.table.current
        line = Text()
        if self.filter_problem:  # "no run matches the filter" said nothing of a word it could not use
            line.append(self.filter_problem, style="bold red")
        elif run is None:
            empty = "no run matches the filter" if self.table.summaries else f"no run folders under {self.shown_root}"
            line.append(empty)
        elif run.problem:
            line.append(f"{one_line(run.name)}: ", style="bold")
            line.append(one_line(run.problem), style="red")
        else:
            line = run_line(str(run.path), run.note, len(self.table.hidden), self.size.width - 2)
        self.query_one("#run-detail", Static).update(line)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def on_runs_table_columns_shown(self, event: RunsTable.ColumnsShown) -> None:
        self._show_detail()  # how many columns are hidden

    def on_runs_table_marks_changed(self, event: RunsTable.MarksChanged) -> None:
        self.table.show_markers(self.compare.keep_slots(event.names))
        self.rescan()  # the curves of a newly marked run are read off the UI thread

    # -- keys --------------------------------------------------------------------------------

    def action_mark(self) -> None:
        self.table.toggle_mark()

    def action_move(self, rows: int) -> None:
        """j and k move through the runs, as arrows do (the same keys move on every screen)."""
        (self.table.action_cursor_down if rows > 0 else self.table.action_cursor_up)()

    def action_clear_marks(self) -> None:
        self.table.clear_marks()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def _usable_run(self, why_not: str, problem=lambda run: run.problem):
        """The run under the cursor, or None (with a warning naming ``why_not`` and its ``problem``)."""
        run = self.table.current
        if run is not None and (reason := problem(run)):
            self.notify(f"{run.name} {why_not}: {reason}", severity="warning", timeout=6)  # shown as written
            return None
        return run

    def action_open(self) -> None:
        run = self._usable_run("cannot be opened", lambda run: run.problem or nothing_to_open(run))
        if run is not None:
            self.post_message(OpenRun(run.path, run))

    def action_new_run(self) -> None:
        run = self._usable_run("has no settings to start from")
        if run is not None:
            self.post_message(NewRunFrom(run.path, run))

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("-open")
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        try:
            self.table.set_filter(event.value)
            self.filter_problem = ""
        except FilterError as exc:  # shown until the words are right (a rescan's detail hid it)
            self.filter_problem = str(exc)
        self._show_detail()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            self.table.set_filter(event.value)
        except FilterError as exc:  # typing had left a part of it applied ("acc" of "acc>abc")
            self.table.set_filter(self.kept_filter)
            self._show_detail()
            kept = f"the filter stays {self.kept_filter!r}" if self.kept_filter.strip() else "no filter"
            self.notify(f"{exc}; {kept}", severity="error", timeout=8)
            return
        self.kept_filter = event.value
        self.refresh_bindings()  # esc clears it
        if not event.value.strip():
            event.input.remove_class("-open")
        self.table.focus()

    def action_sort(self, step: int) -> None:
        self.table.step_sort(step)

    def action_reverse(self) -> None:
        self.table.descending = not self.table.descending

    def action_toggle_error(self) -> None:
        self.compare.error_view = not self.compare.error_view

    @property
    def filter_to_clear(self) -> bool:
        return bool(self.query_one("#filter", Input).has_focus or self.kept_filter or self.filter_problem)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "escape":  # one esc too many after clearing a filter quit the app, marks and all
            return self.filter_to_clear or len(self.app.screen_stack) > 1
        return True

    def action_escape(self) -> None:
        box = self.query_one("#filter", Input)
        if self.filter_to_clear:
            box.value = self.kept_filter = ""
            box.remove_class("-open")
            self.table.focus()
            self.refresh_bindings()
        elif len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
        else:
            self.app.exit()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(keys=list(HELP_KEYS), about=HELP_ABOUT, title=HELP_TITLE))

    def action_export(self) -> None:
        self._export(list(self.table.listed))

    @work(thread=True, group="workspace-export", exit_on_error=False)
    def _export(self, runs: list[RunSummary]) -> None:
        try:
            result = export_beside(runs, self.root, self.index)
        except Exception as exc:  # noqa: BLE001 - this worker's errors are nobody's: say it
            self.app.call_from_thread(self.notify, told(exc), severity="error", timeout=10)
            return
        left = f"; {counted(len(result.skipped), 'broken folder')} left out" if result.skipped else ""
        text = f"exported {counted(result.rows, 'row')} of {counted(result.runs, 'run')} to {result.path}{left}"
        self.app.call_from_thread(self.notify, text, timeout=10)
