"""Reading a run folder, also while another process writes it (no torch, no Textual).

Every row goes through its record's ``from_json``: a row that does not fit is skipped and
counted, never a crash. A last line without its newline is a write in progress (the writer
appends whole lines, but a reader can catch one half-written): it is left for the next read.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mnist_tui.errors import UserError
from mnist_tui.files import open_regular
from mnist_tui.runfolder.layout import (
    BATCHES_NAME,
    CHECKPOINT_NAME,
    CONTROL_NAME,
    INFO_NAME,
    METRICS_NAME,
    STALE_REMOTE_S,
    STALE_S,
    STATUS_NAME,
    ControlRequest,
    RunInfo,
    RunStatus,
    pid_namespace,
    proc_stat,
    started_at,
)
from mnist_tui.schema import RecordError
from mnist_tui.training.events import ENDED, BatchEnd, EpochRecord
from mnist_tui.words import counted

MAX_JSON_BYTES = 1 << 20  # run.json, status.json, control.json are a few hundred bytes


@dataclass
class Rows:
    """Valid records of a JSON-lines file, and what was skipped (each reason, up to a bound)."""

    records: list = field(default_factory=list)
    skipped: int = 0
    problems: list[str] = field(default_factory=list)
    torn: bool = False  # a last line without its newline, not whole JSON: a write in progress, or damage
    repeated: int = 0  # read_metrics: rows of an epoch that a later row holds again (the later is kept)

    KEPT_PROBLEMS = 1000  # a file of garbage must not hold a reason per line in memory

    def note(self, problem: str) -> None:
        self.skipped += 1
        if len(self.problems) < self.KEPT_PROBLEMS:
            self.problems.append(problem)

    @property
    def first_problem(self) -> str:
        return self.problems[0] if self.problems else ""

    def skipped_note(self, name: str, told: int = 0) -> str | None:
        """ "skipped N damaged rows of NAME (the first reason)" for the rows past the ``told``
        first (a follower tells new damage as it comes), or None when there are none."""
        if self.skipped <= told:
            return None
        reason = self.problems[min(told, len(self.problems) - 1)] if self.problems else "unreadable"
        return f"skipped {counted(self.skipped - told, 'damaged row')} of {name} ({reason})"


def open_regular_or_none(path: Path):
    """Open for reading without ever blocking on a FIFO or a device (``files.open_regular``);
    None when absent; anything else that stops it is one :class:`UserError` line."""
    try:
        return os.fdopen(open_regular(path), "rb")
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.EINVAL:  # a folder, a FIFO, a device in the file's place
            raise UserError(f"{path}: {exc.strerror}") from None  # "it is a folder, not a regular file"
        raise UserError(f"{path} cannot be read: {exc.strerror or exc}") from None


# What json.loads raises for damage: JSONDecodeError and UnicodeDecodeError are ValueErrors, and so
# is an int of over 4,300 digits; nesting 100,000 deep is a RecursionError. Only the first was
# caught, and the others took a whole replay, export or workspace scan down (or a writer's
# control.json reader, for good: stop and steering were lost for the rest of the run).
NOT_JSON = (ValueError, RecursionError)
# What a record's checks may raise beyond RecordError on such values (float() of a huge int).
NOT_A_RECORD = (RecordError, OverflowError, RecursionError)


def read_json(path: Path) -> object | None:
    """A small JSON file, or None when absent; damage is a RecordError naming the file."""
    handle = open_regular_or_none(path)
    if handle is None:
        return None
    with handle:
        data = handle.read(MAX_JSON_BYTES + 1)
    if len(data) > MAX_JSON_BYTES:
        raise RecordError(f"{path.name} is larger than {MAX_JSON_BYTES:,} bytes")
    try:  # UTF-8 as written (a BOM tolerated): json's own guess read a stray BOM as UTF-16
        return json.loads(data.decode("utf-8-sig"))
    except NOT_JSON as exc:
        raise RecordError(f"{path.name} is not JSON ({exc})") from None


def _read_record(path: Path, parse):
    row = read_json(path)
    try:
        return None if row is None else parse(row)
    except (OverflowError, RecursionError) as exc:
        raise RecordError(f"{path.name}: a value out of reach ({exc})") from None


def read_info(run_dir: Path) -> RunInfo | None:
    return _read_record(Path(run_dir) / INFO_NAME, RunInfo.from_json)


def read_status(run_dir: Path) -> RunStatus | None:
    return _read_record(Path(run_dir) / STATUS_NAME, RunStatus.from_json)


def read_control(run_dir: Path) -> ControlRequest | None:
    try:
        return _read_record(Path(run_dir) / CONTROL_NAME, ControlRequest.from_json)
    except (RecordError, UserError):
        return None  # a damaged request is no request


def parse_lines(data: bytes, parse, rows: Rows, first_line: int = 1) -> bytes:
    """Parse whole lines into ``rows`` (numbered from ``first_line`` in what they tell of
    damaged ones); return the unfinished tail (no newline yet)."""
    *lines, tail = data.split(b"\n")
    for number, line in enumerate(lines, first_line):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except NOT_JSON:
            rows.note(f"line {number} is not JSON")
            continue
        try:
            rows.records.append(parse(row))
        except NOT_A_RECORD as exc:
            rows.note(f"line {number}: {exc}")
    return tail


def read_bytes(path: Path) -> bytes | None:
    """A whole file's bytes, or None when absent (:func:`open_regular_or_none`'s rules)."""
    handle = open_regular_or_none(path)
    if handle is None:
        return None
    with handle:
        return handle.read()


def read_rows(path: Path, parse) -> Rows:
    """Every valid row of a JSON-lines file (an empty result when it is absent)."""
    rows = Rows()
    data = read_bytes(path)
    if data is None:
        return rows
    tail = parse_lines(data, parse, rows)
    if tail.strip():  # a torn last line: tolerated unless it is whole JSON the writer ended
        try:
            rows.records.append(parse(json.loads(tail)))
        except (*NOT_JSON, *NOT_A_RECORD):
            rows.torn = True  # left for the next read; damage once its writer has ended
    return rows


def read_metrics(run_dir: Path) -> Rows:
    """``metrics.jsonl``: epoch rows, one per epoch (a later row of the same epoch wins)."""
    rows = read_rows(Path(run_dir) / METRICS_NAME, EpochRecord.from_json)
    by_epoch = {r.epoch: r for r in rows.records}
    rows.repeated = len(rows.records) - len(by_epoch)
    rows.records = [by_epoch[e] for e in sorted(by_epoch)]
    return rows


def read_batches(run_dir: Path) -> Rows:
    return read_rows(Path(run_dir) / BATCHES_NAME, BatchEnd.from_json)


class BatchTail:
    """Follows ``batches.jsonl`` as it grows: each :meth:`read_new` returns the reports written
    since the last call. A file that was replaced or cut is read again from the start, keeping
    only the reports past the last one returned; but where ``new_writer()`` answers an epoch (a
    resumed run rewrote it, keeping its finished epochs and training the next again), past that
    epoch, and ``rewound_to`` says so until it is taken."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / BATCHES_NAME
        self.offset = 0
        self.identity: tuple[int, int] | None = None
        self.pending = b""
        self.last: tuple[int, int] = (0, 0)  # (epoch, batch) of the last report returned
        self.lines = 0  # whole lines read of this file: a damaged one is told by its number in the file
        self.damage = Rows()  # the damaged whole lines of this file (its records are not kept here)
        self.rewound_to: int | None = None

    def read_new(self, new_writer: Callable[[], int | None] | None = None) -> list[BatchEnd]:
        handle = open_regular_or_none(self.path)
        if handle is None:
            return []
        with handle:
            info = os.fstat(handle.fileno())
            identity = (info.st_dev, info.st_ino)
            if identity != self.identity or info.st_size < self.offset:
                kept = new_writer() if new_writer is not None and self.identity is not None else None
                if kept is not None and self.last > (kept, sys.maxsize):  # it showed what the new one drops
                    self.last, self.rewound_to = (kept, sys.maxsize), kept
                self.identity, self.offset, self.pending, self.lines = identity, 0, b"", 0
                self.damage = Rows()  # read again from its start: each damaged line is counted once
            handle.seek(self.offset)
            data = handle.read()
        self.offset += len(data)
        rows, chunk = Rows(), self.pending + data
        self.pending = parse_lines(chunk, BatchEnd.from_json, rows, first_line=self.lines + 1)
        self.lines += chunk.count(b"\n")
        for problem in rows.problems:
            self.damage.note(problem)
        self.damage.skipped += rows.skipped - len(rows.problems)  # those past the reasons kept
        fresh = [r for r in rows.records if (r.epoch, r.batch) > self.last]
        if fresh:
            self.last = (fresh[-1].epoch, fresh[-1].batch)
        return fresh


def process_alive(pid: int, host: str, pid_ns: str = "", pid_start: int = 0) -> bool | None:
    """True/False for a process on this host; None when it runs elsewhere (cannot be checked):
    on another host, or in another PID namespace (a container with the host's name)."""
    if host and host != socket.gethostname():
        return None
    if pid_ns and pid_ns != pid_namespace():
        return None
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    fields = proc_stat(pid)  # read once for both questions below
    if pid_start and pid_ns and started_at(fields) not in (None, pid_start):
        return False  # its pid, another process (ids are reused): the writer is gone
    # a zombie: killed, and its parent (a launcher that never waits) has not reaped it; it answers
    # signals, but writes nothing more (a follower waited on it for good)
    return fields[:1] != ["Z"]


def effective_state(status: RunStatus, now: float) -> str:
    """The status's state, or ``lost`` when its writer is gone: at once when its process could be
    checked (a run killed a second ago was replayed as still written), else once it stopped beating."""
    if status.state in ENDED:
        return status.state
    age = now - status.heartbeat
    if age <= STALE_S and not status.pid_ns:  # an older writer's, beating: no process to look up
        return status.state
    alive = process_alive(status.pid, status.host, status.pid_ns, status.pid_start)
    if alive is False and status.pid_ns:  # its namespace is ours: the check is sure, no need to wait
        return "lost"
    if age <= STALE_S:
        return status.state
    if alive is False or (alive is None and age > STALE_REMOTE_S):
        return "lost"
    return status.state


def holds_results(run_dir: Path) -> bool:
    """True when the folder holds a run's results: a checkpoint, or at least one epoch's row.
    (Not :func:`mnist_tui.runfolder.reader.holds_run`, which also counts a bare ``run.json``: a
    folder to list or replay, where this one asks whether a new run would overwrite anything.)

    A run stopped before its first epoch ended left neither, and nothing to resume: its folder
    may be used again (it was refused here while ``--resume`` said it had no checkpoint)."""
    metrics = Path(run_dir) / METRICS_NAME
    if (Path(run_dir) / CHECKPOINT_NAME).exists():
        return True
    return metrics.exists() and (not metrics.is_file() or metrics.stat().st_size > 0)


def holds_run(run_dir: Path) -> bool:
    """A folder some mnist-tui run wrote (format 2, or format 1's metrics or checkpoint)."""
    run_dir = Path(run_dir)
    return any((run_dir / name).is_file() for name in (INFO_NAME, METRICS_NAME, CHECKPOINT_NAME))
