"""Test evaluations inside an epoch (``--tests-per-epoch``): where a run takes them, and the record
each one leaves in its epoch's row of ``metrics.jsonl``.

A run tests its model at each epoch's end; with ``tests_per_epoch`` N > 1 also after each Nth of
the epoch's data. ``--recipe sprint`` takes 2: its half epochs. Measured on a 2-core Intel Xeon
(bf16, benchmarks/sprint_results.md, round 7): the sprint's EMA model is at 99.03 and 99.02 %
after 1.5 epochs for seeds 0 and 1 (98.92 for seed 2), where epoch ends alone first found 99 %
at epoch 2: 90,000 samples trained to 99 % rather than 120,000. The evaluation pauses the
training clock, as a pause does, and draws no random number, so the run trains the very same
weights with or without it (a test proves it).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mnist_tui import schema
from mnist_tui.config import MAX_EPOCHS

if TYPE_CHECKING:
    from mnist_tui.training.events import EpochRecord


@dataclass(frozen=True)
class InnerEval:
    """One test evaluation inside an epoch: ``at``, its place on the epoch axis (epoch 2 runs from 1 to
    2: its half-way test is at 1.5, as the plots draw it), the test set's loss and accuracy there,
    and the epoch's training seconds up to it."""

    at: float
    test_loss: float
    test_acc: float
    seconds: float

    def to_json(self) -> dict[str, float]:
        return {"at": self.at, "test_loss": self.test_loss, "test_acc": self.test_acc, "seconds": self.seconds}

    @classmethod
    def from_json(cls, row: Any) -> InnerEval:
        row = schema.mapping(row, "an inner evaluation")
        return cls(
            at=schema.number(row, "at", low=0, high=MAX_EPOCHS),
            test_loss=schema.number(row, "test_loss", low=0),
            test_acc=schema.number(row, "test_acc", 0, 1),
            seconds=schema.number(row, "seconds", low=0),
        )


def inner_evals_of(row: dict[str, Any], epoch: int, seconds: float) -> tuple[InnerEval, ...]:
    """An epoch row's ``inner_evals`` (none where it has no such field): inside ``epoch``, in order,
    each within the epoch's training ``seconds`` (the time to 99 % adds them up)."""
    value = row.get("inner_evals", [])
    if not isinstance(value, list):
        raise schema.RecordError("field 'inner_evals' is not a list")
    evals = tuple(InnerEval.from_json(item) for item in value)
    if any(not epoch - 1 < e.at < epoch for e in evals):
        raise schema.RecordError(f"field 'inner_evals' holds a point outside epoch {epoch}")
    if any(a.at >= b.at or a.seconds > b.seconds for a, b in itertools.pairwise(evals)):
        raise schema.RecordError("field 'inner_evals' is out of order")
    if any(e.seconds > seconds for e in evals):
        raise schema.RecordError("field 'inner_evals' holds a test after its epoch's training seconds")
    return evals


def tests_of(row: EpochRecord) -> tuple[InnerEval, ...]:
    """Every test of an epoch's row, in order: those inside the epoch, then its end's (``at`` the epoch,
    ``seconds`` the epoch's): what the time to 99 %, the best accuracy and the compare plots read."""
    return (*row.inner_evals, InnerEval(row.epoch, row.test_loss, row.test_acc, row.seconds))


def inner_eval_batches(tests_per_epoch: int, whole_epoch: int, epoch_samples: int, batch_size: int) -> tuple[int, ...]:
    """After how many of an epoch's batches a run tests inside it: the first batch end at or past
    each 1/N of a whole epoch (``whole_epoch`` samples), before the epoch's own end
    (``epoch_samples``: sprint's half last epoch has its half-way test as its end)."""
    last = -(-epoch_samples // batch_size)
    points: list[int] = []
    for k in range(1, tests_per_epoch):
        batches = max(1, -(-(k * whole_epoch) // (tests_per_epoch * batch_size)))
        if batches < last and batches not in points:
            points.append(batches)
    return tuple(points)


class InnerTests:
    """The tests one epoch takes inside it: called by the training loop (``EpochRun.inner_eval``),
    handed over with the epoch's row (:meth:`take`). ``test()`` evaluates the model → an object
    with ``loss`` and ``accuracy`` (:class:`~mnist_tui.training.steps.EvalStats`)."""

    def __init__(self, test: Callable[[], Any], train_size: int) -> None:
        self.test, self.train_size = test, train_size
        self.taken: list[InnerEval] = []
        self.seconds = 0.0  # the tests' own time, for the row's eval_seconds

    def __call__(self, epoch: int, samples: int, trained_s: float) -> None:
        started = time.perf_counter()
        result = self.test()
        # four decimals, rounded down: 59,998 of 60,000 samples is 1.9999 of epoch 2, not its end (2.0)
        at = max(math.floor((epoch - 1 + samples / self.train_size) * 10_000) / 10_000, epoch - 1 + 1e-4)
        self.taken.append(InnerEval(at, result.loss, result.accuracy, round(trained_s, 4)))
        self.seconds += time.perf_counter() - started

    def take(self) -> tuple[tuple[InnerEval, ...], float]:
        """This epoch's tests and their seconds; the next epoch starts with none (a stopped epoch's
        go with it: its row is never written)."""
        taken, seconds = tuple(self.taken), self.seconds
        self.taken, self.seconds = [], 0.0
        return taken, seconds
