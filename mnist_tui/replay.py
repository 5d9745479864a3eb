"""Replay a run folder without training: its history, its model, its predictions (no Textual).

A run folder holds ``metrics.jsonl`` (one row per finished epoch) and ``checkpoint.pt``
(model and history as of the last finished epoch), both written atomically at each epoch
end. A killed run therefore replays up to its last finished epoch; a folder with only
metrics replays its curves (no model: no predictions, confusion or drawing).

:class:`Replayer` has the trainer's shape (``run()`` reports the same plain events to a
listener), so the dashboard shows a replay through exactly the code that shows training.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mnist_tui.config import Config
from mnist_tui.errors import UserError
from mnist_tui.training.events import DataReady, Failed, Finished, Listener, Predictions

MNIST_NAME = "MNIST"  # Datasets.name of the real data, as recorded in each metrics row


@dataclass
class RunRecord:
    """What a run folder holds, read once."""

    run_dir: Path
    history: list[dict[str, Any]]
    epoch: int  # epochs the model saw (0 without a checkpoint)
    model_state: dict[str, Any] | None = field(default=None, repr=False)
    saved_config: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def dataset_name(self) -> str | None:
        return self.history[-1].get("dataset") if self.history else None


def check_run_dir(run_dir: Path) -> Path:
    """Cheap checks for the command line (no torch): a folder holding metrics or a checkpoint."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"--replay {run_dir}: no such run folder")
    if not any((run_dir / name).exists() for name in ("metrics.jsonl", "checkpoint.pt")):
        raise UserError(f"--replay {run_dir}: no metrics.jsonl or checkpoint.pt there, nothing to replay")
    return run_dir


@dataclass(frozen=True)
class ReplayRequest:
    """What the command line hands the dashboard: a folder, and how to make the Config from
    the run's saved one (the CLI's ``build_config``, so explicit options such as
    ``--data-dir`` still win). :meth:`open` loads torch: call it in the worker."""

    run_dir: Path
    make_config: Callable[[dict[str, Any] | None], Config]

    def open(self) -> tuple[RunRecord, Config]:
        record = load_run(self.run_dir)
        return record, self.make_config(record.saved_config)


def _read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    from mnist_tui.training.metrics_log import METRICS_NAME, read_metrics

    try:
        return read_metrics(run_dir)
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
        raise UserError(f"{Path(run_dir) / METRICS_NAME} is not readable ({exc})") from None


def load_run(run_dir: Path) -> RunRecord:
    """Read a run folder; a missing or broken checkpoint leaves a metrics-only record."""
    from mnist_tui.training.checkpoint import CHECKPOINT_NAME, CheckpointError, load_checkpoint

    run_dir = check_run_dir(run_dir)
    rows = _read_metrics(run_dir)
    record = RunRecord(run_dir, rows, 0)
    if (run_dir / CHECKPOINT_NAME).exists():
        try:
            state = load_checkpoint(run_dir)
            record.epoch = int(state["epoch"])
            record.model_state = state["model"]
            record.saved_config = state.get("config")
            saved_history = list(state.get("history", []))
            if len(saved_history) > len(rows):  # killed between writing the checkpoint and the metrics
                record.history = saved_history
        except (CheckpointError, KeyError, TypeError, ValueError) as exc:
            record.notes.append(f"checkpoint not used: {exc}")
    else:
        record.notes.append("no checkpoint in this folder: curves only (no model to predict with)")
    if not record.history and record.model_state is None:
        raise UserError(f"--replay {run_dir}: no metrics.jsonl or checkpoint.pt there, nothing to replay")
    return record


def replay_config(record: RunRecord, config: Config) -> Config:
    """Evaluate on the run's own data: ``auto`` becomes whichever data the run actually trained on,
    so a replay never silently swaps MNIST for synthetic digits or back; nothing is downloaded."""
    if config.dataset == "auto" and record.dataset_name is not None:
        dataset = "mnist" if record.dataset_name == MNIST_NAME else "synthetic"
        return config.with_changes(dataset=dataset, download=False)
    return config.with_changes(download=False)


@dataclass
class ReplayResult:
    epochs_done: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    error: BaseException | None = None


class Replayer:
    """Reports a recorded run as trainer events: DataReady (with the history), Predictions, Finished."""

    def __init__(self, record: RunRecord, config: Config, listener: Listener, datasets=None) -> None:
        self.record = record
        self.config = replay_config(record, config)
        self.listener = listener
        self._datasets = datasets
        self.result = ReplayResult(record.epoch, list(record.history))

    def run(self) -> ReplayResult:
        try:
            self._replay()
        except Exception as exc:  # as in the trainer: every failure is an event, never a dead worker
            self.result.error = exc
            self.listener(Failed(str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}", 0))
        return self.result

    def model(self):
        """The recorded network on the CPU in eval mode, or None (metrics only)."""
        if self.record.model_state is None:
            return None
        from mnist_tui.model import Net

        model = Net(self.config.conv_dropout, self.config.fc_dropout)
        try:
            model.load_state_dict(self.record.model_state)
        except RuntimeError as exc:
            raise UserError(f"the checkpoint is of another model ({str(exc).splitlines()[0]})") from None
        return model.eval()

    def _replay(self) -> None:
        from mnist_tui.model import parameter_count

        record = self.record
        model = self.model()
        notes = list(record.notes)
        data = None
        if model is not None:
            data, problem = self._load_test_data()
            if problem:
                notes.append(problem)
        empty_images = np.zeros((0, 28, 28), dtype=np.uint8)
        cfg = self.config
        train_size = len(data.limited(cfg.limit_train).train_labels) if data is not None else 0
        self.listener(
            DataReady(
                dataset=data.name if data is not None else (record.dataset_name or "unknown"),
                device="cpu (replay)",
                precision="fp32",
                train_size=train_size,
                test_size=len(data.test_labels) if data is not None else 0,
                batches_per_epoch=-(-train_size // cfg.batch_size),
                parameters=parameter_count(model) if model is not None else 0,
                notice="; ".join(notes) or None,
                test_images=data.test_images.numpy() if data is not None else empty_images,
                test_labels=data.test_labels.numpy() if data is not None else np.zeros(0, dtype=np.int64),
                start_epoch=record.epoch + 1,
                history=tuple(record.history),
            )
        )
        if model is not None and data is not None:
            self.listener(self._predictions(model, data))
        best = max((r["test_acc"] for r in record.history), default=None)
        planned = (record.saved_config or {}).get("epochs")
        stopped = planned is not None and len(record.history) < planned
        self.listener(Finished(len(record.history), best, stopped))

    def _load_test_data(self):
        from mnist_tui.data import load_datasets

        cfg = self.config
        try:
            data = self._datasets or load_datasets(cfg.dataset, cfg.data_dir, cfg.seed, download=False)
        except UserError as exc:
            return None, f"test digits not available ({exc}); pass --data-dir to show predictions"
        return data, None

    def _predictions(self, model, data) -> Predictions:
        from mnist_tui.training.steps import evaluate

        stats = evaluate(model, data.test_images, data.test_labels, self.config.eval_batch_size)  # uint8: per batch
        return Predictions(self.record.epoch, stats.probabilities, data.test_labels.numpy(), stats.confusion)
