"""A plotext plot that redraws only when its data or its controls changed, and only when shown.

textual-plotext has no incremental update: a redraw builds the whole figure again on the UI
thread, and the build's cost grows with the points plotted. So:

* widgets mark themselves dirty and the app's timer calls :meth:`LivePlot.redraw_if_dirty`;
* :meth:`LivePlot.redraw` lays the figure out (cheap: thinning, smoothing, ticks) only when the
  widget is shown; the build itself happens in :meth:`render`, which Textual calls only for a
  visible widget (a ``display: none`` plot costs nothing), and again on a resize, where the
  layout is redone for the new size;
* every series is thinned to the canvas's width in cells before plotting (two points a cell:
  braille has two dot columns), so a long run costs what a short one does.

Axes are fitted to the canvas in ``plot_axes`` (ticks from ``plot_ticks``). The heading and
its control states are the first line, the legend and the x axis's name the last: never on
the data.

Measured (``benchmarks/plot_cost.py``, a finished 10-epoch run of 1,180 batches, 2 shared
cores, min / median ms of one full redraw, before (1a28baf) → now): at 120×40 the batch-loss
plot (68×20 cells) 7.7/15.5 → 8.7/16.7 while drawing EMA and the lr curve as well (plotext's
build has a fixed cost per canvas: 590 points or 115 cost about the same), each epoch plot
(34×20) 1.1/1.2 → 2.5/2.7 (the "●" markers); at 80×24 the batch-loss plot (28×12)
5.9/13.6 → 3.2/7.3, the accuracy plot 0.9/1.0 → 1.5/1.6, the epoch-loss plot hidden: 0.
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from collections.abc import Sequence

from rich.text import Text
from textual.geometry import Region
from textual.reactive import reactive
from textual.strip import Strip

from mnist_tui.tui import plot_settings
from mnist_tui.tui.plot_settings import PlotSettings
from mnist_tui.tui.series import thin
from mnist_tui.tui.widgets.plot_axes import BRAILLE_DOTS, apply_axes, draw_marks, fit_axes, in_plot_units, on_tick_grid
from mnist_tui.tui.widgets.plot_canvas import PlotCanvas, new_figure
from mnist_tui.tui.widgets.plot_legend import legend_line
from mnist_tui.tui.widgets.plot_ticks import Axis

FRAME_ROWS = 3  # plotext's frame (top, bottom) and the x tick labels, under our heading line
OUR_ROWS = 2  # the heading line above the figure, the legend line under it


class LivePlot(PlotCanvas):
    """Subclasses implement :meth:`draw`, calling :meth:`set_axes` then :meth:`series`, and may
    implement :meth:`is_empty` (then an empty plot's frame is drawn without plotext)."""

    log_y: reactive[bool] = reactive(False, init=False)
    range_epochs: reactive[int] = reactive(0, init=False)

    def __init__(
        self,
        heading: str,
        ylabel: str,
        *,
        settings: PlotSettings | None = None,
        remember: bool = False,
        **kwargs,
    ) -> None:
        """``settings``: the controls to start with (``plot_settings.load_settings()`` in the
        app; the defaults when None). ``remember``: write control changes to the settings file."""
        super().__init__(**kwargs)
        self.heading = heading
        self.ylabel = ylabel
        self.remember = remember
        settings = settings or PlotSettings()
        self.set_reactive(LivePlot.range_epochs, settings.range_epochs)
        self.apply_settings(settings)
        self._dirty = True
        self._laid_out: tuple[int, int] | None = None
        # What the last layout handed plotext, for tests and the curious: label -> (xs, ys)
        self.drawn: dict[str, tuple[list[float], list[float]]] = {}
        self.y_axis: Axis | None = None
        self.x_axis: Axis | None = None
        self.right_axis: Axis | None = None
        self.legend: list[tuple[str, str, tuple[int, int, int]]] = []  # (sample, label, colour)
        self._canvas = (0, 0)  # (width, rows) of the figure's data area, before the y labels
        self._canvas_cols = 0  # data columns, once the y labels are known
        self._lay_out_s = 0.0
        self._costs: deque[float] = deque(maxlen=3)
        self._rendered = False
        self._empty = False  # laid out with nothing to draw: the frame alone, without plotext

    def apply_settings(self, settings: PlotSettings) -> None:
        """Take this plot's controls from ``settings`` without saving (subclasses add theirs)."""
        self.set_reactive(LivePlot.range_epochs, settings.range_epochs)

    # -- controls ------------------------------------------------------------------------------

    def toggle_log(self) -> None:
        self.log_y = not self.log_y

    def cycle_range(self) -> int:
        """Whole run → last 10 → 3 → 1 epochs → whole run; returns the new range (0 = whole)."""
        self.range_epochs = plot_settings.next_range(self.range_epochs)
        return self.range_epochs

    def set_range(self, epochs: int, save: bool = True) -> None:
        """``save=False``: the caller saves the setting (once for several plots)."""
        if save:
            self.range_epochs = max(0, int(epochs))
        else:
            self.set_reactive(LivePlot.range_epochs, max(0, int(epochs)))
            self.redraw()

    def watch_log_y(self) -> None:
        self._control_changed()

    def watch_range_epochs(self, epochs: int) -> None:
        self._control_changed(range_epochs=epochs)

    def _control_changed(self, **remembered) -> None:
        if self.remember and remembered:
            plot_settings.update_settings(**remembered)
        self.redraw()

    def describe_controls(self) -> list[str]:
        """Control states for the heading line (subclasses add theirs)."""
        parts = ["log y" if self.log_y else "linear y"]
        if self.range_epochs:
            parts.append(f"last {self.shown_epochs()} ep")
        return parts

    def shown_epochs(self) -> int:
        """The epochs the x range shows under ``range_epochs`` (the heading says this many)."""
        return self.range_epochs

    # -- redrawing -----------------------------------------------------------------------------

    @property
    def cost_s(self) -> float:
        """UI-thread seconds a redraw takes (layout, plotext's build, parsing): the median of the
        last three, so the first render's warm-up or one resize does not set the pace."""
        return statistics.median(self._costs) if self._costs else 0.0

    def mark_dirty(self) -> None:
        self._dirty = True

    def on_mount(self) -> None:
        super().on_mount()
        self.redraw()

    def redraw_if_dirty(self) -> None:
        if self._dirty:
            self.redraw()

    def redraw(self) -> None:
        """Lay the figure out again now if shown (else at its next render) and repaint."""
        self._dirty = False
        if self.display and self.size.width and self.size.height:
            self._lay_out(self.size.width, self.size.height)
        else:
            self._laid_out = None
        self.refresh()

    def _lay_out(self, width: int, height: int) -> None:
        started = time.perf_counter()
        self.drawn, self.legend, self._markers = {}, [], []  # _markers: drawn after every line, none over them
        self.y_axis = self.x_axis = self.right_axis = None
        plot_height = max(height - OUR_ROWS, 4)
        note = self.note_text()
        self._empty = self.is_empty() and not note
        if self._empty:  # a new run's plots: the first frame needs no plotext (see plot_canvas)
            self._plot, self._laid_out, self._lay_out_s = None, (width, height), time.perf_counter() - started
            return
        self._plot = new_figure()  # a fresh figure: plotext keeps limits and ticks between builds
        self._plot.plotsize(width, plot_height)
        if note:
            self._plot.title(note)
        self._canvas = (width, max(plot_height - FRAME_ROWS - (1 if note else 0), 2))
        self._canvas_cols = width
        self.draw(self._plot)
        y_axes = {"left": self.y_axis, "right": self.right_axis}
        draw_marks(self._plot, self._markers, self.x_axis, y_axes, (self._canvas_cols, self._canvas[1]))
        self._laid_out = (width, height)
        self._lay_out_s = time.perf_counter() - started

    def render(self):
        width, height = self.size.width, self.size.height
        self._rendered = True
        if self._laid_out != (width, height):
            self._lay_out(width, height)
        figure = self.figure(width, max(height - OUR_ROWS, 4), empty=self._empty)
        text = Text()
        text.append_text(self._line(self.heading_text(), width))
        text.append("\n")
        text.append_text(figure)
        text.append("\n")
        text.append_text(self._line(self.legend_text(), width))
        return text

    def render_lines(self, crop: Region) -> list[Strip]:
        """Textual's, timed: the plot's UI-thread cost is its layout, plotext's build, and the
        parsing and styling of its cells here (render() alone is about a third of it)."""
        started, self._rendered = time.perf_counter(), False
        laid_out = self._laid_out
        lines = super().render_lines(crop)
        if self._rendered:  # not Textual's cached lines: a redraw
            before = self._lay_out_s if laid_out == self._laid_out else 0.0  # else laid out in render()
            self._costs.append(before + time.perf_counter() - started)
        return lines

    @staticmethod
    def _line(text: Text, width: int) -> Text:
        # a cut line ends a cell short: side by side, "error % per epoch · log…loss per epoch" ran on
        if text.cell_len > width:
            text.truncate(max(width - 1, 1), overflow="ellipsis")
        return text

    def heading_text(self) -> Text:
        text = Text(self.heading, style="bold")
        for part in self.describe_controls():
            text.append(" · ")
            text.append(part, style="dim")
        return text

    def legend_text(self) -> Text:
        text = legend_line(self.legend, self.size.width)
        x_name = f"x: {self.x_name()}"
        if text.cell_len + len(x_name) <= self.size.width:
            text.append(x_name, style="dim")
        return text

    def note_text(self) -> str:
        """Said in the figure itself (plotext's title) when there is nothing to draw."""
        return ""

    def is_empty(self) -> bool:
        """Nothing to draw: :meth:`draw` would return at once (a plot that cannot tell says False)."""
        return False

    def x_name(self) -> str:
        return "epoch"

    def draw(self, plt) -> None:
        """Set the axes (:meth:`set_axes`) and plot (:meth:`series`, every call with a colour)."""
        raise NotImplementedError

    # -- helpers for draw() --------------------------------------------------------------------

    def set_axes(
        self,
        x_range: tuple[float, float],
        y_values: Sequence[float],
        *,
        log: bool = False,
        right_values: Sequence[float] = (),
        integer_x: bool = False,
        ceiling: float | None = None,
    ) -> None:
        """Nice ticks on every axis for the current canvas; the y axis covers ``y_values`` (on a
        log axis, in values: :meth:`to_y` maps them), the right one ``right_values``."""
        axes = fit_axes(
            self._canvas, x_range, y_values, log=log, right_values=right_values, integer_x=integer_x, ceiling=ceiling
        )
        self.y_axis, self.x_axis, self.right_axis, self._canvas_cols = axes
        apply_axes(self.plt, axes)

    def to_y(self, values: Sequence[float]) -> list[float]:
        """Values in plot coordinates on the left axis (``log10`` on a log axis)."""
        return in_plot_units(values, self.y_axis)

    def series(
        self,
        label: str,
        xs: Sequence[float],
        ys: Sequence[float],
        color: tuple[int, int, int],
        *,
        marker: str = "braille",
        legend: str | None = None,
        right: bool = False,
        points: str | None = None,
    ) -> None:
        """Plot one series (already in plot coordinates), thinned to the canvas width; ``points``:
        also mark its data points with this character (every k-th where there are too many to mark all:
        15 epochs on a narrow plot lost every marker)."""
        if not xs:
            return
        xs, ys = thin(list(xs), list(ys), self._canvas_cols)
        side = "right" if right else "left"
        line_xs, line_ys = xs, ys
        y_axis = self.right_axis if right else self.y_axis
        if marker == "braille" and self.x_axis is not None and y_axis is not None:  # on the ticks' grid
            line_xs = on_tick_grid(xs, self.x_axis.lo, self.x_axis.hi, self._canvas_cols, BRAILLE_DOTS[0])
            line_ys = on_tick_grid(ys, y_axis.lo, y_axis.hi, self._canvas[1], BRAILLE_DOTS[1])
        self.plt.plot(line_xs, line_ys, color=color, marker=marker, yside=side)
        if points:  # every k-th point where all would crowd: the lines stay told apart without colour
            k = max(1, -(-len(xs) // max(self._canvas_cols // 3, 1)))
            marked = range((len(xs) - 1) % k, len(xs), k)  # counted back from the newest
            self._markers.append(([xs[i] for i in marked], [ys[i] for i in marked], color, points, side))
        self.drawn[label] = (xs, ys)
        if legend:
            self.legend.append((legend, label, color))
