"""Views of the test set for the predictions browser: an ordered list of indices and a title.

A view is an order (by index, hardest first, confident mistakes, one true digit) with
filters laid over it (wrong only, one confusion cell). They combine rather than replace
each other, and the title says which are on. The browser rebuilds its view after every
epoch, so a filter follows the model as it learns; one that empties says so, and how to
leave it. No Textual, and no numpy until a view is built: the browser is on the dashboard's
first frame, before numpy has loaded (it costs ~0.1 s of that frame on a 2-core AMD EPYC).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

# The orders the browser cycles through with one key; "digit" steps through 0–9 in turn.
ORDERS = ("index", "hardest", "mistakes", "digit")
# o / O step through these: index → hardest → confident mistakes → digit 0 … 9 → index
ORDER_STEPS = tuple((name, 0) for name in ORDERS if name != "digit") + tuple(("digit", d) for d in range(10))


def next_order(name: str, digit: int, step: int = 1) -> tuple[str, int]:
    """The order ``step`` places after ``(name, digit)`` in the cycle (−1: the one before)."""
    position = ORDER_STEPS.index((name, digit if name == "digit" else 0))
    return ORDER_STEPS[(position + step) % len(ORDER_STEPS)]


@dataclass(frozen=True)
class View:
    indices: np.ndarray  # int64, positions in the test set, in browsing order
    title: str
    empty_hint: str = "no digits in this view"


@dataclass(frozen=True)
class ViewSpec:
    """What the browser shows: an order, and the filters over it."""

    order: str = "index"
    digit: int = 0  # with order "digit"
    wrong_only: bool = False
    cell: tuple[int, int] | None = None  # (true, predicted)

    @property
    def filtered(self) -> bool:
        return self.wrong_only or self.cell is not None or self.order != "index"


def no_digits_text(why_none: str) -> str:
    """What stands in the browser's place, and in the confusion matrix's, when no digit loaded."""
    return f"no test digits loaded: {why_none or 'nothing to browse'}"


def build_view(
    spec: ViewSpec, probabilities: np.ndarray | None, labels: np.ndarray, epoch: int | None = None, why_none: str = ""
) -> View:
    """``why_none``: why no digit was loaded (a replay's note: its checkpoint refused, its data gone)."""
    import numpy as np  # loaded by now: the labels are numpy's

    from mnist_tui.predictions_order import confusion_cell, ordering

    if not len(labels):  # said here for good: the note was a toast, gone in seconds
        return View(np.zeros(0, dtype=np.int64), "no test digits", no_digits_text(why_none))
    if probabilities is None:
        if not spec.filtered:
            return View(np.arange(len(labels), dtype=np.int64), "all test digits")
        if spec.order == "digit" and not spec.wrong_only and spec.cell is None:
            indices = np.flatnonzero(labels == spec.digit).astype(np.int64)
            return View(indices, f"true digit {spec.digit} ({len(indices):,})")
        return View(np.zeros(0, dtype=np.int64), "waiting for predictions", "no predictions yet: train an epoch first")
    after = f" after epoch {epoch}" if epoch is not None else ""
    if spec.cell is not None:
        indices, title = confusion_cell(probabilities, labels, *spec.cell)
        true, predicted = spec.cell
        kind = "digits" if true == predicted else "mistakes"
        hint = f"no {true}→{predicted} {kind} left{after}: esc for all digits"
    else:
        indices, title = ordering(spec.order, probabilities, labels, digit=spec.digit)
        hint = f"no digits in this view{after}: esc for all digits"
    indices = np.asarray(indices, dtype=np.int64)
    if spec.wrong_only:
        wrong = probabilities[indices].argmax(1) != labels[indices]
        indices = indices[wrong]
        title = f"{title} · wrong only ({len(indices):,})"
        hint = f"no mistakes in this view{after}: w shows all, esc clears every filter"
    return View(indices, title, hint)
