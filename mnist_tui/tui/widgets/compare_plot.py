"""One metric of several runs overlaid: a line per run in the run's colour, its marker on each epoch.

The legend is not drawn by plotext (it would sit on the data, top left); the compare panel
shows it once, outside the plots. textual-plotext has no incremental update: :meth:`show`
keeps the series and redraws only when they changed.
"""

from __future__ import annotations

from textual_plotext import PlotextPlot

from mnist_tui.tui.palette import RUN_COLORS
from mnist_tui.tui.widgets.plot_axes import BRAILLE_DOTS, apply_axes, draw_marks, fit_axes, in_plot_units, on_tick_grid
from mnist_tui.workspace.compare import Metric, Series

MARKERS = ("●", "■", "▲", "◆", "✚", "✖", "○", "□")
PLOTEXT_ROWS = 5  # the title, the frame's top and bottom, the x tick labels and the x label


def style_of(slot: int) -> tuple[tuple[int, int, int], str]:
    """The colour and marker of a run's slot (stable while the run stays selected)."""
    return RUN_COLORS[slot % len(RUN_COLORS)], MARKERS[(slot // len(RUN_COLORS) + slot) % len(MARKERS)]


class ComparePlot(PlotextPlot):
    def __init__(self, metric: Metric, xlabel: str = "epoch", markers: bool = True, **kwargs) -> None:
        """``markers``: each run's marker on its points (epoch plots); batch curves are lines only."""
        super().__init__(**kwargs)
        self.markers = markers
        self.metric = metric  # its title, y label and scale
        self.xlabel = xlabel
        self.series: list[tuple[int, Series]] = []  # (slot, series)
        self.empty_note = "m marks runs to compare"
        self.y_axis = None  # the fitted y axis once drawn (plot_ticks.Axis)

    @property
    def title(self) -> str:
        return self.metric.title

    def show(self, series: list[tuple[int, Series]], metric: Metric | None = None) -> None:
        changed = series != self.series or (metric or self.metric) != self.metric
        self.series = series
        self.metric = metric or self.metric
        if changed:
            self.redraw()

    def on_mount(self) -> None:
        self.redraw()

    def on_resize(self) -> None:
        self.redraw()  # the ticks are fitted to the rows and columns there are

    def redraw(self) -> None:
        """Axes as the dashboard's (round ticks on whole rows, losses and error on a log scale,
        accuracy at most 100 %); plotext's own put uneven labels such as 96.9, 91.1, 79.5 on
        misplaced rows, and an accuracy axis up to 141.3 for a one-epoch run."""
        plt = self.plt
        plt.clear_data()
        plt.title(self.title)
        plt.xlabel(self.xlabel)
        plt.ylabel(self.metric.ylabel)
        drawn = [(slot, s) for slot, s in self.series if s.xs]
        if not drawn:
            plt.title(f"{self.title}: {self.empty_note if not self.series else 'no points yet'}")
            self.refresh()
            return
        epochs = self.xlabel == "epoch"
        xs = [x for _, s in drawn for x in s.xs]
        lo, hi = (min(1.0, min(xs)), max(max(xs), 2.0)) if epochs else (0.0, max(max(xs), 1e-9))  # 0.5: a test
        rows = max(self.size.height - PLOTEXT_ROWS, 2)
        ys = [y for _, s in drawn for y in s.ys]
        canvas = (max(self.size.width, 20), rows)
        axes = fit_axes(canvas, (lo, hi), ys, log=self.metric.log, integer_x=epochs, ceiling=self.metric.ceiling)
        apply_axes(plt, axes)
        self.y_axis = axes.y
        marks = []  # drawn after every line: a later run's line crossed an earlier run's marker out
        for slot, series in drawn:
            color, marker = style_of(slot)
            ys = in_plot_units(series.ys, axes.y)
            line_xs = on_tick_grid(series.xs, axes.x.lo, axes.x.hi, axes.data_cols, BRAILLE_DOTS[0])
            line_ys = on_tick_grid(ys, axes.y.lo, axes.y.hi, rows, BRAILLE_DOTS[1])  # dots where the ticks are
            plt.plot(line_xs, line_ys, color=color, marker="braille")
            if self.markers and len(series.xs) <= 30:  # past 30 epochs the markers would hide the line
                marks.append((list(series.xs), ys, color, marker, "left"))
        draw_marks(plt, marks, axes.x, {"left": axes.y}, canvas, dodge=False)
        self.refresh()
