"""The model view's widgets: filters, one digit's activations and saliency, layer statistics, embedding.

Each widget owns its state and is fed on the UI thread with plain results from
:mod:`mnist_tui.insight` (computed elsewhere, off the UI thread); drawing is the pure
renderers of :mod:`mnist_tui.insight.render`. The half-block panels lay themselves out to
their own width, so the same widget fits 80 columns (fewer tiles a row) and 120.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich.console import RenderableType
from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

from mnist_tui.insight.activations import DigitInsight
from mnist_tui.insight.embedding import Embedding
from mnist_tui.insight.filters import Weights, conv1_filters, conv2_filters
from mnist_tui.insight.layer_stats import LAYERS, LayerStatsRecord, histogram_band, series
from mnist_tui.insight.render import (
    diverging_legend,
    grey_halfblocks,
    heat_band,
    side_by_side,
    signed_halfblocks,
    symmetric_scale,
    tile_grid,
)
from mnist_tui.tui.widgets.live_plot import LivePlot

# tab10: ten colours a reader can tell apart, one per digit (scatter and legend)
DIGIT_COLORS: tuple[tuple[int, int, int], ...] = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (160, 160, 160),
    (188, 189, 34),
    (23, 190, 207),
)
LAYER_COLORS = {"conv1": "cyan+", "conv2": "green+", "fc1": "orange", "fc2": "magenta+"}
SELECTED_MARKER = "◉"


def _rgb(color: Sequence[int]) -> str:
    return "rgb({},{},{})".format(*color)


def _heading(text: str) -> Text:
    return Text(text, style="bold")


def _note(text: str) -> Text:
    return Text(text, style="dim italic")


def _lines(*parts: Text | Sequence[Text]) -> Text:
    """Text pieces (single lines or lists of lines) joined one under another."""
    flat: list[Text] = []
    for part in parts:
        flat.extend([part] if isinstance(part, Text) else part)
    return Text("\n").join(flat)


class LaidOut(Widget):
    """A widget whose text is built for its width; its height follows (``height: auto``)."""

    DEFAULT_CSS = """
    LaidOut {
        height: auto;
        width: 1fr;
    }
    """

    def build(self, width: int) -> Text:
        raise NotImplementedError

    def render(self) -> RenderableType:
        return self.build(max(self.content_size.width, 20))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        width = max(width, 20)
        return max(1, len(self.build(width).wrap(self.app.console, width)))  # long headings wrap


class FiltersView(LaidOut):
    """conv1's 10 kernels (zoomed ×2), then conv2's 20 output channels, each a 5×2 block of its
    10 input kernels. Each tile is scaled to its own largest |weight| (its shape is what counts);
    the legend gives the layer's largest."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.weights: Weights | None = None

    def show(self, weights: Weights | None) -> None:
        self.weights = weights
        self.refresh(layout=True)

    @property
    def has_filters(self) -> bool:
        return self.weights is not None

    def build(self, width: int) -> Text:
        if self.weights is None:
            return _note("no model yet: the filters appear after the first epoch (or from the checkpoint)")
        c1, c2 = conv1_filters(self.weights), conv2_filters(self.weights)
        conv1_tiles = [signed_halfblocks(kernel, zoom=2) for kernel in c1]
        conv1 = tile_grid(conv1_tiles, [f"{i}" for i in range(10)], width, gap=2)
        conv2_tiles = []
        for channel in c2:
            scale = symmetric_scale(channel)
            kernels = [signed_halfblocks(k, scale=scale) for k in channel]
            conv2_tiles.append(side_by_side(kernels[:5], gap=1) + side_by_side(kernels[5:], gap=1))
        conv2 = tile_grid(conv2_tiles, [f"out {o}" for o in range(20)], width, gap=3)
        return _lines(
            _heading("conv1 · 10 kernels 5×5 on the input digit (blue −, red +, black 0)"),
            diverging_legend(float(np.abs(c1).max()), width=15),
            conv1,
            Text(""),
            _heading("conv2 · 20 output channels; each: its 5×5 kernels on conv1's maps 0–4 (top), 5–9 (bottom)"),
            diverging_legend(float(np.abs(c2).max()), width=15),
            conv2,
        )


class SaliencyView(LaidOut):
    """The digit beside the gradient of the winning logit and gradient × input, with the verdict."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.insight: DigitInsight | None = None
        self.caption = ""
        self.message = "select a test digit in the browser (or draw one) to see what the network does with it"

    def show(self, insight: DigitInsight | None, caption: str = "", message: str | None = None) -> None:
        self.insight, self.caption = insight, caption
        if message is not None:
            self.message = message
        self.refresh(layout=True)

    def build(self, width: int) -> Text:
        insight = self.insight
        if insight is None:
            return _note(self.message)
        p = insight.probabilities
        runner_up = int(np.argsort(p)[-2])
        verdict = Text.assemble(
            (f"{self.caption}  " if self.caption else "", "bold"),
            ("predicted ", ""),
            (f" {insight.predicted} ", "bold reverse green"),
            f" {p[insight.predicted]:.1%}   runner-up {runner_up} {p[runner_up]:.1%}",
        )
        gradient, contribution = insight.gradient, insight.gradient_x_input
        blocks = [
            [Text("the digit".ljust(28), style="bold"), *grey_halfblocks(insight.image, scale=1.0)],
            [Text(f"∂ logit {insight.explained} / ∂ pixel".ljust(28), style="bold"), *signed_halfblocks(gradient)],
            [Text("gradient × ink".ljust(28), style="bold"), *signed_halfblocks(contribution)],
        ]
        if width >= 3 * 28 + 4:
            pictures = side_by_side(blocks, gap=2)
        else:  # 80 columns: the digit and the gradient, gradient × ink under them
            pictures = side_by_side(blocks[:2], gap=2) + [Text("")] + side_by_side(blocks[2:], gap=2)
        return _lines(
            verdict,
            pictures,
            _note(
                "red: more ink here would raise the score · blue: would lower it · "
                "gradient × ink: how much of the score each drawn pixel accounts for"
            ),
        )


class ActivationsView(LaidOut):
    """conv1's 10 maps (24×24) and conv2's 20 maps (8×8, zoomed ×2) for the selected digit:
    raw convolution outputs, before pooling and ReLU, on one symmetric scale per layer."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.insight: DigitInsight | None = None

    def show(self, insight: DigitInsight | None) -> None:
        self.insight = insight
        self.refresh(layout=True)

    def build(self, width: int) -> Text:
        if self.insight is None:
            return Text("")
        conv1, conv2 = self.insight.conv1, self.insight.conv2
        s1, s2 = symmetric_scale(conv1), symmetric_scale(conv2)
        maps1 = tile_grid([signed_halfblocks(m, scale=s1) for m in conv1], [f"map {i}" for i in range(10)], width, 2)
        maps2 = tile_grid([signed_halfblocks(m, s2, zoom=2) for m in conv2], [f"{i}" for i in range(20)], width, 2)
        return _lines(
            _heading("conv1 output · 10 maps 24×24 (each kernel slid over the digit)"),
            diverging_legend(s1, width=15),
            maps1,
            Text(""),
            _heading("conv2 output · 20 maps 8×8 (from conv1's maps after max-pool and ReLU)"),
            diverging_legend(s2, width=15),
            maps2,
        )


class LayerMetricPlot(LivePlot):
    """One statistic (weight norm, gradient norm, update/weight ratio) per epoch, a line per layer."""

    def __init__(self, field: str, heading: str, log_scale: bool = False, **kwargs) -> None:
        super().__init__(heading, "", **kwargs)
        self.field, self.log_scale = field, log_scale
        self.records: list[LayerStatsRecord] = []

    def set_records(self, records: Sequence[LayerStatsRecord]) -> None:
        self.records = list(records)
        self.redraw()

    def draw(self, plt) -> None:
        every: list[float] = []
        for layer in LAYERS:
            epochs, values = series(self.records, layer, self.field)
            if epochs:
                marker = "braille" if len(epochs) > 20 else "dot"
                plt.plot(epochs, values, color=LAYER_COLORS[layer], marker=marker, label=layer)
                every += values
        if self.log_scale and every and min(every) > 0:
            plt.yscale("log")
        else:
            plt.yscale("linear")
        epochs = sorted({r.epoch for r in self.records})
        if 0 < len(epochs) <= 8:
            plt.xticks(epochs)


class HistogramBands(LaidOut):
    """Each layer's weight histogram per epoch as a heat band (rows = epochs, newest at the bottom,
    columns = weight value on the layer's range over all epochs; each row scaled to its peak)."""

    MAX_ROWS = 12

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.records: list[LayerStatsRecord] = []

    def set_records(self, records: Sequence[LayerStatsRecord]) -> None:
        self.records = list(records)
        self.refresh(layout=True)

    def _band(self, layer: str, cell_width: int) -> list[Text]:
        records = self.records[-self.MAX_ROWS :]
        epochs, band, lo, hi = histogram_band(records, layer)
        title = Text.assemble((f"{layer} weights ", "bold"), (f"{lo:+.2f} … {hi:+.2f}", "dim"))
        lines = [title, *heat_band(band, [str(e) for e in epochs], cell_width=cell_width)]
        if len(self.records) > self.MAX_ROWS:
            lines.append(_note(f"(last {self.MAX_ROWS} of {len(self.records)} epochs)"))
        return lines

    def build(self, width: int) -> Text:
        if not self.records:
            return _note("weight histograms appear at the end of each epoch (replay: from layers.jsonl)")
        label = len(str(self.records[-1].epoch)) + 1
        cell = 2 if width >= 2 * (label + 48) + 4 else 1
        bands = [self._band(layer, cell) for layer in LAYERS]
        band_width = label + 24 * cell
        if width >= 2 * band_width + 4:
            rows = [side_by_side(bands[0:2], gap=4), [Text("")], side_by_side(bands[2:4], gap=4)]
        else:
            rows = [bands[0], [Text("")], bands[1], [Text("")], bands[2], [Text("")], bands[3]]
        return _lines(
            _heading("weight distributions over epochs (rows: epochs, columns: weight value; bright = many weights)"),
            *rows,
        )


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
        text.append("■", style=_rgb(color))
        text.append(f" {digit}  ")
    if selected:
        text.append(SELECTED_MARKER, style="bold white")
        text.append(" selected digit")
    return text


__all__ = [
    "ActivationsView",
    "DIGIT_COLORS",
    "EmbeddingPlot",
    "FiltersView",
    "HistogramBands",
    "LayerMetricPlot",
    "SaliencyView",
    "digit_legend",
]
