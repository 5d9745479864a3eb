"""Batch loss: every batch as a faint line, an exponential moving average over it."""

from __future__ import annotations

from mnist_tui.tui.series import BoundedSeries, Smoother
from mnist_tui.tui.widgets.live_plot import LivePlot

RAW_COLOR = "gray"
SMOOTH_COLOR = "cyan+"


class BatchLossPlot(LivePlot):
    """Holds at most ``capacity`` points per series; redraws only when asked and dirty."""

    def __init__(self, capacity: int = 1000, **kwargs) -> None:
        super().__init__("batch loss", "loss", **kwargs)
        self.raw = BoundedSeries(capacity)
        self.smooth = BoundedSeries(capacity)
        self._smoother = Smoother()
        self.recorded = True  # False: the run's folder (format 1) never kept its batch losses

    def fit_smoothing(self, batches_per_epoch: int) -> None:
        """Smooth over about a tenth of an epoch (5 to 50 batches), so the curve neither
        lags far behind short epochs nor wiggles with long ones."""
        window = max(5, min(50, batches_per_epoch // 10))
        if not len(self.raw):
            self._smoother = Smoother(beta=1 - 2 / (window + 1))

    def add(self, x: float, loss: float) -> None:
        """``x`` is the position in epochs (2.5 = half way through epoch 3)."""
        self.raw.append(x, loss)
        self.smooth.append(x, self._smoother(loss))
        self.mark_dirty()

    def draw(self, plt) -> None:
        if not self.recorded and not self.raw.xs:
            plt.title("batch loss: not recorded in this run folder (format 1)")
        if self.raw.xs:
            plt.plot(self.raw.xs, self.raw.ys, color=RAW_COLOR, marker="braille", label="batch")
            plt.plot(self.smooth.xs, self.smooth.ys, color=SMOOTH_COLOR, marker="braille", label="smoothed")
