"""One value per epoch for train and test: :class:`AccuracyPlot` (accuracy %, or error % on a
log axis) and :class:`EpochLossPlot` (linear or log). Train is an orange dotted line of "·",
test a sky-blue solid line with "●" at each epoch: told apart without colour too."""

from __future__ import annotations

from textual.reactive import reactive

from mnist_tui.tui.palette import TEST_COLOR, TRAIN_COLOR
from mnist_tui.tui.plot_settings import PlotSettings
from mnist_tui.tui.widgets.live_plot import LivePlot

ERROR_FLOOR = 0.01  # % (1 in 10,000): a perfect epoch is drawn here on the log error axis


class EpochPlot(LivePlot):
    """``add(epoch, train, test, inner)``; a repeated epoch replaces the rows from it on. ``inner``:
    the epoch's tests inside it, (epochs trained, value) each, drawn on the test line between its
    epoch ends (``--tests-per-epoch``; sprint's half epochs)."""

    def __init__(self, title: str, ylabel: str, **kwargs) -> None:
        self.epochs: list[int] = []
        self.train: list[float] = []
        self.test: list[float] = []
        self.inner: list[tuple[float, float]] = []
        super().__init__(title, ylabel, **kwargs)

    def add(self, epoch: int, train: float, test: float, inner: tuple[tuple[float, float], ...] = ()) -> None:
        if self.epochs and epoch <= self.epochs[-1]:  # a repeated epoch replaces the old row
            cut = self.epochs.index(epoch) if epoch in self.epochs else len(self.epochs)
            del self.epochs[cut:], self.train[cut:], self.test[cut:]
            self.inner = [point for point in self.inner if point[0] < epoch - 1]
        self.epochs.append(epoch)
        self.train.append(train)
        self.test.append(test)
        self.inner.extend(inner)
        self.mark_dirty()

    ceiling: float | None = None  # the y axis never goes above this (100 for accuracy %)

    def shown(self, value: float) -> float:
        """A value as drawn, in values (not log10)."""
        return value

    def values(self) -> tuple[list[float], list[float]]:
        """(train, test) as drawn, in values (not log10)."""
        return [self.shown(v) for v in self.train], [self.shown(v) for v in self.test]

    def test_line(self, epochs: list[int], test: list[float], whole: bool) -> tuple[list[float], list[float]]:
        """The test line's points over ``epochs``: its epoch ends and the tests inside them, in order;
        ``whole`` (the run from its start): also those before the first epoch's end (sprint's 0.5)."""
        inside = [(x, self.shown(v)) for x, v in self.inner if (whole or epochs[0] < x) and x < epochs[-1]]
        points = sorted([*zip(epochs, test, strict=True), *inside])
        return [x for x, _ in points], [v for _, v in points]

    def shown_from(self) -> int:
        """Index of the first epoch in the x range (the last N epochs, at least two)."""
        if not self.range_epochs:
            return 0
        return max(0, len(self.epochs) - self.shown_epochs())

    def shown_epochs(self) -> int:
        """Two at least: a line needs two points (the heading said "last 1 ep" over two)."""
        return max(self.range_epochs, 2)

    def is_empty(self) -> bool:
        return not self.epochs

    def draw(self, plt) -> None:
        if not self.epochs:
            return
        start = self.shown_from()
        epochs = self.epochs[start:]
        train, test = (v[start:] for v in self.values())
        test_x, test = self.test_line(epochs, test, whole=start == 0)
        x_lo = test_x[0]  # a test inside epoch 1 starts the axis before it (0.5, where epochs start at 1)
        x_hi = max(epochs[-1], epochs[0] + 1) if x_lo == epochs[0] else epochs[-1]
        self.set_axes((x_lo, x_hi), train + test, log=self.log_y, integer_x=True, ceiling=self.ceiling)
        self.series("train", epochs, self.to_y(train), TRAIN_COLOR, marker="·", legend="···")
        self.series("test", test_x, self.to_y(test), TEST_COLOR, points="●", legend="━●━")


class EpochLossPlot(EpochPlot):
    """Train and test loss per epoch; ``toggle_log()``."""

    def __init__(self, title: str = "loss per epoch", ylabel: str = "loss", **kwargs) -> None:
        super().__init__(title, ylabel, **kwargs)

    def apply_settings(self, settings: PlotSettings) -> None:
        super().apply_settings(settings)
        self.set_reactive(LivePlot.log_y, settings.log_loss)

    def watch_log_y(self, log: bool) -> None:
        self._control_changed(log_loss=log)


class AccuracyPlot(EpochPlot):
    """Accuracy % per epoch, or (``toggle_error_view()``) error % = 100 - accuracy on a log
    axis: MNIST's convention, where 1.0 % against 0.7 % is the difference that matters.
    ``add(epoch, train_acc_percent, test_acc_percent)`` either way."""

    error_view: reactive[bool] = reactive(True, init=False)
    ceiling = 100.0

    def __init__(self, title: str = "accuracy per epoch", ylabel: str = "accuracy %", **kwargs) -> None:
        super().__init__(title, ylabel, **kwargs)

    def apply_settings(self, settings: PlotSettings) -> None:
        super().apply_settings(settings)
        self.set_reactive(AccuracyPlot.error_view, settings.error_view)
        self.set_reactive(LivePlot.log_y, settings.error_view)

    def toggle_error_view(self) -> bool:
        self.error_view = not self.error_view
        return self.error_view

    def toggle_log(self) -> None:
        """The log axis goes with the error view; accuracy stays linear."""

    def watch_error_view(self, error: bool) -> None:
        self.set_reactive(LivePlot.log_y, error)
        self._control_changed(error_view=error)

    def shown(self, value: float) -> float:
        return max(100 - value, ERROR_FLOOR) if self.error_view else value

    def heading_text(self):
        self.heading = "error % per epoch" if self.error_view else "accuracy % per epoch"
        return super().heading_text()

    def describe_controls(self) -> list[str]:
        parts = ["log y" if self.error_view else "linear y"]
        if self.range_epochs:
            parts.append(f"last {self.shown_epochs()} ep")
        return parts
