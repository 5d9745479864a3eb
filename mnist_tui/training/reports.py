"""What the trainer tells its listener about the model: its weights and the test set's predictions.

The drawing pad and the model view want fresh weights. A copy is 21,840 floats (~0.03 ms
on the CPU, a device→host copy on CUDA), so after each epoch, and mid-epoch at most every
``WEIGHTS_EVERY_S`` from the batch reports. Under torchrun only rank 0 reports.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from mnist_tui.model import parameter_count
from mnist_tui.sysstats import epoch_system_fields
from mnist_tui.training.events import BatchEnd, DataReady, EpochRecord, ModelWeights, Predictions
from mnist_tui.training.inner_evals import InnerTests, inner_eval_batches
from mnist_tui.training.steps import EpochRun, EpochStats, EvalStats, evaluate
from mnist_tui.words import counted

WEIGHTS_EVERY_S = 3.0  # mid-epoch weight copies for the model view


class ModelReports:
    def __init__(
        self,
        emit: Callable[[object], None],
        model: Callable[[], torch.nn.Module],
        test_x: torch.Tensor,
        test_y: torch.Tensor,
        eval_batch_size: int,
        is_main: bool,
    ) -> None:
        """``model``: the model to report (the trainer's, or its EMA), asked at each report."""
        self.emit, self.model = emit, model
        self.test_x, self.test_y, self.eval_batch_size = test_x, test_y, eval_batch_size
        self.labels = test_y.cpu().numpy()
        self.is_main = is_main
        self._weights_at = time.monotonic()

    def weights(self) -> dict[str, np.ndarray]:
        return {k: v.detach().float().cpu().numpy().copy() for k, v in self.model().state_dict().items()}

    def on_batch(self, event: BatchEnd) -> None:
        """A copy of the weights mid-epoch, when the last one is ``WEIGHTS_EVERY_S`` old."""
        now = time.monotonic()
        if self.is_main and now - self._weights_at >= WEIGHTS_EVERY_S:
            self._weights_at = now
            self.emit(ModelWeights(event.epoch, self.weights(), in_progress=True))

    def after_epoch(self, epoch: int, test: EvalStats | None = None) -> None:
        """The weights, then the predictions (``test``: the epoch's evaluation, else made here)."""
        if not self.is_main:
            return
        self._weights_at = time.monotonic()
        self.emit(ModelWeights(epoch, self.weights()))
        test = test or evaluate(self.model(), self.test_x, self.test_y, self.eval_batch_size)
        self.emit(Predictions(epoch, test.probabilities, self.labels, test.confusion))


def ready_event(trainer) -> DataReady:
    """The run's :class:`DataReady`: what it trains on, where, and what it has done already."""
    return DataReady(
        dataset=trainer.data.name,
        device=str(trainer.device),
        precision=trainer.precision,
        train_size=len(trainer.train_y),
        test_size=len(trainer.test_y),
        batches_per_epoch=trainer.batches,
        parameters=parameter_count(trainer.model),
        notice=trainer.data.notice,
        test_images=trainer.data.test_images.numpy(),
        test_labels=trainer.data.test_labels.numpy(),
        start_epoch=trainer.start_epoch,
        history=tuple(trainer.history),
        epochs=trainer.config.epochs,
        settings=trainer.config.to_dict() | {"precision": trainer.precision, "device": str(trainer.device)},
        world_size=trainer.world.world_size,
    )


def inner_tests_capped(trainer) -> str | None:
    """A line when an epoch has too few batches for ``--tests-per-epoch`` (a test falls on a batch's end:
    10 asked of a 2-batch epoch were 1, without a word)."""
    asked, whole = trainer.config.tests_per_epoch, _whole_epoch(trainer)
    taken = 1 + len(inner_eval_batches(asked, whole, whole, trainer.batch_size))
    if taken >= asked:
        return None
    batches = -(-whole // trainer.batch_size)
    epoch = f"an epoch of {counted(batches, 'batch', 'batches')}"
    return f"--tests-per-epoch {asked}: {epoch} is tested {counted(taken, 'time')} (a test waits for a batch's end)"


def test_inside(trainer, epoch_run: EpochRun, epoch_samples: int) -> InnerTests:
    """The tests an epoch takes inside it (``--tests-per-epoch``), set on ``epoch_run``; rank 0's alone,
    as its epoch-end test is."""
    after = inner_eval_batches(trainer.config.tests_per_epoch, _whole_epoch(trainer), epoch_samples, trainer.batch_size)
    epoch_run.inner_eval_after = after if trainer.world.is_main else ()

    def test_now() -> EvalStats:
        test = evaluate(trainer.evaluated, trainer.test_x, trainer.test_y, trainer.config.eval_batch_size)
        trainer.model.train()  # evaluate left it in eval mode where it is itself the evaluated model (no EMA)
        return test

    epoch_run.inner_eval = tests = InnerTests(test_now, len(trainer.train_y))
    return tests


def _whole_epoch(trainer) -> int:
    """A whole epoch's samples on this rank (its shard under torchrun)."""
    return len(trainer.world.shard(torch.arange(len(trainer.train_y))))


def epoch_record(
    trainer, epoch: int, stats: EpochStats, test: EvalStats, eval_seconds: float, inner_evals: tuple = ()
) -> EpochRecord:
    """A finished epoch's row: its training (``stats``), its test set (``test``) and the machine."""
    return EpochRecord(
        epoch=epoch,
        train_loss=stats.loss,
        train_acc=stats.accuracy,
        test_loss=test.loss,
        test_acc=test.accuracy,
        seconds=round(stats.seconds, 4),
        samples_per_s=round(stats.samples / max(stats.seconds, 1e-9), 1),
        lr=stats.last_lr,  # the group's lr is by now the schedule's next, without the steering
        eval_seconds=round(eval_seconds, 4),
        dataset=trainer.data.name,
        device=str(trainer.device),
        world_size=trainer.world.world_size,
        **epoch_system_fields(trainer.system),
        samples=stats.samples,
        inner_evals=inner_evals,
    )
