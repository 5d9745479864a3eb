"""When a run first reached a test accuracy: issue 14's "training time to 99 %".

The time is the training seconds up to the first test at or over the target, at an epoch's end
or inside an epoch (``--tests-per-epoch``): pauses and the test evaluations are not in it (an
epoch row's ``seconds``), so a run paused for a coffee and a run left alone read the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mnist_tui.training.inner_evals import tests_of

if TYPE_CHECKING:
    from mnist_tui.training.events import EpochRecord

TARGET_ACC = 0.99


@dataclass(frozen=True)
class Reached:
    epoch: float  # the first test at the target, on the epoch axis: 2 at epoch 2's end, 1.5013 half-way through it
    seconds: float  # training seconds up to that test
    target: float = TARGET_ACC


def first_reached(history: Iterable[EpochRecord], target: float = TARGET_ACC) -> Reached | None:
    """The first test of ``history`` at ≥ ``target`` accuracy, with the training time up to it;
    None when none is. An epoch given twice (trained again after a resume) counts as its last
    row says."""
    rows = {row.epoch: row for row in history}
    elapsed = 0.0
    for epoch in sorted(rows):
        for test in tests_of(rows[epoch]):
            if test.test_acc >= target:
                return Reached(test.at, elapsed + test.seconds, target)
        elapsed += rows[epoch].seconds
    return None


def best_accuracy(history: Iterable[EpochRecord]) -> float | None:
    """The best test accuracy of ``history``, its tests inside epochs too: a run whose end said "best
    98.95 %; 99 % at epoch 1.5" contradicted itself. None for no rows."""
    return max((test.test_acc for row in history for test in tests_of(row)), default=None)
