"""Batch loss: every batch faint behind TensorBoard's debiased EMA, and the learning rate.

Controls (each in the heading line): ``toggle_log()`` (log y), ``set_smoothing(w)`` /
``step_smoothing(±1)`` (EMA weight 0-0.99; 0 = raw only), ``cycle_range()`` (whole run or
the last N epochs), ``toggle_lr()`` (the learning rate on the right axis).

The smoothed curve is computed at layout time from the kept raw points (at most ``capacity``;
past that :class:`BoundedSeries` keeps every 2nd, 4th... batch and the EMA weight per kept
point becomes ``w**stride``, so its time constant in batches holds), so a new weight applies
to the whole curve at once.
"""

from __future__ import annotations

from mnist_tui.tui import plot_settings
from mnist_tui.tui.palette import GREY, REDDISH_PURPLE, SKY_BLUE, VERMILLION
from mnist_tui.tui.plot_settings import PlotSettings
from mnist_tui.tui.series import BoundedSeries, ema
from mnist_tui.tui.widgets.live_plot import LivePlot
from mnist_tui.tui.widgets.plot_axes import window

RAW_COLOR = GREY
SMOOTH_COLOR = SKY_BLUE
LR_COLOR = VERMILLION
MARK_COLOR = REDDISH_PURPLE


class BatchLossPlot(LivePlot):
    """Holds at most ``capacity`` points per series; redraws only when asked and dirty."""

    def __init__(self, capacity: int = 1000, **kwargs) -> None:
        self.raw = BoundedSeries(capacity)
        self.lrs = BoundedSeries(capacity)  # appended in step with raw: the same points kept
        self.recorded = True  # False: the run's folder (format 1) never kept its batch losses
        self.marks: list[tuple[float, str]] = []  # (x in epochs, what): steering, drawn as vertical lines
        super().__init__("batch loss", "loss", **kwargs)

    def apply_settings(self, settings: PlotSettings) -> None:
        super().apply_settings(settings)
        self.set_reactive(LivePlot.log_y, settings.log_loss)
        self.smoothing = settings.smoothing
        self.show_lr = settings.show_lr

    def add(self, x: float, loss: float, lr: float | None = None) -> None:
        """``x`` is the position in epochs (2.5 = half way through epoch 3); ``lr`` the batch's
        learning rate (``LossInbox`` items carry it)."""
        epoch_end = float(x).is_integer()  # kept through any thinning: where a stopped run's plot ends
        self.raw.append(x, loss, keep=epoch_end)
        self.lrs.append(x, float("nan") if lr is None else lr, keep=epoch_end)
        self.mark_dirty()

    @property
    def smooth(self) -> tuple[list[float], list[float]]:
        """The smoothed curve over every kept point (xs, ys)."""
        if self.smoothing <= 0:
            return list(self.raw.xs), list(self.raw.ys)
        return list(self.raw.xs), ema(self.raw.ys, self.smoothing, self.raw.stride)

    # -- controls ------------------------------------------------------------------------------

    def set_smoothing(self, weight: float) -> float:
        """EMA weight, clamped to 0-0.99; returns the weight in use."""
        self.smoothing = plot_settings.clamp_smoothing(weight)
        self._control_changed(smoothing=self.smoothing)
        return self.smoothing

    def step_smoothing(self, step: int) -> float:
        """The next weight up (``step`` > 0) or down among 0, 0.6, 0.8, 0.9, 0.95, 0.98, 0.99."""
        return self.set_smoothing(plot_settings.next_smoothing(self.smoothing, step))

    def toggle_lr(self) -> bool:
        self.show_lr = not self.show_lr
        self._control_changed(show_lr=self.show_lr)
        return self.show_lr

    def watch_log_y(self, log: bool) -> None:
        self._control_changed(log_loss=log)

    def describe_controls(self) -> list[str]:
        parts = super().describe_controls()
        parts.append(f"EMA {self.smoothing:.2f}" if self.smoothing else "no smoothing")
        return parts

    # -- drawing -------------------------------------------------------------------------------

    def note_text(self) -> str:
        if not self.recorded and not self.raw.xs:
            return "batch loss: not recorded in this run folder (format 1)"
        return ""

    def drop_after(self, x: float) -> None:
        """Withdraw the batches past ``x`` epochs (a followed run resumed from there)."""
        self.raw.drop_after(x)
        self.lrs.drop_after(x)
        self.mark_dirty()

    def drop_marks_after(self, x: float) -> None:
        self.marks = [(at, what) for at, what in self.marks if at <= x]
        self.mark_dirty()

    def mark(self, x: float, what: str) -> None:
        """A vertical line where the run was steered (lr ×2, epochs added), listed in the legend."""
        self.marks.append((x, what))
        self.mark_dirty()

    def is_empty(self) -> bool:
        return not self.raw.xs

    def draw(self, plt) -> None:
        if not self.raw.xs:
            return
        xs, ys = self.raw.xs, self.raw.ys
        _, smooth = self.smooth
        start = window(xs, self.range_epochs)
        xs, ys, smooth = xs[start:], ys[start:], smooth[start:]
        lrs = [v for v in self.lrs.ys[start:] if v == v] if self.show_lr else []
        x_lo = xs[0] if self.range_epochs else 0.0
        self.set_axes((x_lo, max(xs[-1], x_lo + 1e-3)), ys, log=self.log_y, right_values=lrs)
        if self.smoothing > 0:
            self.series("batch", xs, self.to_y(ys), RAW_COLOR, legend="⣀⡠")
            self.series(f"EMA {self.smoothing:.2f}", xs, self.to_y(smooth), SMOOTH_COLOR, legend="⣀⡠")
        else:
            self.series("batch", xs, self.to_y(ys), SMOOTH_COLOR, legend="⣀⡠")
        if lrs:
            lr_x = [x for x, v in zip(xs, self.lrs.ys[start:], strict=True) if v == v]
            self.series("lr (right)", lr_x, lrs, LR_COLOR, marker="·", legend="··", right=True)
        shown = [(x, what) for x, what in self.marks if x >= x_lo]
        for x, _what in shown:
            plt.vline(x, color=MARK_COLOR)
        rows = self._canvas[1]
        y_lo, y_hi = self.y_axis.lo, self.y_axis.hi
        step = (self.x_axis.hi - self.x_axis.lo) / max(self._canvas_cols - 1, 1)  # one column
        for x, row, label, right in mark_labels(shown, self.x_axis.lo, self.x_axis.hi, self._canvas_cols):
            y = y_hi - row * (y_hi - y_lo) / max(rows - 1, 1)  # each line its own label (only the last was named)
            at = x - step if right else x + step  # plotext starts (or ends) the text on the line's own column
            plt.text(label, at, y, color=MARK_COLOR, alignment="right" if right else "left")
        if len(shown) == 1:
            self.legend.append(("│", f"steered: {shown[0][1]}", MARK_COLOR))
        elif shown:
            self.legend.append(("│", f"steered ({len(shown)})", MARK_COLOR))


def short_mark(what: str) -> str:
    """A steering line's label: ``lr ×0.5`` → ``×0.5``, ``epochs 3 → 8`` → ``→8``."""
    if what.startswith("lr "):
        return what[3:]
    if what.startswith("epochs ") and "→" in what:
        return "→" + what.rsplit("→", 1)[1].strip()
    return what


def mark_labels(marks: list[tuple[float, str]], x_lo: float, x_hi: float, cols: int, rows: int = 3) -> list:
    """(x, row from the top, label, right-aligned) for the marks' labels: beside its line, on the
    first of ``rows`` rows where it overlaps no earlier label; none where all are taken."""
    placed, ends = [], [-1] * rows  # the column after the last label on each row
    span = max(x_hi - x_lo, 1e-9)
    for x, what in sorted(marks):
        label = short_mark(what)
        col = round((x - x_lo) / span * (cols - 1))
        right = col + 1 + len(label) > cols  # at the right edge: the label ends at its line
        first, last = (col - len(label), col - 1) if right else (col + 1, col + len(label))
        row = next((r for r in range(rows) if ends[r] < first), None)
        if row is not None:
            ends[row] = last + 1
            placed.append((x, row, label, right))
    return placed
