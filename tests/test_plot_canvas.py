"""An empty plot's frame drawn without plotext is plotext's own, cell for cell and span for span,
and the first frame of a new run's dashboard loads no plotext (mnist_tui.tui.widgets.plot_canvas)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from textual.app import App

from mnist_tui.tui.widgets.plot_canvas import PlotCanvas


class CanvasApp(App):
    def compose(self):
        yield PlotCanvas(id="canvas")


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light", "nord"])
async def test_the_empty_frame_is_plotexts_empty_figure(theme):
    app = CanvasApp()
    async with app.run_test(size=(40, 12)) as pilot:
        app.theme = theme
        await pilot.pause()
        canvas = app.query_one(PlotCanvas)
        for width, rows in [(1, 4), (2, 4), (3, 4), (12, 5), (34, 18), (68, 20), (117, 36)]:
            canvas._plot = None  # a fresh figure with nothing plotted
            built = canvas.figure(width, rows)
            drawn = canvas.figure(width, rows, empty=True)
            assert (drawn.plain, drawn.spans) == (built.plain, built.spans), (width, rows)


def test_a_new_runs_dashboard_shows_its_first_frame_without_plotext(tmp_path):
    """Composed, laid out and painted as the first frame (in Textual's headless test driver), the
    dashboard of a run not started has imported no plotext: the import and the three empty
    figures took ~50 ms of a ~0.5 s first frame."""
    script = """
import asyncio, sys
from mnist_tui.config import Config
from mnist_tui.sources.training import TrainingSource
from mnist_tui.tui.app import MnistApp

async def main():
    config = Config(run_dir=None, dataset="synthetic", download=False, device="cpu")
    app = MnistApp(TrainingSource(config))  # not started: space starts it
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        plots = app.screen.query("LivePlot")
        assert len(plots) == 3 and all(p._empty for p in plots), [p._empty for p in plots]
        print("plotext" in sys.modules, "textual_plotext" in sys.modules)

asyncio.run(main())
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


async def test_a_plot_emptied_again_shows_the_empty_frame_not_its_old_figure():
    """A rewound run's loss plot (drop_after 0): the figure it had drawn is dropped with its points."""
    from mnist_tui.tui.widgets.loss_plot import BatchLossPlot

    class LossApp(App):
        def compose(self):
            yield BatchLossPlot(id="loss")

    app = LossApp()
    async with app.run_test(size=(60, 16)) as pilot:
        plot = app.query_one(BatchLossPlot)
        empty = plot.render().plain
        for i in range(1, 40):
            plot.add(i / 20, 1.0 / i, 0.01)
        plot.redraw()
        await pilot.pause()
        assert not plot._empty and plot.render().plain != empty and plot.drawn
        plot.drop_after(0)
        plot.redraw()
        await pilot.pause()
        assert plot._empty and plot._plot is None and not plot.drawn
        assert plot.render().plain == empty
