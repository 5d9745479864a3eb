"""The model view's words: its title line, the selected digit's caption and the embedding's
status line (pure: no widget here)."""

from __future__ import annotations

import numpy as np

from mnist_tui.insight.embedding import Embedding
from mnist_tui.insight.filters import Weights


def title_line(weights: Weights | None, image: np.ndarray | None, index: int | None, label: int | None) -> str:
    """The screen's first line: which model, which digit, and the keys."""
    if weights is None:
        model = "no model yet (it appears after the first epoch)"
    else:
        model = f"epoch {weights.epoch}" if weights.epoch is not None else "model loaded"
    if image is None:
        digit = "no digit selected"
    elif index is None:
        digit = "the drawn digit"
    else:
        digit = f"test digit #{index}" + (f" (label {label})" if label is not None else "")
    return f"[b]Inside the network[/b] · {model} · {digit} · [dim]tab / shift+tab · esc back[/dim]"


def digit_caption(index: int | None, label: int | None) -> str:
    """Under the saliency map: test digit ``index`` (index None: a drawing)."""
    if index is None:
        return "drawn digit"
    return f"#{index}" + (f" label {label}" if label is not None else "")


def embedding_status(embedding: Embedding | None, ms: float | None, test_digits_given: bool) -> str:
    """Under the embedding: what it shows and what it cost (``ms``), or why there is none yet."""
    if embedding is None:
        return "waiting for a model…" if test_digits_given else "no test digits given"
    epoch = f"epoch {embedding.epoch} · " if embedding.epoch is not None else ""
    return (
        f"{epoch}{len(embedding.labels):,} test digits (fixed sample) · PCA on fc1's 50 ReLU features · "
        f"PC1+PC2 explain {embedding.explained.sum():.0%} · computed in {ms:.0f} ms"
    )
