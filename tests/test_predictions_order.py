"""Orders and filters for the predictions browser."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_tui.predictions_order import (
    by_index,
    confident_mistakes,
    confusion_cell,
    hardest_first,
    ordering,
    true_digit,
)
from mnist_tui.tui.views import ORDERS, next_order


def _probs(rows: list[tuple[int, float]]) -> np.ndarray:
    """One row per sample: (predicted digit, its probability); the rest spread evenly."""
    out = np.zeros((len(rows), 10), dtype=np.float32)
    for i, (digit, p) in enumerate(rows):
        out[i] = (1 - p) / 9
        out[i, digit] = p
    return out


# index:        0          1          2          3          4          5
LABELS = np.array([3, 3, 5, 3, 7, 5])
PROBS = _probs([(3, 0.9), (5, 0.8), (5, 0.6), (5, 0.95), (7, 0.5), (3, 0.7)])


def test_by_index_is_every_sample_in_order():
    indices, title = by_index(PROBS, LABELS)
    assert indices.tolist() == [0, 1, 2, 3, 4, 5]
    assert "index" in title


def test_hardest_first_sorts_by_the_true_class_probability():
    indices, title = hardest_first(PROBS, LABELS)
    true_p = PROBS[indices, LABELS[indices]]
    assert np.all(np.diff(true_p) >= 0)
    # true-class probabilities: 3 → 0.05/9, 1 → 0.2/9, 5 → 0.3/9 … 0 → 0.9 (the easiest)
    assert indices[:3].tolist() == [3, 1, 5]
    assert indices[-1] == 0 and sorted(indices.tolist()) == list(range(6))
    assert "hardest" in title


def test_confident_mistakes_are_only_the_wrong_ones_most_confident_first():
    indices, title = confident_mistakes(PROBS, LABELS)
    assert indices.tolist() == [3, 1, 5]  # 0.95, 0.80, 0.70
    assert all(PROBS[i].argmax() != LABELS[i] for i in indices)
    assert "(3)" in title


def test_true_digit_keeps_only_that_label():
    indices, title = true_digit(PROBS, LABELS, 3)
    assert indices.tolist() == [0, 1, 3]
    assert title == "true digit 3 (3)"
    assert true_digit(PROBS, LABELS, 9)[0].size == 0


def test_confusion_cell_is_exactly_the_cell():
    indices, title = confusion_cell(PROBS, LABELS, 3, 5)
    assert indices.tolist() == [3, 1]  # 0.95 before 0.80
    assert "true 3 → predicted 5" in title and "2" in title
    right, _ = confusion_cell(PROBS, LABELS, 5, 5)
    assert right.tolist() == [2]


def test_confusion_cell_matches_the_confusion_matrix_counts():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 500)
    probs = rng.dirichlet(np.ones(10), 500).astype(np.float32)
    confusion = np.bincount(labels * 10 + probs.argmax(1), minlength=100).reshape(10, 10)
    for true in range(10):
        for predicted in range(10):
            indices, _ = confusion_cell(probs, labels, true, predicted)
            assert len(indices) == confusion[true, predicted]
            assert np.all(labels[indices] == true) and np.all(probs[indices].argmax(1) == predicted)


def test_ordering_dispatches_and_a_cell_filter_wins():
    assert ordering("hardest", PROBS, LABELS)[0].tolist() == hardest_first(PROBS, LABELS)[0].tolist()
    assert ordering("digit", PROBS, LABELS, digit=5)[0].tolist() == [2, 5]
    assert ordering("index", PROBS, LABELS, cell=(3, 5))[0].tolist() == [3, 1]
    with pytest.raises(ValueError):
        ordering("random", PROBS, LABELS)


def test_next_order_cycles_through_every_order_and_digit():
    seen = [("index", 0)]
    for _ in range(3 + 10):
        seen.append(next_order(*seen[-1]))
    assert [name for name, _ in seen[:4]] == list(ORDERS)
    assert [d for name, d in seen if name == "digit"] == list(range(10))
    assert seen[-1] == ("index", 0)
    assert next_order("index", 0, step=-1) == ("digit", 9) and next_order("digit", 0, step=-1) == ("mistakes", 0)
