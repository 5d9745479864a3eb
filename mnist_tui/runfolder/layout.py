"""The files of a run folder and the records they hold (format 2; see the README).

| file             | written                                   | by                 |
|------------------|-------------------------------------------|--------------------|
| run.json         | at start, and when the data is loaded     | the writer, atomic |
| status.json      | every second (heartbeat) and on changes   | the writer, atomic |
| batches.jsonl    | appended at each report (≤ 0.1 s apart)   | the writer         |
| metrics.jsonl    | at each epoch end                         | the writer, atomic |
| checkpoint.pt    | at each epoch end and on ``s``            | the trainer, atomic|
| layers.jsonl     | appended at each epoch end; cut on resume | the writer         |
| steering.jsonl   | appended at each change; cut on resume    | the writer         |
| control.json     | when a follower steers                    | a follower, atomic;|
|                  |                                           | under flock(folder)|
| .lock            | held (flock) while a process writes it    | the writer         |

Format 1 (before run.json existed) held only checkpoint.pt and metrics.jsonl: it still replays.
"""

from __future__ import annotations

import functools
import os
from dataclasses import asdict, dataclass
from typing import Any

from mnist_tui import schema
from mnist_tui.config import MAX_EPOCHS
from mnist_tui.runfolder.names import (  # noqa: F401 - the folder's names, here with its records
    BATCHES_NAME,
    CHECKPOINT_NAME,
    CONTROL_NAME,
    FORMAT,
    INFO_NAME,
    LAYERS_NAME,
    METRICS_NAME,
    RUN_FILES,
    STATUS_NAME,
    STEERING_NAME,
)
from mnist_tui.training.control import LR_SCALE_MAX, LR_SCALE_MIN
from mnist_tui.training.events import ENDED, STATES
from mnist_tui.words import counted

HEARTBEAT_S = 1.0  # the writer refreshes status.json this often, paused or not
STALE_S = 5.0  # a heartbeat older than this, with its process gone: the run is lost
STALE_REMOTE_S = 30.0  # another host's process cannot be checked: only the heartbeat's age counts
PID_MAX = 2**31 - 1  # pid_t: os.kill raised OverflowError on a status.json's pid of 1e20


@dataclass(frozen=True)
class RunInfo:
    """``run.json``: what the run is. ``config`` is ``Config.to_dict()``; the resolved fields
    (dataset name, device, precision, sizes) are filled once the data is loaded."""

    config: dict[str, Any]
    created: float  # Unix seconds
    host: str
    world_size: int = 1
    dataset: str = ""
    device: str = ""
    precision: str = ""
    parameters: int = 0
    train_size: int = 0
    test_size: int = 0
    batches_per_epoch: int = 0
    epochs_kept: int = 0  # written by a resumed run: the finished epochs it kept (it trains from the next)
    # the run's first start, kept by a resume (``created`` is this writer's: a follower tells writers by it);
    # 0 in folders written before this field, whose ``created`` is the only start they know
    started: float = 0.0
    format: int = FORMAT

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def first_start(self) -> float:
        """When the run first started: ``started``, or ``created`` in a folder that lacks it."""
        return self.started or self.created

    @classmethod
    def from_json(cls, row: Any) -> RunInfo:
        row = schema.mapping(row, "run.json")
        fmt = schema.integer(row, "format", minimum=1)
        if fmt > FORMAT:
            raise schema.RecordError(f"format {fmt} is newer than this mnist-tui reads ({FORMAT}): upgrade it")
        config = row.get("config")
        if not isinstance(config, dict):
            raise schema.RecordError("field 'config' is not an object")
        return cls(
            config=config,
            created=schema.number(row, "created", low=0),
            host=schema.text(row, "host", default=""),
            world_size=schema.integer(row, "world_size", minimum=1, default=1, maximum=schema.MAX_COUNT),
            dataset=schema.text(row, "dataset", default=""),
            device=schema.text(row, "device", default=""),
            precision=schema.text(row, "precision", default=""),
            parameters=schema.integer(row, "parameters", minimum=0, default=0, maximum=schema.MAX_COUNT),
            train_size=schema.integer(row, "train_size", minimum=0, default=0, maximum=schema.MAX_COUNT),
            test_size=schema.integer(row, "test_size", minimum=0, default=0, maximum=schema.MAX_COUNT),
            batches_per_epoch=schema.integer(row, "batches_per_epoch", minimum=0, default=0, maximum=schema.MAX_COUNT),
            epochs_kept=schema.integer(row, "epochs_kept", minimum=0, default=0, maximum=MAX_EPOCHS),
            started=schema.number(row, "started", low=0, default=0.0),
            format=fmt,
        )


@dataclass(frozen=True)
class RunStatus:
    """``status.json``: where the run is now, and whether its writer is alive."""

    state: str
    pid: int
    host: str
    epochs: int  # the plan
    epochs_done: int
    epoch: int  # the epoch in progress (or the last one)
    batch: int
    batches_per_epoch: int
    heartbeat: float  # Unix seconds, refreshed every HEARTBEAT_S while the writer lives
    samples_per_s: float = 0.0
    message: str = ""
    world_size: int = 1
    lr_scale: float = 1.0  # steering on top of the schedule
    control_seq: int = 0  # the newest control.json request the writer has taken (0: none, or an older writer)
    pid_ns: str = ""  # the writer's PID namespace: a reader in the same one may trust a check of ``pid``
    pid_start: int = 0  # when the writer's process started (/proc's clock ticks since boot; 0: unknown)
    format: int = FORMAT

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def cut_note(self, rows: int) -> str | None:
        """Where an ended run counts more epochs than its ``rows`` epoch rows (a torn last row, a
        file cut or removed): say so. The workspace said it; a replay showed fewer silently."""
        if self.state not in ENDED or self.epochs_done <= rows:
            return None
        return f"{METRICS_NAME} holds {rows} of the {self.epochs_done} epochs {STATUS_NAME} counts"

    def epochs_note(self, epochs: list[int]) -> str | None:
        """Where an ended run's rows (``epochs``, in order) skip epochs or go past the count it
        ended at: said (rows of epochs 1 and 7 of a 2-epoch run replayed as 7 epochs, silently)."""
        if self.state not in ENDED or not epochs:
            return None
        missing = sorted(set(range(1, epochs[-1] + 1)) - set(epochs))
        gaps = [f"no row of epoch{'s' if len(missing) > 1 else ''} {_span(missing)}"] if missing else []
        if epochs[-1] > self.epochs_done:
            past = f"past the {counted(self.epochs_done, 'epoch')} {STATUS_NAME} counts"
            gaps.append(f"a row of epoch {epochs[-1]}, {past}")
        return f"{METRICS_NAME} holds {' and '.join(gaps)}" if gaps else None

    @classmethod
    def from_json(cls, row: Any) -> RunStatus:
        row = schema.mapping(row, "status.json")
        state = schema.text(row, "state")
        if state not in STATES:
            raise schema.RecordError(f"field 'state' is {state!r}, not one of {', '.join(STATES)}")
        return cls(
            state=state,
            pid=schema.integer(row, "pid", minimum=0, maximum=PID_MAX),
            host=schema.text(row, "host"),
            epochs=schema.integer(row, "epochs", minimum=0, maximum=MAX_EPOCHS),
            epochs_done=schema.integer(row, "epochs_done", minimum=0, maximum=MAX_EPOCHS),
            epoch=schema.integer(row, "epoch", minimum=0, maximum=MAX_EPOCHS),
            batch=schema.integer(row, "batch", minimum=0, maximum=schema.MAX_COUNT),
            batches_per_epoch=schema.integer(row, "batches_per_epoch", minimum=0, maximum=schema.MAX_COUNT),
            heartbeat=schema.number(row, "heartbeat", low=0),
            samples_per_s=schema.number(row, "samples_per_s", low=0, default=0.0),
            message=schema.text(row, "message", default=""),
            world_size=schema.integer(row, "world_size", minimum=1, default=1, maximum=schema.MAX_COUNT),
            lr_scale=schema.number(row, "lr_scale", low=0, default=1.0),
            control_seq=schema.integer(row, "control_seq", minimum=0, default=0),
            pid_ns=schema.text(row, "pid_ns", default=""),
            pid_start=schema.integer(row, "pid_start", minimum=0, default=0),
            format=schema.integer(row, "format", minimum=1, default=FORMAT),
        )


@dataclass(frozen=True)
class ControlRequest:
    """``control.json``: what a follower asks of the writer. The writer acts on a ``seq`` higher
    than any it has seen (so a request left from an earlier run is never replayed)."""

    seq: int
    paused: bool | None = None  # None: not asked (a steering request leaves the pause as it is)
    stop: bool = False
    lr_scale: float | None = None  # steering: the lr is the schedule's × this (None: not asked)
    epochs: int | None = None  # steering: the plan (None: not asked)

    def to_json(self) -> dict[str, Any]:
        asked = (("paused", self.paused), ("lr_scale", self.lr_scale), ("epochs", self.epochs))
        return {"format": FORMAT, "seq": self.seq, "stop": self.stop, **{k: v for k, v in asked if v is not None}}

    @classmethod
    def from_json(cls, row: Any) -> ControlRequest:
        row = schema.mapping(row, "control.json")
        flags = {}
        for name in ("paused", "stop"):
            value = row.get(name, None if name == "paused" else False)
            if value is not None and not isinstance(value, bool):
                raise schema.RecordError(f"field {name!r} is not true or false")
            flags[name] = value
        return cls(
            seq=schema.integer(row, "seq", minimum=0),
            lr_scale=schema.number(row, "lr_scale", low=LR_SCALE_MIN, high=LR_SCALE_MAX, default=None),
            # past it, the run went on and no --resume took its saved plan again
            epochs=schema.integer(row, "epochs", minimum=1, default=None, maximum=MAX_EPOCHS),
            **flags,
        )


def proc_stat(pid: int) -> list[str]:
    """/proc/PID/stat's fields from the third (its state) on; [] where /proc does not say."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rpartition(")")[2].split()  # after the name, which may hold spaces
    except OSError:
        return []


def started_at(fields: list[str]) -> int | None:
    """When the process of :func:`proc_stat`'s ``fields`` started, in clock ticks since boot (the
    22nd field). With the pid it names one process: ids are reused, and a writer's pid taken by
    another process kept a dead run "training" for ever."""
    try:
        return int(fields[19])  # field 22; the list starts at field 3
    except (IndexError, ValueError):
        return None


def process_start(pid: int) -> int | None:
    return started_at(proc_stat(pid))


@functools.cache  # a process keeps its namespace and its machine its boot: read once, not per poll
def pid_namespace() -> str:
    """This boot of this machine's PID namespace: ``boot_id/pid:[inode]`` ("" where Linux's /proc
    does not say). Two containers can share a host name and a run folder yet not each other's
    process ids; and the first namespace's inode is the same on every machine, hence the boot id."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            return f"{f.read().strip()}/{os.readlink('/proc/self/ns/pid')}"
    except OSError:
        return ""


def _span(numbers: list[int]) -> str:
    """``2-6`` for a run of numbers, else the first few: ``2, 4, 9 …``."""
    if numbers == list(range(numbers[0], numbers[-1] + 1)) and len(numbers) > 2:
        return f"{numbers[0]}-{numbers[-1]}"
    return ", ".join(map(str, numbers[:5])) + (" …" if len(numbers) > 5 else "")
