"""Plain events every run source reports (the trainer, the replayer, the follower).

Faces (the dashboard, the headless reporter) dispatch on the event's type. Events carry
numbers and numpy arrays, never live tensors, so a listener on another thread can keep
them without racing the training loop. :class:`EpochRecord` and :class:`BatchEnd` are also
the rows of ``metrics.jsonl`` and ``batches.jsonl``: one type per concept, on disk and in
memory, each with its one schema (``from_json``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

from mnist_tui import schema
from mnist_tui.config import MAX_EPOCHS
from mnist_tui.insight.layer_records import LayerStatsRecord
from mnist_tui.training.inner_evals import InnerEval, inner_evals_of
from mnist_tui.training.reached import Reached, best_accuracy, first_reached

if TYPE_CHECKING:  # annotations only: numpy costs the dashboard's first frame ~0.1 s
    import numpy as np

# Run states, as the status file and StateChanged name them. "lost": the writer's heartbeat is
# stale and its process is gone; "waiting": a followed folder holds no run yet.
STATES = ("waiting", "loading", "ready", "training", "paused", "finished", "stopped", "failed", "lost")
ENDED = ("finished", "stopped", "failed", "lost")
LIVE = ("loading", "ready", "training", "paused")  # a writer is at work on the run


@dataclass(frozen=True)
class EpochRecord:
    """One finished epoch: the event, a row of the history, a line of ``metrics.jsonl``."""

    epoch: int
    train_loss: float
    train_acc: float
    test_loss: float
    test_acc: float
    seconds: float  # training time, pauses excluded
    samples_per_s: float
    lr: float  # the epoch's last batch's, steering included
    eval_seconds: float = 0.0
    dataset: str = ""
    device: str = ""
    world_size: int = 1
    cpu_percent: float | None = None  # the process over the epoch (100 = one core busy)
    rss_mb: float | None = None  # resident memory at the epoch's end
    gpu_mem_used_mb: float | None = None
    gpu_util_percent: float | None = None
    samples: int | None = None  # trained, every rank's; fewer than the train size in a partial epoch (sprint's half)
    inner_evals: tuple[InnerEval, ...] = ()  # tests inside the epoch (--tests-per-epoch), in order

    def to_json(self) -> dict[str, Any]:
        row = {k: v for k, v in dataclasses.asdict(self).items() if v is not None or k in REQUIRED_FIELDS}
        del row["inner_evals"]  # written only where there are some: every other row stays as it was
        return row | ({"inner_evals": [e.to_json() for e in self.inner_evals]} if self.inner_evals else {})

    @classmethod
    def from_json(cls, row: Any) -> EpochRecord:
        """Strict for the numbers a plot or a table shows; lenient (defaults) for fields that
        format 1 folders lack. Raises :class:`schema.RecordError` naming the field."""
        row = schema.mapping(row, "an epoch row")
        return cls(
            epoch=schema.integer(row, "epoch", minimum=1, maximum=MAX_EPOCHS),
            train_loss=schema.number(row, "train_loss", low=0),
            train_acc=schema.number(row, "train_acc", 0, 1),
            test_loss=schema.number(row, "test_loss", low=0),
            test_acc=schema.number(row, "test_acc", 0, 1),
            seconds=schema.number(row, "seconds", low=0),
            samples_per_s=schema.number(row, "samples_per_s", low=0),
            lr=schema.number(row, "lr", low=0, default=0.0),
            eval_seconds=schema.number(row, "eval_seconds", low=0, default=0.0),
            dataset=schema.text(row, "dataset", default=""),
            device=schema.text(row, "device", default=""),
            world_size=schema.integer(row, "world_size", minimum=1, default=1, maximum=schema.MAX_COUNT),
            cpu_percent=schema.number(row, "cpu_percent", low=0, default=None),
            rss_mb=schema.number(row, "rss_mb", low=0, default=None),
            gpu_mem_used_mb=schema.number(row, "gpu_mem_used_mb", low=0, default=None),
            gpu_util_percent=schema.number(row, "gpu_util_percent", low=0, default=None),
            samples=schema.integer(row, "samples", minimum=1, default=None, maximum=schema.MAX_COUNT),
            inner_evals=inner_evals_of(row, row["epoch"], row["seconds"]),
        )


REQUIRED_FIELDS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "seconds", "samples_per_s", "lr")


@dataclass(frozen=True)
class BatchEnd:
    """One or more batches finished since the last report: also one line of ``batches.jsonl``.

    ``losses`` and ``lrs`` hold each batch's mean loss and learning rate, in order; reading
    the losses costs one host sync per report rather than one per batch. ``time`` is the
    wall-clock time of the report (Unix seconds).
    """

    epoch: int
    batch: int  # 1-based index of the last batch in this report
    batches_per_epoch: int
    losses: tuple[float, ...]
    samples_per_s: float
    samples_seen: int  # in this epoch
    lrs: tuple[float, ...] = ()
    time: float = 0.0

    @property
    def first_batch(self) -> int:
        return self.batch - len(self.losses) + 1

    def positions(self, whole_epoch_batches: int = 0) -> tuple[float, ...]:
        """Each batch's place on an axis of epochs done (epoch 1's batch 59 of 118 is 0.5), by a whole epoch's
        batches where known: sprint's half epoch, by its own, spread over a whole one (x 2 → 3 for 2.5)."""
        per_epoch = max(self.batches_per_epoch, whole_epoch_batches, 1)
        return tuple(self.epoch - 1 + (self.first_batch + i) / per_epoch for i in range(len(self.losses)))

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"losses": list(self.losses), "lrs": list(self.lrs)}

    @classmethod
    def from_json(cls, row: Any) -> BatchEnd:
        row = schema.mapping(row, "a batch row")
        losses = schema.numbers(row, "losses")
        if not losses:
            raise schema.RecordError("field 'losses' is empty")
        record = cls(
            epoch=schema.integer(row, "epoch", minimum=1, maximum=MAX_EPOCHS),
            batch=schema.integer(row, "batch", minimum=1, maximum=schema.MAX_COUNT),
            batches_per_epoch=schema.integer(row, "batches_per_epoch", minimum=1, maximum=schema.MAX_COUNT),
            losses=losses,
            samples_per_s=schema.number(row, "samples_per_s", low=0),
            samples_seen=schema.integer(row, "samples_seen", minimum=0, maximum=schema.MAX_COUNT),
            lrs=schema.numbers(row, "lrs", length=len(losses)),
            time=schema.number(row, "time", low=0),
        )
        if record.batch > record.batches_per_epoch or record.first_batch < 1:
            raise schema.RecordError(f"field 'batch' ({record.batch}) does not fit its losses and epoch length")
        return record


@dataclass(frozen=True)
class DataReady:
    """Data and model are loaded (or a recorded run is open); batches and epochs follow."""

    dataset: str
    device: str  # where the run trains or trained ("cuda:0"), also for a replay or a follower
    precision: str
    train_size: int
    test_size: int
    batches_per_epoch: int
    parameters: int
    notice: str | None
    test_images: np.ndarray = field(repr=False)  # uint8 (N, 28, 28)
    test_labels: np.ndarray = field(repr=False)  # int64 (N,)
    start_epoch: int = 1
    history: tuple[EpochRecord, ...] = ()  # epochs already done (a resumed or recorded run)
    epochs: int = 0  # the plan
    settings: dict[str, Any] = field(default_factory=dict)  # Config.to_dict() of the run
    world_size: int = 1
    batches_recorded: bool = True  # False: a format-1 folder, whose batch losses were never kept


@dataclass(frozen=True)
class Predictions:
    """The model's softmax over the whole test set after an epoch (or of a loaded model)."""

    epoch: int
    probabilities: np.ndarray = field(repr=False)  # float32 (N, 10)
    labels: np.ndarray = field(repr=False)  # int64 (N,)
    confusion: np.ndarray = field(repr=False)  # int64 (10, 10): [true, predicted]


@dataclass(frozen=True)
class ModelWeights:
    """A copy of the network's weights (CPU numpy) after an epoch, or (``in_progress``) during one,
    every few seconds: for drawing and the model view."""

    epoch: int
    weights: dict[str, np.ndarray] = field(repr=False)
    in_progress: bool = False


@dataclass(frozen=True)
class StateChanged:
    """The run's state changed (see STATES); ``detail`` is a short human line."""

    state: str
    detail: str = ""


@dataclass(frozen=True)
class Steered:
    """Someone steered the run (also one line of ``steering.jsonl``): from batch ``batch`` of
    ``epoch`` the lr is the schedule's × ``lr_scale`` and the plan is ``epochs`` epochs (the
    trainer records the plan in force; 0 in folders written before it did)."""

    epoch: int
    batch: int  # 0: at the epoch's end
    what: str
    lr_scale: float
    epochs: int
    time: float

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def kept_on_resume(self, epochs_done: int) -> bool:
        """Whether a run resumed from epoch ``epochs_done``'s checkpoint keeps this change: those
        of its finished epochs, less a plan change at the last one's end (batch 0), which came
        after the checkpoint (the resumed run trains the checkpoint's plan)."""
        return self.epoch < epochs_done or (self.epoch == epochs_done and self.batch > 0)

    @classmethod
    def from_json(cls, row: Any) -> Steered:
        row = schema.mapping(row, "a steering row")
        return cls(
            epoch=schema.integer(row, "epoch", minimum=0, maximum=MAX_EPOCHS),
            batch=schema.integer(row, "batch", minimum=0, maximum=schema.MAX_COUNT),
            what=schema.text(row, "what"),
            lr_scale=schema.number(row, "lr_scale", low=0),
            epochs=schema.integer(row, "epochs", minimum=0, maximum=MAX_EPOCHS),
            time=schema.number(row, "time", low=0),
        )


@dataclass(frozen=True)
class PlanChanged:
    """The run's plan now ends at ``epochs`` (epochs added to a run, or a followed run resumed)."""

    epochs: int


@dataclass(frozen=True)
class Rewound:
    """A followed run was started again from the end of ``epoch`` (resumed after a kill or a
    stop): what was reported after that epoch, the earlier attempt's batches and steering, is
    withdrawn."""

    epoch: int


@dataclass
class RunResult:
    """How a source's ``run()`` ended (the trainer's, a replay's, a follower's): the epochs done,
    whether it was stopped, the error that ended it; the trainer's also holds its epochs' rows."""

    epochs_done: int = 0
    error: BaseException | None = None
    stopped: bool = False
    history: list[EpochRecord] = field(default_factory=list)


@dataclass(frozen=True)
class Notice:
    """Something a face should tell the user that is not the run's state: e.g. a follower skipped
    damaged rows of a log (a replay says it in its DataReady's ``notice``)."""

    text: str


@dataclass(frozen=True)
class Finished:
    """The source has no more to report. ``still``: the writer's state (training, paused…) when a
    source ends before the run does, as a replay of a run another process still writes."""

    epochs_done: int
    best_test_acc: float | None
    stopped: bool  # True when stopped before the plan's end
    still: str = ""
    reached: Reached | None = None  # the first test at 99 % accuracy, and the training time to it

    @classmethod
    def of(
        cls, history: list[EpochRecord] | tuple[EpochRecord, ...], epochs_done: int, stopped: bool, still: str = ""
    ) -> Finished:
        """The end of a run whose epochs' rows are ``history``: its best accuracy and time to 99 %."""
        return cls(epochs_done, best_accuracy(history), stopped, still, first_reached(history))


@dataclass(frozen=True)
class Failed:
    message: str
    epochs_done: int


Event = Union[
    DataReady,
    BatchEnd,
    EpochRecord,
    Predictions,
    ModelWeights,
    LayerStatsRecord,  # per-layer statistics after an epoch (mnist_tui.insight)
    StateChanged,
    PlanChanged,
    Steered,
    Rewound,
    Notice,
    Finished,
    Failed,
]
Listener = Callable[[Event], None]
