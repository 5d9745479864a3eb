"""The model view's embedding: the fc1 features of the test set on their two principal axes."""

from __future__ import annotations

import numpy as np
from rich.text import Text

from mnist_tui.insight.embedding import Embedding
from mnist_tui.tui.palette import DIGIT_COLORS, rgb
from mnist_tui.tui.widgets.live_plot import LivePlot

SELECTED_MARKER = "◉"


class EmbeddingPlot(LivePlot):
    """The fc1 embedding as a braille scatter, one colour per true digit, the selected digit marked."""

    def __init__(self, **kwargs) -> None:
        super().__init__("fc1 features (50-d) projected on their two principal axes", "", **kwargs)
        self.embedding: Embedding | None = None
        self.selected: np.ndarray | None = None
        self.points_by_digit: dict[int, tuple[list[float], list[float]]] = {}

    def show(self, embedding: Embedding | None, selected: np.ndarray | None = None) -> None:
        self.embedding, self.selected = embedding, selected
        self.redraw()

    def mark(self, selected: np.ndarray | None) -> None:
        self.selected = selected
        self.redraw()

    def draw(self, plt) -> None:
        self.points_by_digit = {}
        embedding = self.embedding
        if embedding is None:
            return
        for digit in range(10):
            where = embedding.labels == digit
            if not where.any():
                continue
            xs, ys = embedding.coords[where, 0].tolist(), embedding.coords[where, 1].tolist()
            self.points_by_digit[digit] = (xs, ys)
            plt.scatter(xs, ys, color=DIGIT_COLORS[digit], marker="braille")
        if self.selected is not None:
            x, y = (float(v) for v in self.selected)
            plt.scatter([x], [y], color="white", marker=SELECTED_MARKER)
        share = embedding.explained
        plt.xlabel(f"PC1 ({share[0]:.0%} of variance)")
        plt.ylabel(f"PC2 ({share[1]:.0%})")


def digit_legend(selected: bool = True) -> Text:
    """``■ 0  ■ 1 … ■ 9  ◉ selected``: the scatter's colours."""
    text = Text()
    for digit, color in enumerate(DIGIT_COLORS):
        text.append("■", style=rgb(color))
        text.append(f" {digit}  ")
    if selected:
        text.append(SELECTED_MARKER, style="bold white")
        text.append(" selected digit")
    return text
