"""Words a person reads, counted: "1 epoch", "3 epochs" ("3 epoch(s)" read as a form, "1 rows" as a slip)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
    """``99 % at epoch 2, after 7.4 s of training``: a run's first epoch at its target test accuracy."""
    return f"{reached.target * 100:g} % at epoch {reached.epoch}, after {reached.seconds:.1f} s of training"
