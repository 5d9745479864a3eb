"""Plain events the trainer reports. Listeners (the TUI, the headless reporter) get these.

Events carry numbers and numpy arrays, never live tensors, so a listener on another
thread can keep them without racing the training loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Union

import numpy as np


@dataclass(frozen=True)
class DataReady:
    """Data and model are loaded; training is about to start."""

    dataset: str
    device: str
    precision: str
    train_size: int
    test_size: int
    batches_per_epoch: int
    parameters: int
    notice: str | None
    test_images: np.ndarray = field(repr=False)  # uint8 (N, 28, 28)
    test_labels: np.ndarray = field(repr=False)  # int64 (N,)
    start_epoch: int = 1
    history: tuple = ()  # epoch rows already done (a resumed run)


@dataclass(frozen=True)
class BatchEnd:
    """One or more batches finished since the last report.

    ``losses`` holds each batch's mean loss, in order; reading them costs one host sync
    per report rather than one per batch.
    """

    epoch: int
    batch: int  # 1-based index of the last batch in this report
    batches_per_epoch: int
    losses: tuple[float, ...]
    samples_per_s: float
    samples_seen: int  # in this epoch


@dataclass(frozen=True)
class EpochEnd:
    epoch: int
    epochs: int
    train_loss: float
    train_acc: float
    test_loss: float
    test_acc: float
    seconds: float
    samples_per_s: float
    lr: float


@dataclass(frozen=True)
class Predictions:
    """The model's softmax over the whole test set after an epoch (or on a resumed model)."""

    epoch: int
    probabilities: np.ndarray = field(repr=False)  # float32 (N, 10)
    labels: np.ndarray = field(repr=False)  # int64 (N,)
    confusion: np.ndarray = field(repr=False)  # int64 (10, 10): [true, predicted]


@dataclass(frozen=True)
class Paused:
    epoch: int


@dataclass(frozen=True)
class Resumed:
    epoch: int


@dataclass(frozen=True)
class Finished:
    epochs_done: int
    best_test_acc: float | None
    stopped: bool  # True when stopped early by the control


@dataclass(frozen=True)
class Failed:
    message: str
    epochs_done: int


Event = Union[DataReady, BatchEnd, EpochEnd, Predictions, Paused, Resumed, Finished, Failed]
Listener = Callable[[Event], None]
