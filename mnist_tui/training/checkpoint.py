"""Checkpoints: written atomically, loaded with ``weights_only=True`` so loading runs no code.

A checkpoint holds only tensors and plain values: model and optimizer state, scheduler
state, RNG states, the epoch just finished, the config and the metrics history.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import torch

from mnist_tui.errors import UserError

CHECKPOINT_NAME = "checkpoint.pt"
FORMAT = "mnist-tui-checkpoint/1"


class CheckpointError(UserError):
    """A checkpoint that cannot be used: unsafe, truncated, or of another model."""


def checkpoint_path(path: Path) -> Path:
    """A run folder or a file: the checkpoint file it names."""
    path = Path(path)
    return path / CHECKPOINT_NAME if path.is_dir() else path


def write_atomically(path: Path, write) -> None:
    """Write through a temporary file in the same folder, fsync, then ``os.replace``.

    A crash at any moment leaves either the old file or the new one, never a mix.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    state = {"format": FORMAT, **state}
    write_atomically(path, lambda f: torch.save(state, f))


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load safely; every failure is a :class:`CheckpointError` with one clear line."""
    path = checkpoint_path(path)
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unsafe content"
        raise CheckpointError(f"{path} was refused: it holds more than plain tensors ({first[:160]})") from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as exc:
        raise CheckpointError(f"{path} is not a readable checkpoint (truncated or corrupt: {exc})"[:300]) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an mnist-tui checkpoint")
    return state
