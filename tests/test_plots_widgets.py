"""Each plot control changes what the plot hands plotext (values, axis, range), in a tiny app."""

from __future__ import annotations

import math
import re

import pytest
from textual.app import App
from textual.containers import Horizontal, Vertical

from mnist_tui.tui import plot_settings
from mnist_tui.tui.plot_settings import PlotSettings, load_settings
from mnist_tui.tui.series import ema
from mnist_tui.tui.widgets.epoch_plot import AccuracyPlot, EpochLossPlot
from mnist_tui.tui.widgets.loss_plot import BatchLossPlot

ACC = [(71.03, 96.12), (96.31, 97.29), (97.64, 97.94), (98.04, 98.93), (98.72, 99.02), (98.84, 99.03), (99.15, 99.3)]
LOSS = [(0.94, 0.124), (0.12, 0.088), (0.079, 0.063), (0.062, 0.036), (0.042, 0.034), (0.036, 0.03), (0.028, 0.027)]
BATCHES = 50


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(plot_settings.ENV_DIR, str(tmp_path / "cfg"))


class PlotsApp(App):
    def __init__(self, settings: PlotSettings | None = None, remember: bool = False) -> None:
        super().__init__()
        self.settings = settings or PlotSettings()
        self.remember = remember

    def compose(self):
        with Vertical():
            yield BatchLossPlot(id="loss", settings=self.settings, remember=self.remember)
            with Horizontal():
                yield AccuracyPlot(id="acc", settings=self.settings, remember=self.remember)
                yield EpochLossPlot(id="eloss", settings=self.settings, remember=self.remember)

    def feed(self, epochs: int = 7) -> None:
        loss = self.query_one("#loss", BatchLossPlot)
        for e in range(epochs):
            for b in range(BATCHES):
                x = e + (b + 1) / BATCHES
                loss.add(x, 2.3 * math.exp(-3 * x) + 0.03 + 0.01 * (b % 3), 0.01 * (1 - x / 10))
        for i, (a, b) in enumerate(ACC[:epochs]):
            self.query_one("#acc", AccuracyPlot).add(i + 1, a, b)
        for i, (a, b) in enumerate(LOSS[:epochs]):
            self.query_one("#eloss", EpochLossPlot).add(i + 1, a, b)
        for plot in self.query("LivePlot"):
            plot.redraw_if_dirty()


def plain(plot) -> str:
    return plot.render().plain


async def test_a_heading_cut_short_leaves_a_gap_before_the_plot_beside_it():
    """At 100 columns the two epoch plots' headings ran together: "… · log…loss per epoch · log y"."""
    app = PlotsApp()  # error % on a log axis: "error % per epoch · log y"
    async with app.run_test(size=(46, 30)) as pilot:
        app.feed(3)
        await pilot.pause(0.05)
        acc = app.query_one("#acc", AccuracyPlot)
        first = plain(acc).splitlines()[0]
        assert acc.heading_text().cell_len > acc.size.width  # the heading does not fit
        assert first.rstrip().endswith("…") and len(first.rstrip()) == acc.size.width - 1


async def test_log_toggle_changes_scale_and_values():
    app = PlotsApp(PlotSettings(log_loss=False))
    async with app.run_test(size=(120, 40)) as pilot:
        app.feed()
        plot = app.query_one("#loss", BatchLossPlot)
        await pilot.pause()
        assert set(plot.drawn["batch"][1]) <= set(plot.raw.ys)  # raw values (thinned)
        assert not plot.y_axis.log and "linear y" in plain(plot)
        plot.toggle_log()
        await pilot.pause()
        assert plot.y_axis.log and "log y" in plain(plot)
        xs, ys = plot.drawn["batch"]
        raw = {round(math.log10(v), 9) for v in plot.raw.ys}
        assert {round(y, 9) for y in ys} <= raw  # log10 of the raw values, on a linear plotext axis
        assert all(re.fullmatch(r"[0-9.]+", label) for label in plot.y_axis.labels)


async def test_smoothing_draws_the_debiased_ema_and_zero_draws_raw():
    app = PlotsApp(PlotSettings(smoothing=0.6, log_loss=False))
    async with app.run_test(size=(200, 40)) as pilot:
        app.feed(epochs=2)  # 100 points: fewer than twice the columns, so nothing is thinned
        plot = app.query_one("#loss", BatchLossPlot)
        await pilot.pause()
        assert plot.drawn["EMA 0.60"][1] == pytest.approx(ema(plot.raw.ys, 0.6))
        assert plot.drawn["EMA 0.60"][1][0] == pytest.approx(plot.raw.ys[0])  # debiased: no lag
        assert plot.set_smoothing(0.95) == 0.95
        await pilot.pause()
        assert "EMA 0.95" in plain(plot) and plot.drawn["EMA 0.95"][1] == pytest.approx(ema(plot.raw.ys, 0.95))
        plot.set_smoothing(5)  # clamped
        assert plot.smoothing == 0.99
        plot.set_smoothing(0)
        await pilot.pause()
        assert set(plot.drawn) == {"batch", "lr (right)"} and "no smoothing" in plain(plot)
        assert plot.step_smoothing(1) == 0.6


async def test_range_shows_the_last_epochs_only():
    app = PlotsApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.feed()
        loss, acc = app.query_one("#loss", BatchLossPlot), app.query_one("#acc", AccuracyPlot)
        await pilot.pause()
        assert min(loss.drawn["batch"][0]) < 1 and acc.drawn["test"][0][0] == 1
        for plot in app.query("LivePlot"):
            assert plot.cycle_range() == 10
            plot.set_range(3)
        await pilot.pause()
        assert min(loss.drawn["batch"][0]) >= 7 - 3 - 1e-9 and loss.x_axis.lo >= 4 - 1e-9
        assert acc.drawn["test"][0] == [5, 6, 7] and "last 3 ep" in plain(acc)
        # zoomed in, the y axis follows the shown epochs only
        assert 10**acc.y_axis.hi < 10


async def test_error_view_draws_error_percent_on_a_log_axis_and_tells_099_from_0993():
    app = PlotsApp(PlotSettings(error_view=False))
    async with app.run_test(size=(120, 40)) as pilot:
        app.feed()
        acc = app.query_one("#acc", AccuracyPlot)
        await pilot.pause()
        assert acc.drawn["test"][1][-1] == pytest.approx(99.3) and not acc.y_axis.log
        assert acc.y_axis.hi <= 100  # never an axis above 100 %
        assert acc.toggle_error_view() is True
        await pilot.pause()
        assert acc.y_axis.log and "error %" in plain(acc)
        errors = [10**y for y in acc.drawn["test"][1]]
        assert errors == pytest.approx([100 - t for _, t in ACC], rel=1e-6)
        # epochs 5 and 7 (0.98 % and 0.70 % error) land on different rows
        rows = acc._canvas[1]
        to_row = lambda y: math.floor(0.5 + (rows - 1) * (y - acc.y_axis.lo) / (acc.y_axis.hi - acc.y_axis.lo))  # noqa: E731
        assert to_row(math.log10(100 - 99.02)) != to_row(math.log10(100 - 99.3))


async def test_lr_on_the_right_axis_toggles():
    app = PlotsApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.feed()
        plot = app.query_one("#loss", BatchLossPlot)
        await pilot.pause()
        assert plot.right_axis is not None and "lr (right)" in plot.drawn
        assert max(plot.drawn["lr (right)"][1]) == pytest.approx(0.01 * (1 - 1 / BATCHES / 10))
        assert plot.toggle_lr() is False
        await pilot.pause()
        assert plot.right_axis is None and "lr (right)" not in plot.drawn


async def test_train_and_test_differ_by_marker_and_legend_is_off_the_data():
    app = PlotsApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.feed()
        acc = app.query_one("#acc", AccuracyPlot)
        await pilot.pause()
        lines = plain(acc).splitlines()
        assert "train" in lines[-1] and "test" in lines[-1] and "···" in lines[-1] and "━●━" in lines[-1]
        body = "\n".join(lines[1:-1])
        assert "train" not in body and "test" not in body  # no legend on the data
        assert "●" in body and "·" in body
        colours = {label: color for _, label, color in acc.legend}
        assert colours["train"] != colours["test"]


async def test_series_are_thinned_to_the_canvas_width():
    app = PlotsApp(PlotSettings(smoothing=0.9))
    async with app.run_test(size=(80, 24)) as pilot:
        app.feed()
        plot = app.query_one("#loss", BatchLossPlot)
        await pilot.pause()
        assert len(plot.raw) == 7 * BATCHES
        assert len(plot.drawn["batch"][0]) <= 2 * plot._canvas_cols + 1 < len(plot.raw)


async def test_controls_are_remembered_between_launches():
    app = PlotsApp(load_settings(), remember=True)
    async with app.run_test(size=(120, 40)) as pilot:
        app.feed()
        app.query_one("#loss", BatchLossPlot).toggle_log()
        app.query_one("#loss", BatchLossPlot).set_smoothing(0.8)
        app.query_one("#acc", AccuracyPlot).toggle_error_view()
        app.query_one("#acc", AccuracyPlot).cycle_range()
        await pilot.pause()
    saved = load_settings()
    assert saved == PlotSettings(log_loss=False, smoothing=0.8, error_view=False, range_epochs=10)
    again = PlotsApp(saved)
    async with again.run_test(size=(120, 40)) as pilot:
        assert again.query_one("#loss", BatchLossPlot).log_y is False
        assert again.query_one("#acc", AccuracyPlot).error_view is False


async def test_not_recorded_is_said_in_the_figure_and_hidden_plots_are_not_laid_out():
    app = PlotsApp()
    async with app.run_test(size=(120, 40)) as pilot:
        plot = app.query_one("#loss", BatchLossPlot)
        plot.recorded = False
        plot.redraw()
        assert "not recorded" in plot.plt.build()
        eloss = app.query_one("#eloss", EpochLossPlot)
        eloss.display = False
        await pilot.pause()
        app.feed()
        assert eloss._laid_out is None and eloss.drawn == {}  # costs nothing while hidden
        eloss.display = True
        await pilot.pause()
        plain(eloss)
        assert eloss.drawn["test"][0] == list(range(1, 8))


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_y_ticks_are_evenly_spaced_in_the_built_figure(size):
    app = PlotsApp(PlotSettings(log_loss=False, error_view=False))
    async with app.run_test(size=size) as pilot:
        app.feed()
        await pilot.pause()
        for plot in app.query("LivePlot"):
            lines = plain(plot).splitlines()
            rows = [i for i, line in enumerate(lines) if re.match(r"^\s*-?[0-9.e-]+┤", line)]
            labels = [float(re.match(r"^\s*(-?[0-9.e-]+)┤", lines[i]).group(1)) for i in rows]
            assert labels == sorted(labels, reverse=True) and len(labels) >= 2, plot.id
            assert len({b - a for a, b in zip(rows, rows[1:], strict=False)}) == 1, (plot.id, lines)
            steps = {round(a - b, 9) for a, b in zip(labels, labels[1:], strict=False)}
            assert len(steps) == 1, (plot.id, labels)


class SnapshotApp(PlotsApp):
    async def on_mount(self) -> None:
        self.feed()


def test_plots_snapshot_80x24(snap_compare, tmp_path, monkeypatch):
    monkeypatch.setenv(plot_settings.ENV_DIR, str(tmp_path / "cfg"))
    assert snap_compare(SnapshotApp(), terminal_size=(80, 24))


def test_plot_interval_spends_a_fixed_share_of_a_core_within_bounds():
    from mnist_tui.tui.widgets.plots import MAX_PLOT_S, MIN_PLOT_S, PLOT_SHARE, plot_interval

    assert plot_interval(0.045) == pytest.approx(0.045 / PLOT_SHARE)  # 45 ms: every 4.5 s at 1 %
    assert plot_interval(0.0) == MIN_PLOT_S  # nothing measured yet: soon
    assert plot_interval(10.0) == MAX_PLOT_S  # a slow terminal still sees its plots move


async def test_a_redraw_measures_what_it_cost_and_repaints_of_others_do_not_count():
    app = PlotsApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.feed()
        await pilot.pause()
        plot = app.query_one("#loss", BatchLossPlot)
        costs = list(plot._costs)
        assert costs and all(c > 0 for c in costs) and plot.cost_s > 0
        app.query_one("#acc", AccuracyPlot).redraw()  # the screen updates; this plot's lines are cached
        await pilot.pause()
        assert list(plot._costs) == costs
        plot.redraw()
        await pilot.pause()
        assert len(plot._costs) == min(len(costs) + 1, 3)


async def test_the_panels_range_key_sets_every_plot_and_saves_once(monkeypatch):
    """z set each plot's range and each saved plots.json: three reads and writes of the file on
    the UI thread per key press (a network home stalls on each)."""
    from mnist_tui.tui.widgets import plots
    from mnist_tui.tui.widgets.live_plot import LivePlot

    class PanelApp(App):
        def compose(self):
            yield plots.PlotsPanel()

    saves: list[dict] = []
    monkeypatch.setattr(plots, "update_settings", lambda **changes: saves.append(changes))
    monkeypatch.setattr(plot_settings, "save_settings", lambda *a, **k: saves.append({"by a plot": a}))
    app = PanelApp()
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.query_one(plots.PlotsPanel)
        assert panel.cycle_range() == 10
        await pilot.pause()
        assert {plot.range_epochs for plot in panel.query(LivePlot)} == {10}
        assert all("last 10" in " ".join(plot.describe_controls()) for plot in panel.query(LivePlot))
    assert saves == [{"range_epochs": 10}]


def test_steering_labels_sit_beside_their_lines_and_never_overlap():
    from mnist_tui.tui.widgets.loss_plot import mark_labels, short_mark

    assert [short_mark(w) for w in ("lr ×0.5", "lr ×2", "epochs 3 → 8")] == ["×0.5", "×2", "→8"]
    marks = [(0.01, "lr ×0.5"), (0.36, "lr ×2"), (1.0, "epochs 3 → 8"), (7.9, "lr ×4")]
    placed = mark_labels(marks, 0.0, 8.0, 30)
    assert [(label, row) for _, row, label, _ in placed] == [("×0.5", 0), ("×2", 1), ("→8", 1), ("×4", 0)]
    assert placed[-1][3] is True  # at the right edge: it ends at its line
    spans: dict[int, list[tuple[int, int]]] = {}
    for x, row, label, right in placed:
        col = round(x / 8.0 * 29)
        span = (col - len(label), col - 1) if right else (col + 1, col + len(label))
        assert span[0] >= 0 and span[1] < 30
        assert all(span[0] > end or span[1] < start for start, end in spans.get(row, []))
        spans.setdefault(row, []).append(span)
    crowded = [(i / 100, "lr ×2") for i in range(5)]  # five at one place: three rows, then none
    assert len(mark_labels(crowded, 0.0, 8.0, 30)) == 3


async def test_every_steering_line_is_labelled_in_the_figure():
    """Three lines were drawn and only the newest was named, in the legend."""
    app = PlotsApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.feed()
        plot = app.query_one("#loss", BatchLossPlot)
        for x, what in ((0.5, "lr ×0.5"), (3.0, "lr ×2"), (5.0, "epochs 6 → 8")):
            plot.mark(x, what)
        plot.redraw_if_dirty()
        await pilot.pause()
        text = plain(plot)
        assert "×0.5" in text and "×2" in text and "→8" in text and "steered (3)" in text


async def test_a_steering_label_starts_just_right_of_its_line():
    """plotext starts a left-aligned text on the column of its x: the label covered its own line."""
    app = PlotsApp(PlotSettings(log_loss=False))
    async with app.run_test(size=(120, 40)) as pilot:
        plot = app.query_one("#loss", BatchLossPlot)
        for e in range(6):
            for b in range(BATCHES):
                plot.add(e + (b + 1) / BATCHES, 0.05, 0.01)  # a flat curve at the bottom: the top rows are free
        plot.mark(3.0, "lr ×2")
        if plot.show_lr:
            plot.toggle_lr()  # its dots would share the top rows
        plot.redraw_if_dirty()
        await pilot.pause()
        lines = plain(plot).splitlines()
        row = next(i for i, line in enumerate(lines) if "×2" in line)
        col = lines[row].index("×2")
        assert lines[row + 1][col - 1] == "│" and lines[row][col - 1] == "│"  # the line, then its label


def _figure(plot) -> list[str]:
    """The figure's lines, without the heading above it and the legend (which shows a "●") under it."""
    return plain(plot).splitlines()[1:-1]


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (100, 31)])
async def test_each_epoch_marker_sits_on_its_own_lines_cells(size, monkeypatch):
    """A "●" sat a row above or below the test line's braille dot for its epoch (plotext rounds
    whole-character markers and braille dots apart by up to 3/8 of a cell). Each marker must
    cover a cell that the line, drawn without markers, passes through."""
    from mnist_tui.tui.widgets.live_plot import LivePlot

    app = PlotsApp(PlotSettings(log_loss=False, error_view=False))
    async with app.run_test(size=size) as pilot:
        app.feed()
        await pilot.pause()
        plots = [app.query_one("#acc", AccuracyPlot), app.query_one("#eloss", EpochLossPlot)]
        marked = {plot.id: _figure(plot) for plot in plots}
        series = LivePlot.series
        monkeypatch.setattr(LivePlot, "series", lambda self, *a, **kw: series(self, *a, **{**kw, "points": None}))
        for plot in plots:
            plot.redraw()
        await pilot.pause()
        for plot in plots:
            bare = _figure(plot)
            spots = [(r, c) for r, line in enumerate(marked[plot.id]) for c, ch in enumerate(line) if ch == "●"]
            assert len(spots) >= 5, (plot.id, marked[plot.id])
            off = [(r, c) for r, c in spots if not "\u2801" <= bare[r][c] <= "\u28ff"]
            assert not off, (plot.id, off, "\n".join(marked[plot.id]), "\n".join(bare))


class OnePlotApp(App):
    """One accuracy plot of a fixed size: the dashboard's at 80×24 (39×11, a canvas of 6 rows)."""

    def __init__(self, width: int, height: int) -> None:
        super().__init__()
        self.plot_size = (width, height)

    def compose(self):
        plot = AccuracyPlot(id="acc", settings=PlotSettings(error_view=True))
        plot.styles.width, plot.styles.height = self.plot_size
        yield plot


@pytest.mark.parametrize("plot_size", [(39, 11), (39, 12), (50, 14), (60, 9)])
async def test_a_value_on_a_tick_is_drawn_on_that_ticks_row_by_line_and_marker(plot_size, monkeypatch):
    """At 80×24 a test error of 10 % was drawn by its braille line a row under "10┤" (plotext's
    braille dots and its ticks round apart by up to 3/8 of a cell), and its "●" on the tick's row."""
    from mnist_tui.tui.widgets.live_plot import LivePlot

    app = OnePlotApp(*plot_size)
    async with app.run_test(size=(80, 24)) as pilot:
        acc = app.query_one("#acc", AccuracyPlot)
        for epoch, test_error in enumerate((20.0, 10.0, 20 / 3), start=1):
            acc.add(epoch, 100 - 1.5 * test_error, 100 - test_error)
        acc.redraw()
        await pilot.pause()
        marked = _figure(acc)
        series = LivePlot.series
        monkeypatch.setattr(LivePlot, "series", lambda self, *a, **kw: series(self, *a, **{**kw, "points": None}))
        acc.redraw()
        await pilot.pause()
        bare = _figure(acc)
        columns = [c for c, ch in enumerate(bare[-2]) if ch == "┬"]  # the x ticks: epochs 1-3
        rows = {m[1]: r for r, line in enumerate(bare) if (m := re.match(r"^\s*([0-9.]+)┤", line))}
        assert len(columns) == 3 and {"10", "20"} <= rows.keys(), "\n".join(bare)
        for column, label in zip(columns, ("20", "10"), strict=False):
            row = rows[label]
            assert marked[row][column] == "●", (label, "\n".join(marked))
            assert "\u2801" <= bare[row][column] <= "\u28ff", (label, "\n".join(bare))


async def test_where_markers_are_thinned_the_newest_epoch_keeps_its_marker():
    """10 epochs on a narrow plot marked epochs 1, 3, 5, 7, 9: every other one, counted from the
    first, so the epoch just finished had none."""
    app = OnePlotApp(30, 14)
    async with app.run_test(size=(80, 24)) as pilot:
        acc = app.query_one("#acc", AccuracyPlot)
        for epoch in range(1, 11):
            acc.add(epoch, 100 - 30 / epoch, 100 - 20 / epoch)
        acc.redraw()
        await pilot.pause()
        figure = _figure(acc)
        marked = sorted({c for line in figure for c, ch in enumerate(line) if ch == "●"})
        assert 2 <= len(marked) < 10, figure  # thinned
        data_end = max(c for line in figure for c, ch in enumerate(line) if "\u2801" <= ch <= "\u28ff" or ch == "●")
        assert marked[-1] == data_end, "\n".join(figure)  # the newest point, at the line's end, is marked


async def test_a_one_epoch_range_says_the_two_epochs_an_epoch_plot_shows():
    """ "last 1 ep" stood over epochs 6 and 7: an epoch plot shows two at least, to draw a line;
    the batch loss shows the one."""
    app = PlotsApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.feed()
        for plot in app.query("LivePlot"):
            plot.set_range(1)
        await pilot.pause()
        loss, acc, eloss = (app.query_one(f"#{name}") for name in ("loss", "acc", "eloss"))
        assert acc.drawn["test"][0] == [6, 7] and eloss.drawn["test"][0] == [6, 7]
        assert "last 2 ep" in plain(acc).splitlines()[0] and "last 2 ep" in plain(eloss).splitlines()[0]
        assert "last 1 ep" in plain(loss).splitlines()[0] and min(loss.drawn["batch"][0]) >= 6 - 1e-9


async def test_the_test_line_passes_through_the_tests_inside_epochs_and_a_repeated_epoch_drops_its_own():
    """Sprint's half-epoch tests (``--tests-per-epoch 2``) are points of the test line, between its
    epoch ends (epoch 1's before it: the axis starts there), in the error view too; an epoch trained
    again (a resume) brings its own."""
    app = PlotsApp(PlotSettings(error_view=True))
    async with app.run_test(size=(120, 40)) as pilot:
        acc = app.query_one("#acc", AccuracyPlot)

        async def drawn_test_xs():
            acc.redraw_if_dirty()
            await pilot.pause()
            return acc.drawn["test"][0]

        acc.add(1, 96.0, 98.0, [(0.5013, 97.0)])
        acc.add(2, 98.0, 99.12, [(1.5013, 99.03)])
        assert await drawn_test_xs() == [0.5013, 1, 1.5013, 2]
        assert [10**y for y in acc.drawn["test"][1]] == pytest.approx([3.0, 2.0, 0.97, 0.88], rel=1e-6)
        assert acc.drawn["train"][0] == [1, 2] and acc.x_axis.lo <= 0.5013
        acc.add(3, 98.5, 99.2, [(2.5013, 99.1)])
        acc.range_epochs = 2  # the last two epochs, from epoch 2's end: no test before it
        assert await drawn_test_xs() == [2, 2.5013, 3]
        acc.range_epochs = 0
        acc.add(2, 98.1, 99.2)  # epoch 2 again, without a test inside it: epoch 3 and its test go too
        assert await drawn_test_xs() == [0.5013, 1, 2] and acc.inner == [(0.5013, 97.0)]
        acc.add(1, 96.0, 98.0, [(0.25, 80.0), (0.5, 90.0), (0.75, 95.0)])  # a one-epoch run tested in quarters
        assert await drawn_test_xs() == [0.25, 0.5, 0.75, 1] and acc.x_axis.hi == 1
