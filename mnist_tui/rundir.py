"""The run folder: checked before anything trains, and never silently taken from another run.

Kept free of torch so the command line can check it before the heavy imports.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import stat
from pathlib import Path

from mnist_tui.errors import UserError
from mnist_tui.files import file_type, mkdir_reason, os_reason, probe_write, shown
from mnist_tui.made_folders import make_parents, remember_made
from mnist_tui.runfolder.names import (
    CHECKPOINT_NAME,
    FORMAT,
    INFO_NAME,
    LOCK_NAME,
    METRICS_NAME,
    WRITTEN_FILES,
)
from mnist_tui.runfolder.places import a_run_inside, first_run_folder, same_folder
from mnist_tui.runfolder.reader import holds_results

MAX_SUFFIX = 10_000
_held_locks: list = []  # open lock files, held for the life of the process


class RunDirOptionError(UserError, argparse.ArgumentTypeError):
    """A bad ``--run-dir`` text: argparse reports it as its own error, ``main`` as a UserError."""


def check_run_dir_option(text: str) -> Path:
    """``--run-dir`` as typed. ``Path('')`` is ``Path('.')``, so an empty value is refused here, on the text.

    Usable as argparse's ``type=``: the refusal is then argparse's one line, exit 2.
    """
    if not text.strip():
        raise RunDirOptionError(
            "--run-dir is empty: give a folder name (or leave --run-dir out for runs/<date>-<time>)"
        )
    if "\0" in text:
        raise RunDirOptionError("--run-dir holds a NUL character")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):  # a newline split its name on screen and in lists
        raise RunDirOptionError(f"--run-dir holds a control character: {text!r}")
    return Path(text)


def own_run_folder(checkpoint: Path) -> Path | None:
    """The run folder whose run ``--resume checkpoint`` continues: the folder itself, or the one
    holding it as ``checkpoint.pt``. None for any other file (a copy, a backup): its folder's
    run is another run, or an older state of it, and continuing there would overwrite it."""
    checkpoint = Path(checkpoint)
    if checkpoint.is_dir():
        return checkpoint
    return checkpoint.parent if checkpoint.name == CHECKPOINT_NAME else None


def check_own_checkpoint(run_dir: Path, saved_state: dict) -> None:
    """A run folder's checkpoint.pt is the run its metrics.jsonl records: each epoch both hold
    agrees. Another run's checkpoint copied in was continued there, its rows replacing the
    folder's own (a sprint run's epoch 1 over a fast run's three)."""
    from mnist_tui.runfolder.reader import read_metrics
    from mnist_tui.training.resume import history_from_checkpoint  # torch is loaded: the checkpoint was

    try:
        recorded = {r.epoch: r for r in read_metrics(run_dir).records}
        saved = history_from_checkpoint(saved_state.get("history") or [])
    except UserError:  # a damaged log, or history (a CheckpointError): told where it is read
        return
    for row in saved:
        logged = recorded.get(row.epoch)
        if logged is not None and (logged.train_loss, logged.test_acc) != (row.train_loss, row.test_acc):
            raise UserError(
                f"--resume {shown(run_dir)}: its {CHECKPOINT_NAME} is not the run its {METRICS_NAME} records "
                f"(epoch {row.epoch}: test accuracy {row.test_acc:.2%}, train loss {row.train_loss:.6g} in the "
                f"checkpoint; {logged.test_acc:.2%}, {logged.train_loss:.6g} in the log); move one of them out, "
                "or continue the checkpoint elsewhere with --run-dir NEW"
            )


def _check_kept_files(run_dir: Path) -> None:
    """The files a run writes, where they exist, are files: a folder in one's place failed mid-run
    (an atomic replace cannot land on a folder) or was silently never written (status.json)."""
    for name in WRITTEN_FILES:
        path = run_dir / name
        if path.exists() and not path.is_file():  # it said "is not a regular file, not a file" of a FIFO
            what = file_type(path.stat().st_mode)
            raise UserError(f"{shown(path)} is {what}, not a file: move it out of the run folder first")


def _check_format(run_dir: Path) -> None:
    """A folder a newer mnist-tui wrote is not continued (its run.json would be rewritten as ours)."""
    try:
        written = json.loads((run_dir / INFO_NAME).read_text(encoding="utf-8")).get("format")
    except (OSError, ValueError, AttributeError, RecursionError):  # absent or damaged: rewritten when the run starts
        return
    if isinstance(written, int) and written > FORMAT:
        raise UserError(
            f"{shown(run_dir)} was written by a newer mnist-tui (run folder format {written}; "
            f"this one writes {FORMAT}): upgrade mnist-tui to continue it"
        )


def _check_place(run_dir: Path) -> None:
    """A run folder is a leaf among runs: not inside another run's folder, not holding runs itself
    (the workspace lists a run folder and not what is under it, so either hid runs from ``--runs``
    and its exports: ``--run-dir runs`` put a run over the whole workspace), and not ``/``."""
    try:
        where = run_dir.resolve()
    except (OSError, RuntimeError):
        return  # _check_writable says why
    if where == Path(where.anchor):
        raise UserError(f"--run-dir {shown(run_dir)} is the file system's root: give a folder for the run")
    if (parent := first_run_folder(where.parents)) is not None:
        raise UserError(
            f"--run-dir {shown(run_dir)} is inside the run folder {shown(parent)}: "
            "choose a folder outside it (e.g. beside it)"
        )
    inner = a_run_inside(where)
    if inner is not None:
        raise UserError(
            f"--run-dir {shown(run_dir)} holds other runs ({shown(inner)}): a run folder holds one run; "
            f"give a new folder, e.g. {shown(run_dir / 'my-run')}"
        )


def create_fresh_run_dir(run_dir: Path) -> Path:
    """``runs/20250101-120000``, or if taken ``runs/20250101-120000-2``, ``-3``, …: made, not just picked.

    ``mkdir`` without ``exist_ok`` is atomic: of two processes started in the same second
    exactly one makes each name, and the other moves on to the next suffix. (Picking a name
    that merely held no run, then creating it, let both pick the same one; the second was then
    refused as "in use by another process".)
    """
    try:
        make_parents(run_dir.parent)
    except FileExistsError:  # mkdir's answer when a part of the path is a file (or a FIFO, ...)
        reason = f"{shown(run_dir.parent, 60)} is not a folder"
        raise UserError(f"cannot create the run folder {shown(run_dir)}: {reason}") from None
    except OSError as exc:
        raise UserError(f"cannot create the run folder {shown(run_dir)}: {mkdir_reason(exc)}") from None
    for n in range(1, MAX_SUFFIX):
        candidate = run_dir if n == 1 else run_dir.with_name(f"{run_dir.name}-{n}")
        try:
            candidate.mkdir()
            remember_made(candidate.absolute())
            return candidate
        except FileExistsError:
            continue
        except OSError as exc:
            raise UserError(f"cannot create the run folder {shown(candidate)}: {mkdir_reason(exc)}") from None
    raise UserError(f"no free run folder name next to {shown(run_dir)}")


def _check_writable(run_dir: Path) -> None:
    try:
        make_parents(run_dir.parent)
        run_dir.mkdir()
        remember_made(run_dir.absolute())
    except FileExistsError:
        if not run_dir.is_dir():  # a dangling link too, said as the data files' checks say it
            what = "is a symbolic link to nothing" if run_dir.is_symlink() else "exists but is not a folder"
            raise UserError(f"the run folder {shown(run_dir)} {what}") from None
    except OSError as exc:
        raise UserError(f"cannot create the run folder {shown(run_dir)}: {mkdir_reason(exc)}") from None
    try:
        probe_write(run_dir)
    except OSError as exc:
        raise UserError(f"the run folder {shown(run_dir)} is not writable: {os_reason(exc)}") from None


def _lock(run_dir: Path):
    """One process per run folder: two writers would race each other's checkpoints. Returns the
    held lock file (None where there are no advisory locks)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; the checkpoint check above still holds
        return None
    path = run_dir / LOCK_NAME
    try:  # non-blocking, and only a regular file: a FIFO there hung the run before its first line
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)  # NFS locks need write
    except OSError as exc:
        raise UserError(f"cannot lock the run folder {shown(run_dir)}: {os_reason(exc)}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise UserError(f"{shown(path)} is {file_type(mode)}, not a file: move it out of the run folder first")
    handle = os.fdopen(fd, "r+b")  # held open on purpose
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        handle.close()
        if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):  # not another writer: say what it was
            raise UserError(f"cannot lock the run folder {shown(run_dir)}: {os_reason(exc)}") from None
        raise UserError(
            f"the run folder {run_dir} is in use by another mnist-tui process; --follow {run_dir} watches it"
        ) from None
    _held_locks.append(handle)
    return handle


def release_locks() -> None:
    """Let go of every run folder this process claimed (at the end of the command)."""
    while _held_locks:
        _held_locks.pop().close()


def remove_stale_temporaries(run_dir: Path) -> int:
    """Temporary files a killed writer left behind, of every file it writes (never the real ones;
    never control.json's: a follower may be writing one now)."""
    removed = 0
    for name in WRITTEN_FILES:
        for stale in Path(run_dir).glob(f".{name}.*.tmp"):
            with contextlib.suppress(OSError):
                stale.unlink()
                removed += 1
    return removed


def claim_run_dir(run_dir: Path, resuming_from: Path | None = None, fresh_name: bool = False) -> Path:
    """Check, before training, that ``run_dir`` can take this run; return the folder to use.

    A folder holding another run's checkpoint is refused (``--resume`` continues it). The
    default timestamped name (``fresh_name``) is always a new folder, made atomically: a
    suffix if the name is taken, even by a run started the same second.
    Every OS refusal (a name too long, a file in the path, no permission) is one UserError line.
    """
    run_dir = Path(run_dir)
    if fresh_name:
        run_dir = create_fresh_run_dir(run_dir)
    else:
        try:
            taken = holds_results(run_dir) and not same_folder(run_dir, resuming_from)
        except OSError as exc:  # exists() raises for a name too long, and for permission
            raise UserError(f"cannot use the run folder {shown(run_dir)}: {os_reason(exc)}") from None
        if taken:
            held = _lock(run_dir)  # in use by a process training there: that refusal, which names --follow
            if held is not None:  # --resume would only be refused the same way
                _held_locks.remove(held)
                held.close()
            raise UserError(
                f"the run folder {run_dir} already holds a run; continue it with --resume {run_dir}, "
                "or choose another --run-dir"
            )
        if not same_folder(run_dir, resuming_from):  # a run continued where it is stays where it is
            _check_place(run_dir)
    _check_writable(run_dir)
    _check_kept_files(run_dir)
    _check_format(run_dir)
    _lock(run_dir)
    remove_stale_temporaries(run_dir)
    return run_dir
