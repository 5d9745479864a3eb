"""The model view's embedding: the fc1 features of the test set on their two principal axes.

The axes' names go on the heading (PC2, the y axis) and the line under the figure (PC1, the x
axis), as every plot here names its axes: plotext's own axis labels would take a row from the
canvas that the row-aligned ticks of ``plot_ticks`` count on.
"""

from __future__ import annotations

import numpy as np
from rich.text import Text

from mnist_tui.insight.embedding import Embedding
from mnist_tui.tui.palette import DIGIT_COLORS
from mnist_tui.tui.widgets.live_plot import LivePlot
from mnist_tui.tui.widgets.plot_legend import legend_line

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

    def describe_controls(self) -> list[str]:
        """Not "linear y" (there is no log control here): which axis y is."""
        if self.embedding is None:
            return []
        return [f"y: PC2 ({self.embedding.explained[1]:.0%})"]

    def x_name(self) -> str:
        if self.embedding is None:
            return "PC1"
        return f"PC1 ({self.embedding.explained[0]:.0%} of variance)"

    def draw(self, plt) -> None:
        self.points_by_digit = {}
        embedding = self.embedding
        if embedding is None:
            return
        coords = embedding.coords[:, :2]
        if self.selected is not None:  # a drawn digit may fall outside the test digits' cloud
            coords = np.vstack([coords, np.asarray(self.selected, dtype=coords.dtype)[None, :2]])
        self.set_axes((float(coords[:, 0].min()), float(coords[:, 0].max())), coords[:, 1].tolist())
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


def digit_legend(selected: bool = True) -> Text:
    """``■ 0  ■ 1 … ■ 9  ◉ selected``: the scatter's colours."""
    text = legend_line(("■", str(digit), color) for digit, color in enumerate(DIGIT_COLORS))
    if selected:
        text.append(SELECTED_MARKER, style="bold white")
        text.append(" selected digit")
    return text
