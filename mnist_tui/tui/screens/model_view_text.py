"""The model view's words: its title line, its help, the selected digit's caption and the
embedding's status line (pure: no widget here)."""

from __future__ import annotations

from typing import Any

import numpy as np

from mnist_tui.insight.embedding import SAMPLE, Embedding
from mnist_tui.insight.filters import Weights


def title_line(
    weights: Weights | None,
    image: np.ndarray | None,
    index: int | None,
    label: int | None,
    no_model: str = "",
    read: bool = True,
) -> str:
    """The screen's first line: which model and which digit. The keys are in the footer and the
    numbered tabs: here they would push the line past 80 columns. ``no_model``: why none will come;
    ``read``: False until the model was first read (it said "no model yet" of a finished run's model)."""
    if weights is not None:
        model = weights.label
    else:
        model = "no model" if no_model else "no model yet" if read else "reading the model…"
    if image is None:
        digit = "no digit selected"
    elif index is None:
        digit = "the drawn digit"
    else:
        digit = f"test digit #{index:,}" + (f" (label {label})" if label is not None else "")
    return f"[b]Inside the network[/b] · {model} · {digit}"


HELP_TITLE = "Inside the network: what the model has learned, four tabs"

# What each tab shows, for the help screen (``?``): this screen's, not the dashboard's
HELP = (
    "1 Filters: every weight of conv1 (10 kernels 5×5) and conv2 (20 output channels × 10 kernels); "
    "red +, blue −, black 0; each tile is scaled to its own largest weight: compare shapes, not sizes.",
    "2 Digit: the digit selected in the dashboard's browser (or drawn): the model's guess, which pixels "
    "would raise (red) or lower (blue) the winning score, gradient × ink, and conv1's and conv2's maps of it.",
    "3 Layers: per layer and epoch, the weight norm, one batch's gradient norm and the update / weight "
    "ratio (log y); below, each layer's weight histogram per epoch as a heat band.",
    "4 Embedding: 2,000 test digits placed by their 50 fc1 features on the two principal axes (PCA), "
    "coloured by true digit; ◉ is the selected digit.",
    "While training, the filters and the digit follow the weights as they arrive (every few seconds) "
    "and the embedding is projected once an epoch; r re-reads the model and recomputes all of it now.",
    "↑↓ (j/k), PgUp/PgDn and Home/End scroll a tab taller than the terminal; 1-4 or tab choose a tab.",
)


def digit_caption(index: int | None, label: int | None) -> str:
    """Under the saliency map: test digit ``index`` (index None: a drawing)."""
    if index is None:
        return "drawn digit"
    return f"#{index:,}" + (f" label {label}" if label is not None else "")  # as the dashboard writes it


def embedding_status(embedding: Embedding | None, ms: float | None, test_images: Any, no_model: str = "") -> str:
    """Under the embedding: what it shows and what it cost (``ms``), or why there is none (yet)."""
    if embedding is None and no_model:  # "waiting for a model…" waited for ever on a replay without one
        return f"no model: {no_model}"
    if embedding is None:
        return "waiting for a model…" if test_images is not None else "no test digits given"
    epoch = f"epoch {embedding.epoch} · " if embedding.epoch is not None else ""
    # the selected test digit joins the sample where it missed it: "2,001" with one, "2,000" with a drawing
    shown = len(embedding.labels)
    digits = (
        f"{SAMPLE:,} test digits (fixed sample) and the selected one"
        if shown == SAMPLE + 1
        else f"{shown:,} test digits (fixed sample)"
    )
    return (
        f"{epoch}{digits} · PCA on fc1's 50 ReLU features · "
        f"PC1+PC2 explain {embedding.explained.sum():.0%} · computed in {ms:.0f} ms"
    )
