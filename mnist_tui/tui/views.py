"""Views of the test set for the predictions browser: an ordered list of indices and a title.

A view builder takes the latest softmax (or None before the first epoch) and the labels
and returns a :class:`View`. The app re-runs the current builder after every epoch, so a
filter such as "wrong only" follows the model as it learns. New orders and filters (hardest
first, one confusion cell, ...) are just more builders: see ``MnistApp.show_view``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Optional

import numpy as np


@dataclass(frozen=True)
class View:
    indices: np.ndarray  # int64, positions in the test set, in browsing order
    title: str
    empty_hint: str = "no digits in this view"


ViewBuilder = Callable[[Optional[np.ndarray], np.ndarray], View]


def all_digits(probabilities: np.ndarray | None, labels: np.ndarray) -> View:
    return View(np.arange(len(labels), dtype=np.int64), "all test digits")


def wrong_only(probabilities: np.ndarray | None, labels: np.ndarray) -> View:
    if probabilities is None:
        return View(np.zeros(0, dtype=np.int64), "wrong only", "no predictions yet: train an epoch first")
    wrong = np.flatnonzero(probabilities.argmax(1) != labels).astype(np.int64)
    return View(wrong, "wrong only", "no mistakes on the test set")


def from_ordering(ordering: Callable[..., tuple[np.ndarray, str]], *args) -> ViewBuilder:
    """Adapt an ordering in ``mnist_tui.predictions_order`` style, ``(probabilities, labels,
    *args) -> (indices, title)``, to a view builder (it waits for the first predictions)."""

    def build(probabilities: np.ndarray | None, labels: np.ndarray) -> View:
        if probabilities is None:
            return View(
                np.zeros(0, dtype=np.int64), "waiting for predictions", "no predictions yet: train an epoch first"
            )
        indices, title = ordering(probabilities, labels, *args)
        return View(np.asarray(indices, dtype=np.int64), title)

    return build
