"""A plotext plot that redraws only when its data changed, and only when the app asks.

textual-plotext has no incremental update: a redraw clears the data and plots it all again,
on the UI thread. So widgets mark themselves dirty and the app's timer redraws them.
"""

from __future__ import annotations

from textual_plotext import PlotextPlot


class LivePlot(PlotextPlot):
    def __init__(self, heading: str, ylabel: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.heading = heading
        self.ylabel = ylabel
        self._dirty = True

    def mark_dirty(self) -> None:
        self._dirty = True

    def on_mount(self) -> None:
        self.redraw()

    def redraw_if_dirty(self) -> None:
        if self._dirty:
            self.redraw()

    def redraw(self) -> None:
        self._dirty = False
        plt = self.plt
        plt.clear_data()
        plt.title(self.heading)
        plt.xlabel("epoch")
        plt.ylabel(self.ylabel)
        self.draw(plt)
        self.refresh()

    def draw(self, plt) -> None:
        """Plot the series (every ``plt.plot`` with an explicit ``color=``)."""
        raise NotImplementedError
