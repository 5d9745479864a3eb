"""The model view's digit widgets: filters, one digit's activations and saliency.

Each widget owns its state and is fed on the UI thread with plain results from
:mod:`mnist_tui.insight` (computed elsewhere, off the UI thread); drawing is the pure
renderers of :mod:`mnist_tui.insight.render`. The half-block panels lay themselves out to
their own width, so the same widget fits 80 columns (fewer tiles a row) and 120. The layer
statistics are in :mod:`layer_views`, the embedding in :mod:`embedding_plot`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich.console import RenderableType
from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.geometry import Size
from textual.widget import Widget

from mnist_tui.insight.activations import DigitInsight
from mnist_tui.insight.filters import Weights, conv1_filters, conv2_filters
from mnist_tui.insight.render import (
    diverging_legend,
    grey_halfblocks,
    side_by_side,
    signed_halfblocks,
    symmetric_scale,
    tile_grid,
)


def heading(text: str) -> Text:
    return Text(text, style="bold")


def note(text: str) -> Text:
    return Text(text, style="dim italic")


def lines(*parts: Text | Sequence[Text]) -> Text:
    """Text pieces (single lines or lists of lines) joined one under another."""
    flat: list[Text] = []
    for part in parts:
        flat.extend([part] if isinstance(part, Text) else part)
    return Text("\n").join(flat)


def even_rows(count: int, tile_width: int, width: int, gap: int = 2) -> tuple[int, int]:
    """(width, gap) for :func:`tile_grid` so that ``count`` tiles fill their rows evenly: all on one
    row when they fit (a narrower gap, if that is what it takes), else the most a row that
    divides ``count`` (10 tiles: two rows of 5, not 6 and 4), else as many as fit."""
    for row_gap in (gap, 1):
        if count * tile_width + (count - 1) * row_gap <= width:
            return width, row_gap
    for per_row in range(count - 1, 1, -1):
        needed = per_row * tile_width + (per_row - 1) * gap
        if count % per_row == 0 and needed <= width:
            return needed, gap
    return width, gap


class LaidOut(Widget):
    """A widget whose text is built for its width; its height follows (``height: auto``).

    The text is built once per width and state (:meth:`rebuild` after a change): a tab switch
    measured and rendered each panel several times, and the filters' 210 tiles took 44 ms a
    build, so switching tabs froze the UI for 0.4-0.5 s (1 s and more beside a training run)."""

    DEFAULT_CSS = """
    LaidOut {
        height: auto;
        width: 1fr;
    }
    """

    _built: tuple[int, Text, int] | None = None  # (width, text, its wrapped height)

    def build(self, width: int) -> Text:
        raise NotImplementedError

    def rebuild(self) -> None:
        """The state changed: build again, and lay out again (the height may change)."""
        self._built = None
        self.refresh(layout=True)

    def _for_width(self, width: int) -> tuple[Text, int]:
        width = max(width, 20)
        if self._built is None or self._built[0] != width:
            text = self.build(width)
            self._built = (width, text, max(1, len(text.wrap(self.app.console, width))))  # long headings wrap
        return self._built[1], self._built[2]

    def render(self) -> RenderableType:
        return self._for_width(self.content_size.width)[0].copy()  # whoever renders it may change it

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self._for_width(width)[1]


class FiltersView(LaidOut):
    """conv1's 10 kernels (zoomed ×2), then conv2's 20 output channels, each a 5×2 block of its
    10 input kernels. Each tile is scaled to its own largest |weight| (its shape is what counts);
    the legend gives the layer's largest."""

    def __init__(self, no_model: str = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self.weights: Weights | None = None
        self.no_model = no_model  # why no weights will come (a failed run); empty while they may
        self.read = False  # the screen has read the model once (until then: no "no model yet")

    def show(self, weights: Weights | None) -> None:
        self.weights, self.read = weights, True
        self.rebuild()

    def build(self, width: int) -> Text:
        if self.weights is None and self.no_model:
            return note(f"no model: {self.no_model}")
        if self.weights is None and not self.read:
            return note("reading the model's weights…")
        if self.weights is None:
            return note(
                "no model yet: the filters appear with the run's first weights "
                "(training here: within seconds; a replay or a follower: its checkpoint)"
            )
        c1, c2 = conv1_filters(self.weights), conv2_filters(self.weights)
        conv1_tiles = [signed_halfblocks(kernel, zoom=2) for kernel in c1]
        tile_width = max(line.cell_len for tile in conv1_tiles for line in tile)
        conv1 = tile_grid(conv1_tiles, [f"{i}" for i in range(10)], *even_rows(10, tile_width, width))
        conv2_tiles = []
        for channel in c2:
            scale = symmetric_scale(channel)
            kernels = [signed_halfblocks(k, scale=scale) for k in channel]
            conv2_tiles.append(side_by_side(kernels[:5], gap=1) + side_by_side(kernels[5:], gap=1))
        conv2 = tile_grid(conv2_tiles, [f"out {o}" for o in range(20)], width, gap=3)
        return lines(
            heading("conv1 · 10 kernels 5×5 on the input digit (blue −, red +, black 0)"),
            diverging_legend(float(np.abs(c1).max()), width=15),
            conv1,
            Text(""),
            heading("conv2 · 20 output channels; each: its 5×5 kernels on conv1's maps 0–4 (top), 5–9 (bottom)"),
            diverging_legend(float(np.abs(c2).max()), width=15),
            conv2,
        )


class SaliencyView(LaidOut):
    """The digit beside the gradient of the winning logit and gradient × input, with the verdict."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.insight: DigitInsight | None = None
        self.caption = ""
        self.label: int | None = None  # a test digit's true label (None: a drawing)
        self.message = "select a test digit in the browser (or draw one) to see what the network does with it"

    def show(
        self, insight: DigitInsight | None, caption: str = "", message: str | None = None, label: int | None = None
    ) -> None:
        self.insight, self.caption, self.label = insight, caption, label
        if message is not None:
            self.message = message
        self.rebuild()

    def build(self, width: int) -> Text:
        insight = self.insight
        if insight is None:
            return note(self.message)
        p = insight.probabilities
        runner_up = int(np.argsort(p)[-2])
        verdict = Text.assemble(
            (f"{self.caption}  " if self.caption else "", "bold"),
            ("predicted ", ""),
            (f" {insight.predicted} ", _verdict_style(insight.predicted, self.label)),
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
        return lines(
            verdict,
            pictures,
            note(
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
        self.rebuild()

    def build(self, width: int) -> Text:
        if self.insight is None:
            return Text("")
        conv1, conv2 = self.insight.conv1, self.insight.conv2
        s1, s2 = symmetric_scale(conv1), symmetric_scale(conv2)
        maps1 = tile_grid([signed_halfblocks(m, scale=s1) for m in conv1], [f"map {i}" for i in range(10)], width, 2)
        maps2 = tile_grid([signed_halfblocks(m, s2, zoom=2) for m in conv2], [f"{i}" for i in range(20)], width, 2)
        return lines(
            heading("conv1 output · 10 maps 24×24 (each kernel slid over the digit)"),
            diverging_legend(s1, width=15),
            maps1,
            Text(""),
            heading("conv2 output · 20 maps 8×8 (from conv1's maps after max-pool and ReLU)"),
            diverging_legend(s2, width=15),
            maps2,
        )


def _verdict_style(predicted: int, label: int | None) -> str:
    """Green when the guess is the label, red when it is not, plain for a drawing (no label):
    a wrong guess in green read as right."""
    if label is None:
        return "bold reverse"
    return "bold reverse green" if predicted == label else "bold reverse red"


class ScrollPane(VerticalScroll):
    """A tab's scrolling pane that takes j and k too: the README's one key map moves with h/j/k/l
    and the arrows on every screen, and these tabs, taller than a terminal, took only the arrows."""

    BINDINGS = [
        Binding("j", "scroll_down", "Scroll down", show=False),
        Binding("k", "scroll_up", "Scroll up", show=False),
    ]
