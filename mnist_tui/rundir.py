"""The run folder: checked before anything trains, and never silently taken from another run.

Kept free of torch so the command line can check it before the heavy imports.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from mnist_tui.errors import UserError
from mnist_tui.files import probe_write

CHECKPOINT_NAME = "checkpoint.pt"
METRICS_NAME = "metrics.jsonl"
LOCK_NAME = ".lock"
_held_locks: list = []  # open lock files, held for the life of the process


def holds_run(run_dir: Path) -> bool:
    """True when the folder already holds another run's results."""
    return any((Path(run_dir) / name).exists() for name in (CHECKPOINT_NAME, METRICS_NAME))


def _same_folder(a: Path, b: Path | None) -> bool:
    if b is None:
        return False
    with contextlib.suppress(OSError):
        return Path(a).resolve() == Path(b).resolve()
    return False


def _free_name(run_dir: Path) -> Path:
    """``runs/20250101-120000`` taken: ``runs/20250101-120000-2``, ``-3``, …"""
    for n in range(2, 10_000):
        candidate = run_dir.with_name(f"{run_dir.name}-{n}")
        if not holds_run(candidate):
            return candidate
    raise UserError(f"no free run folder name next to {run_dir}")


def _check_writable(run_dir: Path) -> None:
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UserError(f"the run folder {run_dir} exists but is not a folder") from None
    except OSError as exc:
        raise UserError(f"cannot create the run folder {run_dir}: {exc.strerror or exc}") from None
    try:
        probe_write(run_dir)
    except OSError as exc:
        raise UserError(f"the run folder {run_dir} is not writable: {exc.strerror or exc}") from None


def _lock(run_dir: Path) -> None:
    """One process per run folder: two writers would race each other's checkpoints."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; the checkpoint check above still holds
        return
    handle = open(run_dir / LOCK_NAME, "a")  # noqa: SIM115 - held open on purpose
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise UserError(f"the run folder {run_dir} is in use by another mnist-tui process") from None
    _held_locks.append(handle)


def release_locks() -> None:
    """Let go of every run folder this process claimed (at the end of the command)."""
    while _held_locks:
        _held_locks.pop().close()


def remove_stale_temporaries(run_dir: Path) -> int:
    """Temporary files a killed process left behind (never the real checkpoint)."""
    removed = 0
    for name in (CHECKPOINT_NAME, METRICS_NAME):
        for stale in Path(run_dir).glob(f".{name}.*.tmp"):
            with contextlib.suppress(OSError):
                stale.unlink()
                removed += 1
    return removed


def claim_run_dir(run_dir: Path, resuming_from: Path | None = None, fresh_name: bool = False) -> Path:
    """Check, before training, that ``run_dir`` can take this run; return the folder to use.

    A folder holding another run's checkpoint is refused (``--resume`` continues it), except
    for the default timestamped name, where a suffix picks a free folder instead.
    """
    run_dir = Path(run_dir)
    if holds_run(run_dir) and not _same_folder(run_dir, resuming_from):
        if not fresh_name:
            raise UserError(
                f"the run folder {run_dir} already holds a run; continue it with --resume {run_dir}, "
                "or choose another --run-dir"
            )
        run_dir = _free_name(run_dir)
    _check_writable(run_dir)
    _lock(run_dir)
    remove_stale_temporaries(run_dir)
    return run_dir
