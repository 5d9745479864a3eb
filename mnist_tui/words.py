"""Words a person reads, counted: "1 epoch", "3 epochs" ("3 epoch(s)" read as a form, "1 rows" as a slip)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mnist_tui.training.events import EpochRecord
    from mnist_tui.training.reached import Reached


def counted(n: int, noun: str, plural: str = "") -> str:
    """``1 run``, ``3 runs``, ``10,000 digits``; ``plural`` for the others ("batches")."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def rewound_text(epoch: int) -> str:
    """What a face says of a :class:`~mnist_tui.training.events.Rewound`."""
    if epoch == 0:
        return "started again from the beginning: the earlier attempt's batches are withdrawn"
    return f"resumed from the end of epoch {epoch}: the earlier attempt's batches after it are withdrawn"


def reached_text(reached: Reached) -> str:
    """``99 % at epoch 2, after 7.4 s of training``: a run's first test at its target accuracy (``at epoch
    1.5``: half-way through epoch 2, a test inside it)."""
    where = epochs_text(reached.epoch)
    return f"{reached.target * 100:g} % at epoch {where}, after {reached.seconds:.1f} s of training"


def epochs_text(at: float) -> str:
    """A place on the epoch axis as a person reads it: ``2``, ``1.5`` (1.5013: batch ends fall past the
    half), ``0.67``; a test at 1.9999 reads ``1.99``, not epoch 2's end."""
    shown = round(at, 2)
    if shown == int(shown) and at != shown:
        shown = math.floor(at * 100) / 100
    return f"{shown:g}"


def inner_text(row: EpochRecord) -> str:
    """`` (99.03 % at 1.5)``: an epoch row's tests inside the epoch, for its line; empty where none."""
    tests = ", ".join(f"{e.test_acc:.2%} at {epochs_text(e.at)}" for e in row.inner_evals)
    return f" ({tests})" if tests else ""
