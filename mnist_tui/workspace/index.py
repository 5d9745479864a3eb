"""Every run folder under a folder, one :class:`RunSummary` each, re-read only where files changed.

A run folder is a folder holding ``run.json`` (format 2), or format 1's ``metrics.jsonl`` or
``checkpoint.pt``; the scan does not descend into one. Each file is parsed once and kept with
its inode, size and times: a re-scan costs a ``scandir`` and a ``stat`` per file, so a workspace of
500 folders refreshes in milliseconds (``benchmarks/workspace_index.py`` prints the figures).
Only the state is recomputed at every scan, since "lost" depends on the clock.

Nothing here raises for a bad folder: a damaged or foreign one gets a summary whose
``problem`` says why. Format-1 folders keep their settings in ``checkpoint.pt``; reading it
would load torch (about 1 s) for every folder, so their settings stay blank.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from mnist_tui.errors import UserError
from mnist_tui.files import change_stamp
from mnist_tui.runfolder.layout import BATCHES_NAME, CHECKPOINT_NAME, INFO_NAME, METRICS_NAME, STATUS_NAME
from mnist_tui.runfolder.reader import Rows, effective_state, read_batches, read_info, read_metrics, read_status
from mnist_tui.schema import RecordError
from mnist_tui.training.events import ENDED, BatchEnd, EpochRecord
from mnist_tui.workspace.entries import Stamp, is_dir, marks_a_run, mtime, stamp_of
from mnist_tui.workspace.summary import (
    SETTINGS,
    RunSummary,
    plan_of,
    results,
    settings_from_config,
    short_dataset,
    state_without_status,
    typed,
)

__all__ = ["RunIndex", "RunSummary", "SETTINGS", "summaries_of"]

MARKERS = (INFO_NAME, METRICS_NAME, CHECKPOINT_NAME)  # any of these makes a folder a run folder
WATCHED = (INFO_NAME, STATUS_NAME, METRICS_NAME, CHECKPOINT_NAME)


class _Parsed:
    """One file's parsed content, with the stamp it was read at."""

    __slots__ = ("stamp", "value", "error")

    def __init__(self, stamp: Stamp, value: Any, error: str) -> None:
        self.stamp, self.value, self.error = stamp, value, error


class RunIndex:
    """The run folders under ``root``. :meth:`scan` is safe to call from a worker thread;
    :meth:`history` and :meth:`batches` share the same cache."""

    def __init__(self, root: Path, clock: Callable[[], float] = time.time) -> None:
        self.root = Path(root)
        self.clock = clock
        self._lock = threading.Lock()
        self._files: dict[tuple[str, str], _Parsed] = {}  # (folder, file name) → parsed
        self._summaries: dict[str, tuple[tuple[Stamp, ...], RunSummary, Any]] = {}

    # -- finding run folders -----------------------------------------------------------------

    def find(self) -> list[tuple[str, tuple[Stamp, ...]]]:
        """Each run folder under root (root itself included), with the stamps of its WATCHED files.

        Each folder is walked once: the real tree first, then the symlinked folders found in it,
        each only if it leads to a folder not yet walked (a link to root or to a parent would
        list every run under it twice, and a loop would never end). A folder is known by
        (device, inode): root's and each entered folder's from one ``stat``, a subfolder's from
        its directory entry (no system call).

        Plain strings, not Paths: pathlib's parsing was half of a warm re-scan's time."""
        if not self.root.is_dir():
            raise UserError(f"--runs {self.root}: no such folder")
        found: list[tuple[str, tuple[Stamp, ...]]] = []
        seen: set[tuple[int, int]] = set()  # (st_dev, st_ino) of every folder listed or to be listed
        stack = [os.fspath(self.root)]
        links: list[str] = []  # symlinked folders, followed once the real tree is walked
        while stack or links:
            if not stack:
                link = links.pop()
                try:
                    info = os.stat(link)
                except OSError:
                    continue
                if (info.st_dev, info.st_ino) in seen:
                    continue  # a folder already walked (or a loop)
                seen.add((info.st_dev, info.st_ino))
                stack.append(link)
                continue
            folder = stack.pop()
            try:
                with os.scandir(folder) as it:
                    entries = {e.name: e for e in it}
            except OSError:
                continue  # an unreadable folder that is not known to hold a run: nothing to list
            if any(name in entries and marks_a_run(entries[name]) for name in MARKERS):
                found.append((folder, tuple(stamp_of(entries.get(name)) for name in WATCHED)))
                continue
            try:  # a folder that holds no run: its own device (a mount point has another)
                device = os.stat(folder)
            except OSError:
                continue
            seen.add((device.st_dev, device.st_ino))
            for name, entry in entries.items():
                if name.startswith((".", "__")) or not is_dir(entry):
                    continue
                if entry.is_symlink():
                    links.append(entry.path)
                    continue
                key = (device.st_dev, entry.inode())
                if key not in seen:  # seen: inside a linked folder, a real folder walked already
                    seen.add(key)
                    stack.append(entry.path)
        found.sort()
        return found

    # -- the summaries -----------------------------------------------------------------------

    def scan(self) -> list[RunSummary]:
        """Every run folder's summary, sorted by name; only changed files are read again."""
        found = self.find()
        now = self.clock()
        out = []
        with self._lock:
            if len(self._summaries) > len(found) or len(self._files) > len(WATCHED) * len(found) + 64:
                live = {folder for folder, _ in found}
                self._summaries = {k: v for k, v in self._summaries.items() if k in live}
                self._files = {k: v for k, v in self._files.items() if k[0] in live}
            for folder, stamps in found:
                cached = self._summaries.get(folder)
                if cached is None or cached[0] != stamps:
                    summary, status = self._summarise(folder, dict(zip(WATCHED, stamps, strict=True)))
                    cached = (stamps, summary, status)
                    self._summaries[folder] = cached
                _, summary, status = cached
                if status is not None and status.state not in ENDED:
                    summary = replace(summary, state=effective_state(status, now))
                out.append(summary)
        return out

    def _read(self, folder: str, name: str, stamp: Stamp, reader: Callable[[Path], Any]) -> _Parsed:
        cached = self._files.get((folder, name))
        if cached is not None and cached.stamp == stamp:
            return cached
        try:
            parsed = _Parsed(stamp, reader(Path(folder)), "")
        except (RecordError, UserError) as exc:
            parsed = _Parsed(stamp, None, str(exc))
        except OSError as exc:
            parsed = _Parsed(stamp, None, f"{name} cannot be read: {exc.strerror or exc}")
        self._files[(folder, name)] = parsed
        return parsed

    def _summarise(self, folder: str, stamps: dict[str, Stamp]) -> tuple[RunSummary, Any]:
        path = Path(folder)
        name = path.relative_to(self.root).as_posix() if path != self.root else path.name
        fields: dict[str, Any] = {}
        notes: list[str] = []
        problem = ""
        info = status = None
        unused = ""
        if stamps[INFO_NAME] is not None:
            parsed = self._read(folder, INFO_NAME, stamps[INFO_NAME], read_info)
            info = parsed.value
            unused = parsed.error  # the run replays from its metrics all the same (as --replay does)
        if stamps[STATUS_NAME] is not None:
            parsed = self._read(folder, STATUS_NAME, stamps[STATUS_NAME], read_status)
            status = parsed.value
            if parsed.error:
                notes.append(_named(STATUS_NAME, parsed.error))
        metrics = Rows()
        if stamps[METRICS_NAME] is not None:
            parsed = self._read(folder, METRICS_NAME, stamps[METRICS_NAME], read_metrics)
            metrics = parsed.value or Rows()
            if parsed.error:
                problem = problem or _named(METRICS_NAME, parsed.error)
            elif metrics.skipped and not metrics.records:
                no_row = f"{METRICS_NAME}: no row fits ({metrics.first_problem})"
                if stamps.get(CHECKPOINT_NAME) is None:
                    problem = problem or no_row
                else:  # it was "broken", and enter would not open what --replay shows from the checkpoint
                    notes.append(no_row if status is not None else f"{no_row}; --replay shows the checkpoint's")
            elif note := metrics.skipped_note(METRICS_NAME):
                notes.append(note)
        # it was "broken", and enter would not open what --replay shows; a live one opens in a follower, which needs it
        if unused and metrics.records and (status is None or status.state in ENDED):
            notes.insert(0, f"{INFO_NAME} not used: {unused.removeprefix(INFO_NAME + ': ')}")
        elif unused:
            problem = problem or _named(INFO_NAME, unused)
        fields.update(results(metrics.records))
        planned = None
        if info is not None:
            fields.update({k: v for k, v in settings_from_config(info.config).items() if v not in (None, "")})
            for key in ("dataset", "device", "precision"):  # resolved once the data loaded: "auto" → "bf16"
                if getattr(info, key):
                    fields[key] = getattr(info, key)
            fields["world_size"] = info.world_size
            if info.train_size:  # 0 until the data loaded
                fields["train_size"] = info.train_size
            planned = typed(info.config, "epochs", int)
        elif stamps[METRICS_NAME] is None and not problem:
            notes.append("format 1: its settings are in checkpoint.pt only")
        if status is not None:
            planned = status.epochs or planned
            fields["world_size"] = status.world_size
            if not metrics.records and status.samples_per_s:
                fields["samples_per_s"] = status.samples_per_s
            state = status.state
            rows = len(metrics.records)
            if cut := status.cut_note(rows):  # cut or removed: say it, as a replay does
                whole = "; --replay shows the checkpoint's" if stamps.get(CHECKPOINT_NAME) is not None else ""
                notes.append(f"{cut} (cut or removed{whole})")
            notes += [n for n in [status.epochs_note([r.epoch for r in metrics.records])] if n]
        else:  # a plan steered longer lived in status.json: the first plan was shown as "8/3"
            planned = max(planned, fields.get("epochs_done", 0)) if planned else planned
            state = state_without_status(fields.get("epochs_done", 0), planned)
        if "dataset" in fields:
            fields["dataset"] = short_dataset(fields["dataset"])
        started = info.first_start if info is not None else mtime(path)
        summary = RunSummary(
            name=name,
            path=path,
            state=state if not problem else "broken",
            epochs_planned=planned,
            plan=plan_of(planned, info, metrics.records),
            started=started,
            format=2 if stamps[INFO_NAME] is not None else 1,
            problem=problem,
            note="; ".join(notes),
            **fields,
        )
        return summary, (status if not problem else None)

    # -- curves for the compare panel --------------------------------------------------------

    def history(self, path: Path) -> list[EpochRecord]:
        """The run's epoch rows (from the cache when the file did not change)."""
        return self._cached_rows(path, METRICS_NAME, read_metrics)

    def batches(self, path: Path) -> list[BatchEnd]:
        """The run's batch reports (empty for format 1, which never kept them)."""
        return self._cached_rows(path, BATCHES_NAME, read_batches)

    def _cached_rows(self, path: Path | str, name: str, reader: Callable[[Path], Rows]) -> list:
        folder = os.fspath(path)
        try:
            info = os.stat(os.path.join(folder, name))
        except OSError:
            return []
        with self._lock:
            parsed = self._read(folder, name, change_stamp(info), reader)
        return list(parsed.value.records) if parsed.value is not None else []


def summaries_of(items) -> list[RunSummary]:
    """Summaries as given, and for a path: its run folder's, or every run under it."""
    out: list[RunSummary] = []
    for item in items:
        if isinstance(item, RunSummary):
            out.append(item)
        else:
            out.extend(RunIndex(Path(item)).scan())
    return out


def _named(file: str, error: str) -> str:
    return error if not error or error.startswith(file) else f"{file}: {error}"
