"""One value per epoch for train and test (accuracy, or loss)."""

from __future__ import annotations

from textual_plotext import PlotextPlot

TRAIN_COLOR = "orange"
TEST_COLOR = "green+"


class EpochPlot(PlotextPlot):
    def __init__(self, title: str, ylabel: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.heading = title
        self.ylabel = ylabel
        self.epochs: list[int] = []
        self.train: list[float] = []
        self.test: list[float] = []
        self._dirty = True

    def add(self, epoch: int, train: float, test: float) -> None:
        if self.epochs and epoch <= self.epochs[-1]:  # a repeated epoch replaces the old row
            cut = self.epochs.index(epoch) if epoch in self.epochs else len(self.epochs)
            del self.epochs[cut:], self.train[cut:], self.test[cut:]
        self.epochs.append(epoch)
        self.train.append(train)
        self.test.append(test)
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
        if self.epochs:
            marker = "braille" if len(self.epochs) > 20 else "dot"
            plt.plot(self.epochs, self.train, color=TRAIN_COLOR, marker=marker, label="train")
            plt.plot(self.epochs, self.test, color=TEST_COLOR, marker=marker, label="test")
            if len(self.epochs) <= 10:
                plt.xticks(self.epochs)
        self.refresh()
