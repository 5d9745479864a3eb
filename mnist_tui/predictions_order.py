"""Orders and filters for the predictions browser (pure numpy, no Textual).

Each takes the test set's softmax ``probabilities`` (N, 10) and true ``labels`` (N,) and
returns ``(indices, title)``: which test digits to show, in which order, and a short line
saying so for the panel's header. Ties keep index order (stable sorts), so an order never
shuffles between two refreshes with the same numbers.
"""

from __future__ import annotations

import numpy as np

Ordering = tuple[np.ndarray, str]


def _predicted(probabilities: np.ndarray) -> np.ndarray:
    return probabilities.argmax(1)


def _true_class_probability(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return probabilities[np.arange(len(labels)), labels]


def by_index(probabilities: np.ndarray, labels: np.ndarray) -> Ordering:
    return np.arange(len(labels)), "all digits, by index"


def hardest_first(probabilities: np.ndarray, labels: np.ndarray) -> Ordering:
    """Lowest probability given to the true class first: the digits the model finds hardest."""
    order = np.argsort(_true_class_probability(probabilities, labels), kind="stable")
    return order, "hardest first"


def confident_mistakes(probabilities: np.ndarray, labels: np.ndarray) -> Ordering:
    """Only the wrong predictions, the most confident one first."""
    predicted = _predicted(probabilities)
    wrong = np.flatnonzero(predicted != labels)
    confidence = probabilities[wrong, predicted[wrong]]
    order = wrong[np.argsort(-confidence, kind="stable")]
    return order, f"confident mistakes ({len(order):,})"


def true_digit(probabilities: np.ndarray, labels: np.ndarray, digit: int) -> Ordering:
    """Only the test digits whose true label is ``digit``, by index."""
    order = np.flatnonzero(labels == digit)
    return order, f"true digit {digit} ({len(order):,})"


def confusion_cell(probabilities: np.ndarray, labels: np.ndarray, true: int, predicted: int) -> Ordering:
    """Exactly the test digits in one confusion-matrix cell, the most confident first."""
    order = np.flatnonzero((labels == true) & (_predicted(probabilities) == predicted))
    order = order[np.argsort(-probabilities[order, predicted], kind="stable")]
    kind = "right" if true == predicted else "confused"
    return order, f"true {true} → predicted {predicted}: {len(order):,} {kind}"


def ordering(
    name: str,
    probabilities: np.ndarray,
    labels: np.ndarray,
    digit: int = 0,
    cell: tuple[int, int] | None = None,
) -> Ordering:
    """One entry point for the browser: a confusion ``cell`` filter wins over the order ``name``."""
    if cell is not None:
        return confusion_cell(probabilities, labels, *cell)
    if name == "index":
        return by_index(probabilities, labels)
    if name == "hardest":
        return hardest_first(probabilities, labels)
    if name == "mistakes":
        return confident_mistakes(probabilities, labels)
    if name == "digit":
        return true_digit(probabilities, labels, digit)
    raise ValueError(f"unknown order {name!r}")
