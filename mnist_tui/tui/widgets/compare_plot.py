"""One metric of several runs overlaid: a line per run in the run's colour, its marker on each epoch.

The legend is not drawn by plotext (it would sit on the data, top left); the compare panel
shows it once, outside the plots. textual-plotext has no incremental update: :meth:`show`
keeps the series and redraws only when they changed.
"""

from __future__ import annotations

from textual_plotext import PlotextPlot

from mnist_tui.tui.palette import RUN_COLORS
from mnist_tui.workspace.compare import Series

MARKERS = ("●", "■", "▲", "◆", "✚", "✖", "○", "□")


def style_of(slot: int) -> tuple[tuple[int, int, int], str]:
    """The colour and marker of a run's slot (stable while the run stays selected)."""
    return RUN_COLORS[slot % len(RUN_COLORS)], MARKERS[(slot // len(RUN_COLORS) + slot) % len(MARKERS)]


class ComparePlot(PlotextPlot):
    def __init__(self, title: str, ylabel: str, xlabel: str = "epoch", markers: bool = True, **kwargs) -> None:
        """``markers``: each run's marker on its points (epoch plots); batch curves are lines only."""
        super().__init__(**kwargs)
        self.markers = markers
        self.title = title
        self.ylabel = ylabel
        self.xlabel = xlabel
        self.series: list[tuple[int, Series]] = []  # (slot, series)
        self.empty_note = "space marks runs to compare"

    def show(self, series: list[tuple[int, Series]], title: str | None = None, ylabel: str | None = None) -> None:
        changed = series != self.series or (title or self.title) != self.title or (ylabel or self.ylabel) != self.ylabel
        self.series = series
        self.title = title or self.title
        self.ylabel = ylabel or self.ylabel
        if changed:
            self.redraw()

    def on_mount(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.title(self.title)
        plt.xlabel(self.xlabel)
        plt.ylabel(self.ylabel)
        drawn = [(slot, s) for slot, s in self.series if s.xs]
        if not drawn:
            plt.title(f"{self.title}: {self.empty_note if not self.series else 'no points yet'}")
        for slot, series in drawn:
            color, marker = style_of(slot)
            plt.plot(list(series.xs), list(series.ys), color=color, marker="braille")
            if self.markers and len(series.xs) <= 30:  # past 30 epochs the markers would hide the line
                plt.scatter(list(series.xs), list(series.ys), color=color, marker=marker)
        last = max((max(s.xs) for _, s in drawn), default=0)
        if self.xlabel == "epoch" and 1 <= last <= 12:
            plt.xticks(list(range(1, int(last) + 1)))  # whole epochs, not 1.25
        self.refresh()
