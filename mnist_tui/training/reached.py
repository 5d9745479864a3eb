"""When a run first reached a test accuracy: issue 14's "training time to 99 %".

The time is the training seconds of the epochs up to and including the first whose test
accuracy is at or over the target: pauses and the test evaluations are not in it (an epoch
row's ``seconds``), so a run paused for a coffee and a run left alone read the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mnist_tui.training.events import EpochRecord

TARGET_ACC = 0.99


@dataclass(frozen=True)
class Reached:
    epoch: int  # the first epoch whose test accuracy reached the target
    seconds: float  # training seconds up to that epoch's end
    target: float = TARGET_ACC


def first_reached(history: Iterable[EpochRecord], target: float = TARGET_ACC) -> Reached | None:
    """The first epoch of ``history`` at ≥ ``target`` test accuracy, with the training time up to
    it; None when none is. An epoch given twice (trained again after a resume) counts as its
    last row says."""
    rows = {row.epoch: row for row in history}
    elapsed = 0.0
    for epoch in sorted(rows):
        elapsed += rows[epoch].seconds
        if rows[epoch].test_acc >= target:
            return Reached(epoch, elapsed, target)
    return None
