"""One value per epoch for train and test (accuracy, or loss)."""

from __future__ import annotations

from mnist_tui.tui.widgets.live_plot import LivePlot

TRAIN_COLOR = "orange"
TEST_COLOR = "green+"


class EpochPlot(LivePlot):
    def __init__(self, title: str, ylabel: str, **kwargs) -> None:
        super().__init__(title, ylabel, **kwargs)
        self.epochs: list[int] = []
        self.train: list[float] = []
        self.test: list[float] = []

    def add(self, epoch: int, train: float, test: float) -> None:
        if self.epochs and epoch <= self.epochs[-1]:  # a repeated epoch replaces the old row
            cut = self.epochs.index(epoch) if epoch in self.epochs else len(self.epochs)
            del self.epochs[cut:], self.train[cut:], self.test[cut:]
        self.epochs.append(epoch)
        self.train.append(train)
        self.test.append(test)
        self.mark_dirty()

    def draw(self, plt) -> None:
        if self.epochs:
            marker = "braille" if len(self.epochs) > 20 else "dot"
            plt.plot(self.epochs, self.train, color=TRAIN_COLOR, marker=marker, label="train")
            plt.plot(self.epochs, self.test, color=TEST_COLOR, marker=marker, label="test")
            if len(self.epochs) <= 10:
                plt.xticks(self.epochs)
