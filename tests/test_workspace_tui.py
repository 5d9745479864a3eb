"""The workspace screen through Textual's pilot, at 120×40 and 80×24, over real run folders."""

from __future__ import annotations

import csv
import re
import shutil

import pytest
from textual.app import App
from waiting import pilot_wait
from workspace_helpers import workspace

from mnist_tui.runfolder.reader import read_batches, read_metrics
from mnist_tui.tui.screens.workspace import NewRunFrom, OpenRun, WorkspaceScreen
from mnist_tui.tui.widgets.compare_plot import ComparePlot
from mnist_tui.tui.widgets.runs_table import PRIORITY, RunsTable, _plain
from mnist_tui.workspace.columns import BY_KEY, COLUMNS

ALL = ["lr-0.003", "lr-0.01", "sweep/lr-0.001", "broken", "foreign", "old/format1"]


class WorkspaceApp(App):
    """A stand-in for the app the lead wires: pushes the screen, records what it posts."""

    def __init__(self, root) -> None:
        super().__init__()
        self.root = root
        self.opened: list = []
        self.new_from: list = []

    def on_mount(self) -> None:
        self.push_screen(WorkspaceScreen(self.root))

    def on_open_run(self, message: OpenRun) -> None:
        self.opened.append(message.path)

    def on_new_run_from(self, message: NewRunFrom) -> None:
        self.new_from.append(message.path)


@pytest.fixture
def runs(tmp_path, tmp_path_factory):
    return workspace(tmp_path, tmp_path_factory)


def screen_text(app) -> str:
    return "\n".join(strip.text.rstrip() for strip in app.screen._compositor.render_strips())


async def scanned(pilot, screen, more: int = 1) -> None:
    target = screen.scans + more
    await pilot_wait(pilot, lambda: screen.scans >= target, f"{more} scan(s)")
    await pilot.pause()


def listed(table) -> list[str]:
    return [s.name for s in table.listed]


async def cursor_to(pilot, table, name: str) -> None:
    table.move_cursor(row=listed(table).index(name))
    await pilot.pause()


async def mark(pilot, table, *names: str) -> None:
    """m on each run in turn: marks it to compare (or unmarks a marked one)."""
    for name in names:
        await cursor_to(pilot, table, name)
        await pilot.press("m")


async def test_lists_sorts_by_key_and_header_click_and_filters(runs):
    app = WorkspaceApp(runs)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await scanned(pilot, screen)
        table = screen.query_one(RunsTable)
        assert sorted(listed(table)) == sorted(ALL)
        text = screen_text(app)
        assert "6 runs · 2 broken" in text and "finished" in text and "broken" in text
        assert table.sort_column == "started" and table.descending
        for _ in range(5):  # started → img/s → dropout → schedule → batch → lr
            await pilot.press("less_than_sign")
        assert table.sort_column == "lr"
        await pilot.press("r")
        assert listed(table)[:3] == ["sweep/lr-0.001", "lr-0.003", "lr-0.01"]  # ascending; unknown lr last
        await pilot.press("greater_than_sign")
        assert table.sort_column == "batch"
        # a click on the "best acc" header sorts by it; a second click reverses
        x = sum(c.get_render_width(table) for c in table.ordered_columns[:4]) + 2
        await pilot.click(RunsTable, offset=(x, 0))
        assert table.sort_column == "acc"
        accs = [s.best_test_acc for s in table.listed if s.best_test_acc is not None]
        assert accs == sorted(accs, reverse=table.descending)
        await pilot.click(RunsTable, offset=(x, 0))
        assert [s.best_test_acc for s in table.listed if s.best_test_acc is not None] == accs[::-1]
        # the / filter
        await pilot.press("slash", *"lr<0.005", "enter")
        assert sorted(listed(table)) == ["lr-0.003", "sweep/lr-0.001"]
        assert "2 of 6 runs" in screen.sub_title
        await pilot.press("slash", "ctrl+u", *"dropout=0.2 state=finished")
        assert listed(table) == ["lr-0.01"]
        await pilot.press("ctrl+u", *"colour<3")  # filtered as typed: "colour" matched nothing, then this
        assert "no column 'colour' (columns: name, state" in screen_text(app)
        await pilot.press("enter")
        assert screen.query_one("#filter").has_focus  # a bad filter is not kept
        # and the one enter kept before is back (typing had left "colour" applied: no run matched)
        assert sorted(listed(table)) == ["lr-0.003", "sweep/lr-0.001"]
        await pilot.press("escape")  # clears the filter and closes the box
        assert len(listed(table)) == 6 and table.has_focus


async def test_a_kept_filter_is_refined_not_replaced_when_the_box_opens_again(runs):
    """`/` on a kept filter selected its whole text: the first key typed replaced it."""
    app = WorkspaceApp(runs)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await scanned(pilot, screen)
        table = screen.query_one(RunsTable)
        await pilot.press("slash", *"lr<0.005", "enter")
        assert sorted(listed(table)) == ["lr-0.003", "sweep/lr-0.001"]
        await pilot.press("slash", *" state=finished", "enter")
        assert screen.query_one("#filter").value == "lr<0.005 state=finished"
        assert set(listed(table)) <= {"lr-0.003", "sweep/lr-0.001"}


async def test_marked_runs_are_overlaid_with_stable_colours_and_their_differences(runs):
    app = WorkspaceApp(runs)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await scanned(pilot, screen)
        table = screen.query_one(RunsTable)
        await mark(pilot, table, "lr-0.003", "lr-0.01", "sweep/lr-0.001")
        await cursor_to(pilot, table, "broken")
        await pilot.press("m")  # a broken folder has no curves: not marked
        assert table.marked == ["lr-0.003", "lr-0.01", "sweep/lr-0.001"]
        await scanned(pilot, screen)
        panel = screen.compare
        acc = screen.query_one("#plot-acc", ComparePlot)
        batch = screen.query_one("#plot-batch_loss", ComparePlot)
        assert [slot for slot, _ in acc.series] == [0, 1, 2]
        for (_, series), name in zip(acc.series, table.marked, strict=True):
            history = read_metrics(runs / name).records
            assert series.xs == (1.0, 2.0) and series.ys == pytest.approx([100 * r.test_acc for r in history])
        for (_, series), name in zip(batch.series, table.marked, strict=True):
            losses = [loss for b in read_batches(runs / name).records for loss in b.losses]
            assert series.ys == pytest.approx(losses) and series.xs[-1] == 2.0
        settings = panel.settings_text().plain
        assert "batch 512 512 128" in settings and "lr 0.003 0.01 0.001" in settings
        assert (
            "   dropout 0.1 0.2 0.1" in settings and "same: data synthetic, train samples 500, recipe fast" in settings
        )
        text = screen_text(app)
        assert "● lr-0.003" in text and "■ lr-0.01" in text and "▲ sweep/lr-0.001" in text  # the legend
        marks = [table.get_cell(name, "mark").plain for name in table.marked]
        assert marks == ["●", "■", "▲"]  # the table's mark column shows each run's marker
        # a marked run the filter hides is still compared, and the legend says it is hidden
        await pilot.press("slash", *"lr<0.005", "enter")
        legend = str(screen.query_one("#compare-legend").render())
        assert "lr-0.01 (filtered out)" in legend and "lr-0.003 (filtered out)" not in legend
        await pilot.press("slash", "escape")
        assert "filtered out" not in str(screen.query_one("#compare-legend").render())
        # unmarking the first run leaves the others their colours
        await cursor_to(pilot, table, "lr-0.003")
        await pilot.press("m")
        await scanned(pilot, screen)
        assert [slot for slot, _ in acc.series] == [1, 2]
        await pilot.press("percent_sign")
        assert acc.title == "test error"
        history = read_metrics(runs / "lr-0.01").records
        assert acc.series[0][1].ys == pytest.approx([100 * (1 - r.test_acc) for r in history])


async def test_enter_opens_n_starts_from_e_exports_and_broken_rows_say_why(runs):
    app = WorkspaceApp(runs)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await scanned(pilot, screen)
        table = screen.query_one(RunsTable)
        await cursor_to(pilot, table, "lr-0.01")
        await pilot.press("enter")
        await pilot.press("n")
        await pilot.pause()
        assert app.opened == [runs / "lr-0.01"] and app.new_from == [runs / "lr-0.01"]
        await cursor_to(pilot, table, "foreign")
        assert "foreign: metrics.jsonl: no row fits" in screen_text(app)
        await pilot.press("enter", "n")
        assert len(app.opened) == 1 and len(app.new_from) == 1  # nothing to open
        await pilot.press("E")
        await pilot_wait(pilot, lambda: list(runs.parent.glob("runs-*.csv")), "the export")
    (exported,) = runs.parent.glob("runs-*.csv")
    with open(exported, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 8 and {r["run"] for r in rows} == {"lr-0.003", "lr-0.01", "sweep/lr-0.001", "old/format1"}


async def test_a_new_run_folder_appears_at_the_next_refresh(runs):
    app = WorkspaceApp(runs)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await scanned(pilot, screen)
        shutil.copytree(runs / "lr-0.01", runs / "later" / "copy")
        await scanned(pilot, screen)
        assert "later/copy" in listed(screen.query_one(RunsTable))


async def test_small_terminal_and_escape_goes_back(runs):
    app = WorkspaceApp(runs)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await scanned(pilot, screen)
        table = screen.query_one(RunsTable)
        await mark(pilot, table, "lr-0.003", "lr-0.01")
        await scanned(pilot, screen)
        assert screen.compare.has_class("-narrow") and screen.compare.has_class("-short")
        text = screen_text(app)
        assert "run" in text and "lr-0.01" in text and "Mark" in text
        assert "test accuracy" in text and "batch loss" in text and "train loss" not in text  # two plots fit
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, WorkspaceScreen)  # back to the screen below


async def test_as_the_only_screen_q_quits():
    class Alone(App):
        def get_default_screen(self):
            return WorkspaceScreen(self.root)

    app = Alone()
    app.root = __import__("pathlib").Path(__file__).parent  # any folder: no runs there
    async with app.run_test(size=(80, 24)) as pilot:
        await scanned(pilot, app.screen)
        assert "no run folders under" in screen_text(app)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_at_the_bottom_esc_clears_the_filter_and_never_quits_and_a_bad_word_stays_said(runs):
    """`--runs DIR`: esc after enter had kept a filter quit the app, marks and all; and a word the
    filter could not use was said for an instant, then hidden by "no run matches the filter"."""

    class Alone(App):
        def get_default_screen(self):
            return WorkspaceScreen(runs)

    app = Alone()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await scanned(pilot, screen)
        table = screen.query_one(RunsTable)
        await pilot.press("slash", *"lr<0.005", "enter")
        assert len(listed(table)) == 2 and "esc Back" in screen_text(app).splitlines()[-1]
        await pilot.press("escape")
        await pilot.pause(0.05)
        assert len(listed(table)) == 6 and app.is_running and app.screen is screen
        await pilot.press("escape")  # nothing left to clear: esc does nothing here, q quits
        await pilot.pause(0.05)
        assert app.is_running and "esc Back" not in screen_text(app).splitlines()[-1]
        await pilot.press("slash", *"accuracy>98")
        screen.rescan()
        await scanned(pilot, screen)
        assert "'accuracy>98': no column 'accuracy'" in screen_text(app)
        await pilot.press("ctrl+u", *"acc>98")
        await pilot.pause(0.05)
        assert "no column" not in screen_text(app)
        await pilot.press("enter", "q")
        await pilot.pause(0.05)
    assert app.return_code == 0


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_columns_are_whole_or_left_out_and_the_hint_names_the_bound_keys(runs, size):
    app = WorkspaceApp(runs)
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        await scanned(pilot, screen)
        table = screen.query_one(RunsTable)
        text = screen_text(app)
        # the hint's keys are the footer's: m marks, % switches (it once said space and a)
        assert "m marks a run to compare; % shows test accuracy or error" in text
        assert "m Mark" in text.splitlines()[-1] and "esc Back" in text.splitlines()[-1]
        # every shown column whole: no horizontal scrolling, each header and cell drawn in full
        assert table.max_scroll_x == 0
        lines = text.splitlines()[table.region.y :]
        for column in table.shown_columns:
            assert column.header in lines[0]
        for run, line in zip(table.listed, lines[1:], strict=False):
            for column in table.shown_columns:
                assert _plain(column, run) in line, (column.key, line)
        assert sorted(PRIORITY) == sorted(c.key for c in COLUMNS)  # a column not ranked would never show
        keys = [c.key for c in table.shown_columns]
        assert {"name", "state", "acc", "lr", "batch", "started"} <= set(keys)  # started: the sorted one
        if table.hidden:
            assert f"{len(table.hidden)} more columns" in text
            hidden = table.hidden[-1].key
            while table.sort_column != hidden:  # sorting by a left-out column shows it
                await pilot.press("greater_than_sign")
            assert hidden in [c.key for c in table.shown_columns] and table.max_scroll_x == 0
        await cursor_to(pilot, table, "lr-0.01")
        await pilot.press("m", "percent_sign")
        assert table.marked == ["lr-0.01"] and screen.compare.error_view


async def test_compare_settings_fit_their_lines_at_80_columns(runs):
    app = WorkspaceApp(runs)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await scanned(pilot, screen)
        table = screen.query_one(RunsTable)
        await mark(pilot, table, "lr-0.003", "lr-0.01", "sweep/lr-0.001")
        await scanned(pilot, screen)
        panel = screen.compare
        width = panel.content_size.width
        for lines in (1, 2, 3):
            fitted = panel.settings_text(width, lines).plain.splitlines()
            assert len(fitted) <= lines and all(len(line) <= width for line in fitted)
        full = panel.settings_text().plain  # one line each: every item
        shared = full.split("\nsame: ")[1].split(", ")
        fitted = panel.settings_text(width, 3).plain
        assert fitted.startswith("differ: batch 512 512 128   lr 0.003 0.01 0.001   dropout 0.1 0.2 0.1")
        shown_same = fitted.split("same: ")[1].replace("\n", " ")
        more = re.search(r"… \+(\d+) more", shown_same)
        kept = [item for item in shared if item in shown_same]
        assert len(kept) + (int(more[1]) if more else 0) == len(shared)  # each item whole, or counted
        drawn = screen_text(app)
        for line in panel.settings_text(width, 2).plain.splitlines():  # the -short panel's two lines
            assert line in drawn


async def test_the_sort_arrow_moves_even_when_the_rows_keep_their_order():
    """Stepping the sort through columns every run shares (dropout, schedule, batch) left the
    arrow on the last column that had reordered the rows: DataTable draws its header from caches
    that only a row change cleared."""
    from pathlib import Path

    from mnist_tui.workspace.summary import RunSummary

    def run(name, lr):
        values = dict(state="finished", recipe="fast", batch_size=512, lr=lr, schedule="onecycle", conv_dropout=0.1)
        values |= dict(fc_dropout=0.1, epochs_done=3, epochs_planned=3, best_test_acc=0.9, samples_per_s=1e3)
        return RunSummary(name=name, path=Path("/r") / name, **values)

    class TableApp(App):
        def compose(self):
            yield RunsTable()

    app = TableApp()
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.query_one(RunsTable)
        table.show([run("a", 0.1), run("b", 0.2), run("c", 0.05)])
        await pilot.pause(0.05)
        for _ in range(4):
            table.step_sort(-1)
            await pilot.pause(0.05)
            header = "".join(segment.text for segment in table.render_line(0))
            arrows = [word.strip() for word in header.split("  ") if "▼" in word or "▲" in word]
            assert arrows == [f"{BY_KEY[table.sort_column].header} ▼"], (table.sort_column, arrows)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_compare_plots_have_round_ticks_accuracy_at_most_100_and_losses_on_a_log_axis(size):
    """plotext's own axes labelled rows 96.9, 91.1, 79.5, 73.7 (uneven, and misplaced), and a
    one-epoch run put the accuracy axis up to 141.3."""
    from mnist_tui.workspace.compare import METRICS, Series

    class PlotsApp(App):
        def compose(self):
            yield ComparePlot(METRICS["acc"], id="acc")
            yield ComparePlot(METRICS["test_loss"], id="loss")

    app = PlotsApp()
    async with app.run_test(size=size) as pilot:
        acc, loss = app.query_one("#acc", ComparePlot), app.query_one("#loss", ComparePlot)
        acc.show([(0, Series("one", (1.0,), (46.4,))), (1, Series("four", (1.0, 2.0, 3.0, 4.0), (50, 62, 81, 88.6)))])
        loss.show(
            [(0, Series("one", (1.0,), (1.98,))), (1, Series("four", (1.0, 2.0, 3.0, 4.0), (2.1, 1.4, 0.9, 0.78)))]
        )
        await pilot.pause(0.05)
        ticks = [float(label) for label in acc.y_axis.labels]
        assert acc.y_axis.hi <= 100 and len(ticks) >= 2
        steps = {round(b - a, 6) for a, b in zip(ticks, ticks[1:], strict=False)}
        assert len(steps) == 1 and steps.pop() in (5, 10, 20, 25)  # one round step
        assert loss.y_axis.log and all(float(label) > 0 for label in loss.y_axis.labels)


async def test_a_filters_problem_is_shown_whole_at_80_columns(runs):
    """'foo<3': its list of columns ended "… sps, started," at the edge, cut mid-list."""
    app = WorkspaceApp(runs)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await scanned(pilot, screen)
        await pilot.press("slash", *"foo<3")
        await pilot.pause(0.05)
        shown = " ".join(line.strip() for line in screen_text(app).splitlines())
        assert "'foo<3': no column 'foo' (columns: name, state," in shown
        assert "dataset, conv_dropout, fc_dropout, planned, problem)" in shown


@pytest.mark.parametrize(("size", "lines"), [((80, 24), 1), ((120, 40), 3)])
async def test_a_sweeps_legend_keeps_each_name_whole_and_the_plots_keep_their_rows(runs, size, lines):
    """Seven marked runs with long names: the legend broke between a marker and its name, or
    inside a name, and at 80×24 its three lines and the table left the plots two rows of data."""
    names = [f"a-rather-long-sweep-name-lr-0.00{i}-batch-256" for i in range(1, 8)]
    for name in names:
        shutil.copytree(runs / "lr-0.003", runs / name)
    app = WorkspaceApp(runs)
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        await scanned(pilot, screen)
        await mark(pilot, screen.query_one(RunsTable), *names)
        await scanned(pilot, screen)
        drawn = str(screen.query_one("#compare-legend").render()).splitlines()
        assert 1 <= len(drawn) <= lines, drawn
        shown = re.findall(r"\S (a-rather-long-sweep-name-lr-0\.00\d-batch-256)", "\n".join(drawn))
        more = re.search(r"… \+(\d+) more", drawn[-1])
        assert len(shown) + (int(more[1]) if more else 0) == len(names), drawn  # each name whole, or counted
        text = screen_text(app)
        assert all(line.rstrip() in text for line in drawn)  # drawn as laid out, not wrapped again
        if size == (80, 24):
            assert screen.query_one("#plot-acc", ComparePlot).size.height >= 9  # 6 rows of data, not 2


async def test_j_and_k_move_through_the_runs(runs):
    app = WorkspaceApp(runs)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await scanned(pilot, screen)
        table = screen.query_one(RunsTable)
        first = table.cursor_row
        await pilot.press("j", "j")
        assert table.cursor_row == first + 2
        await pilot.press("k")
        assert table.cursor_row == first + 1
        await pilot.press("end")  # the last run and the first, as on the dashboard's digits (it did nothing)
        assert table.row_count > 2 and table.cursor_row == table.row_count - 1
        await pilot.press("home")
        assert table.cursor_row == 0


async def test_at_80x24_the_table_takes_the_room_until_runs_are_marked(runs):
    """The short screen's cap on the table held with no run marked too: 6 of 13 runs shown over an
    empty compare panel."""
    for i in range(8):
        shutil.copytree(runs / "lr-0.003", runs / f"copy-{i}")
    app = WorkspaceApp(runs)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await scanned(pilot, screen)
        table = screen.query_one(RunsTable)
        assert table.size.height >= len(listed(table)) + 1  # every run and the header row
        await mark(pilot, table, "lr-0.003", "lr-0.01")
        await scanned(pilot, screen)
        await pilot.pause(0.05)
        assert table.size.height <= 24 * 0.35  # the plots get the room


async def test_a_run_stopped_in_its_first_epoch_is_not_opened_as_failed(runs):
    """Enter on a run stopped (or killed) in epoch 1 opened a dashboard saying "● failed" and
    "The run failed" of a run that had not: it has no finished epoch to replay, said here."""
    import json

    early = runs / "stopped-early"
    shutil.copytree(runs / "lr-0.01", early)
    (early / "metrics.jsonl").write_text("")
    (early / "checkpoint.pt").unlink()
    status = json.loads((early / "status.json").read_text())
    (early / "status.json").write_text(json.dumps(status | {"state": "stopped", "epochs_done": 0}))
    app = WorkspaceApp(runs)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await scanned(pilot, screen)
        table = screen.query_one(RunsTable)
        await cursor_to(pilot, table, "stopped-early")
        assert table.current.state == "stopped"
        await pilot.press("enter")
        await pilot.pause()
        assert app.opened == []
        said = [str(n.message) for n in app._notifications]
        why = "no finished epoch to replay (it was stopped in its first epoch)"
        assert said == [f"stopped-early cannot be opened: {why}"]


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_each_runs_markers_sit_on_its_own_lines_cells(size):
    """As in the dashboard's epoch plots: a run's marker sat a row off its braille line (plotext
    rounds the two apart). Every cell a marker covers is one the lines pass through."""
    from mnist_tui.workspace.compare import METRICS, Series

    class PlotsApp(App):
        def compose(self):
            yield ComparePlot(METRICS["acc"], id="acc")

    runs = [
        (0, Series("a", (1.0, 2.0, 3.0, 4.0, 5.0, 6.0), (91.2, 96.3, 97.6, 98.4, 98.9, 99.1))),
        (1, Series("b", (1.0, 2.0, 3.0, 4.0, 5.0, 6.0), (88.0, 95.1, 97.0, 97.9, 98.6, 98.8))),
    ]
    app = PlotsApp()
    async with app.run_test(size=size) as pilot:
        plot = app.query_one("#acc", ComparePlot)
        plot.show(runs)
        await pilot.pause(0.05)
        marked = plot.render().plain.splitlines()
        plot.markers = False
        plot.redraw()  # the same runs: show() would not draw them again
        await pilot.pause(0.05)
        bare = plot.render().plain.splitlines()
        spots = [(r, c) for r, line in enumerate(marked) for c, ch in enumerate(line) if bare[r][c] != ch]
        assert len(spots) >= 8, "\n".join(marked)
        off = [(r, c) for r, c in spots if not "\u2801" <= bare[r][c] <= "\u28ff"]
        assert not off, (off, "\n".join(marked), "\n".join(bare))


async def test_a_later_runs_line_leaves_an_earlier_runs_markers_in_sight():
    """Run b's line crosses run a's point at epoch 3 (b has no point there): a's marker was drawn with
    its own line, before b's, and b's braille took its cell."""
    from mnist_tui.tui.widgets.compare_plot import style_of
    from mnist_tui.workspace.compare import METRICS, Series

    class PlotsApp(App):
        def compose(self):
            yield ComparePlot(METRICS["acc"], id="acc")

    runs = [
        (0, Series("a", (1.0, 3.0, 5.0), (90.0, 95.0, 97.5))),
        (1, Series("b", (1.0, 5.0), (91.0, 99.0))),  # at epoch 3, half-way: 95.0, on a's marker
    ]
    async with PlotsApp().run_test(size=(80, 24)) as pilot:
        plot = pilot.app.query_one("#acc", ComparePlot)
        plot.show(runs)
        await pilot.pause(0.05)
        text = plot.render().plain
        assert text.count(style_of(0)[1]) == 3, text  # each of a's three points keeps its marker
