"""One run folder's row in the workspace, made from what its files say (pure: no file access).

Values are taken only when they have the right type, so a foreign or hand-edited ``run.json``
shows blanks, never a crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnist_tui.config import dataset_option_of
from mnist_tui.plan import Plan
from mnist_tui.training.events import STATES, EpochRecord
from mnist_tui.training.reached import best_accuracy, first_reached

# A row's states: a run's, or its folder's when it cannot be read (broken) or told (unknown).
ROW_STATES = (*STATES, "broken", "unknown")


@dataclass(frozen=True)
class RunSummary:
    """One row of the workspace. Unknown values are None (or "" for text)."""

    name: str  # the folder, relative to the workspace's folder
    path: Path
    state: str = "unknown"
    dataset: str = ""
    train_size: int | None = None  # training samples per epoch (less than the dataset under --limit-train)
    recipe: str = ""
    batch_size: int | None = None
    lr: float | None = None
    schedule: str = ""
    conv_dropout: float | None = None
    fc_dropout: float | None = None
    precision: str = ""
    seed: int | None = None
    world_size: int | None = None
    device: str = ""
    tests_per_epoch: int | None = None  # test passes an epoch (1: at its end only; sprint: 2)
    epochs_done: int = 0
    epochs_planned: int | None = None
    best_test_acc: float | None = None
    last_test_loss: float | None = None
    time_to_99: float | None = None  # training seconds (pauses excluded) until test acc ≥ 99 %
    samples_per_s: float | None = None  # samples over training seconds, the whole run
    started: float | None = None  # Unix seconds: run.json's "created", else the folder's mtime
    format: int = 0  # 1 or 2; 0 when it cannot be told
    problem: str = ""  # set: the folder could not be read as a run (the row is greyed)
    note: str = ""  # something read with gaps (skipped rows, a damaged status file)
    plan: Plan | None = None  # the epochs as a person reads them: sprint's 3 are 2.5 (None: as planned)

    @property
    def epochs_trained(self) -> float:
        """Epochs of data trained: sprint's 3 epochs are 2.5 (the table read "3/3" where its replay
        and the headless report said "2.5 epochs")."""
        return self.plan.trained_length(self.epochs_done) if self.plan else float(self.epochs_done)

    @property
    def epochs_length(self) -> int | float | None:
        """The plan's epochs of data: 3, or 2.5 for a sprint; None when the plan is not known."""
        if self.plan is None or not self.plan.partial:
            return self.epochs_planned
        return self.plan.length

    @property
    def settings(self) -> dict[str, Any]:
        """The values that define the run (what a filter's substring and the compare panel see)."""
        return {name: getattr(self, name) for name in SETTINGS}


SETTINGS = (
    "dataset",
    "train_size",
    "recipe",
    "batch_size",
    "lr",
    "schedule",
    "conv_dropout",
    "fc_dropout",
    "precision",
    "seed",
    "world_size",
    "device",
    "tests_per_epoch",
)


def typed(config: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = config.get(name)
    if isinstance(value, bool) or not isinstance(value, kind):
        return None if kind is not str else ""
    return value


def settings_from_config(config: dict[str, Any]) -> dict[str, Any]:
    """What run.json's config says, each value kept only when it has the right type."""
    return dict(
        recipe=typed(config, "recipe", str),
        batch_size=typed(config, "batch_size", int),
        lr=typed(config, "lr", (int, float)),
        schedule=typed(config, "schedule", str),
        conv_dropout=typed(config, "conv_dropout", (int, float)),
        fc_dropout=typed(config, "fc_dropout", (int, float)),
        precision=typed(config, "precision", str),
        seed=typed(config, "seed", int),
        device=typed(config, "device", str),
        dataset=typed(config, "dataset", str),
        # a config from before the option tested at epoch ends only
        tests_per_epoch=typed(config, "tests_per_epoch", int) if "tests_per_epoch" in config else 1,
    )


def results(records: list[EpochRecord]) -> dict[str, Any]:
    if not records:
        return {}
    reached = first_reached(records)
    last = records[-1]
    return dict(
        epochs_done=last.epoch,
        best_test_acc=best_accuracy(records),
        last_test_loss=last.test_loss,
        time_to_99=reached.seconds if reached else None,
        samples_per_s=overall_rate(records),
        dataset=last.dataset,
        device=last.device,
        world_size=last.world_size,
    )


def plan_of(planned: int | None, info: Any, records: list[EpochRecord]) -> Plan | None:
    """The plan of a run with ``planned`` epochs, from its run.json (``info``: its share of a
    partial last epoch, its training samples) and rows (a sprint resumed for more epochs)."""
    if not planned:
        return None
    config = info.config if info else {}
    if config.get("epochs") != planned:  # steered (`a`, a follower's): run.json keeps its first plan,
        config = {}  # whose share of a last epoch went with it (a sprint steered to 5 read 4.5); the rows tell
    return Plan.of(planned, config, records, info.train_size if info else 0)


def overall_rate(records: list[EpochRecord]) -> float:
    """Samples over training seconds for the whole run: a mean of the epochs' rates counted a
    short slow epoch as much as a long fast one (43k, 3.3k and 2.4k samples/s averaged 16k for a
    run that trained 30k samples in 7.5 s: 4k)."""
    seconds = sum(r.seconds for r in records)
    if seconds <= 0:
        return sum(r.samples_per_s for r in records) / len(records)
    return sum(r.samples_per_s * r.seconds for r in records) / seconds


def short_dataset(name: str) -> str:
    return dataset_option_of(name) or name


def state_without_status(done: int, planned: int | None) -> str:
    """Format 1 (or a folder whose status file is gone): told from epochs done and planned."""
    if planned and done >= planned:
        return "finished"
    if planned and done:
        return "stopped"
    return "unknown"
