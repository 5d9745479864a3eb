"""Checkpoints: written atomically, loaded with ``weights_only=True`` so loading runs no code.

A checkpoint holds only tensors and plain values: model and optimizer state, scheduler
state, RNG states, the epoch just finished, the config and the metrics history.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import re
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

from mnist_tui.errors import UserError
from mnist_tui.rundir import CHECKPOINT_NAME

FORMAT = "mnist-tui-checkpoint/1"
REQUIRED = {"epoch": int, "model": dict, "optimizer": dict, "config": dict, "history": list}
__all__ = ["CHECKPOINT_NAME", "CheckpointError", "checkpoint_path", "load_checkpoint", "save_checkpoint"]


class CheckpointError(UserError):
    """A checkpoint that cannot be used: unsafe, truncated, or of another model."""


def checkpoint_path(path: Path) -> Path:
    """A run folder or a file: the checkpoint file it names."""
    path = Path(path)
    return path / CHECKPOINT_NAME if path.is_dir() else path


def _new_file_mode(path: Path) -> int:
    """Keep an existing file's mode; else what ``open`` would give (mkstemp makes 0600)."""
    with contextlib.suppress(OSError):
        return path.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomically(path: Path, write) -> None:
    """Write through a temporary file in the same folder, fsync, then ``os.replace``.

    A crash at any moment leaves either the old file or the new one, never a mix; an
    exception (or a second Ctrl-C) mid-write removes the temporary file.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), _new_file_mode(path))
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


def serialize(state: dict[str, Any]) -> bytes:
    """The checkpoint's bytes: a frozen copy of live tensors, to write now or later."""
    buffer = io.BytesIO()
    torch.save({**state, "format": FORMAT}, buffer)
    return buffer.getvalue()


def write_checkpoint_bytes(path: Path, data: bytes) -> None:
    write_atomically(path, lambda f: f.write(data))


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    state = {**state, "format": FORMAT}
    write_atomically(path, lambda f: torch.save(state, f))


def _refusal_reason(exc: BaseException) -> str:
    """The useful part of torch's long weights-only message (it also suggests unsafe loading)."""
    text = str(exc)
    found = re.search(r"GLOBAL ([\w.]+)", text)  # "unsupported GLOBAL posix.system whose module..."
    if found:
        return f"it asks to call {found.group(1)}"
    found = re.search(r"(Unsupported [^\n.]+)", text)
    return found.group(1).strip().lower() if found else "it is not made of plain tensors and values"


def _read(path: Path) -> Any:
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols on foreign files
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"{path} was refused and nothing in it was run: {_refusal_reason(exc)} (only tensors and plain values load)"
        ) from None
    except EOFError:
        raise CheckpointError(f"{path} is empty or truncated: not a readable checkpoint") from None
    except (RuntimeError, OSError, zipfile.BadZipFile, ValueError, KeyError, IndexError) as exc:
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path} is not a readable checkpoint (truncated or corrupt: {first})") from None


def _check_fields(path: Path, state: Any) -> None:
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an mnist-tui checkpoint")
    for key, kind in REQUIRED.items():
        if not isinstance(state.get(key), kind):
            raise CheckpointError(f"{path} is damaged: its {key!r} is missing or of the wrong kind")
    if state["epoch"] < 0:
        raise CheckpointError(f"{path} is damaged: epoch {state['epoch']}")


def check_architecture(path: Path, model_state: dict[str, Any]) -> None:
    """Same layers and shapes as this program's model, or one clear line saying what differs."""
    from mnist_tui.model import Net

    expected = {k: tuple(v.shape) for k, v in Net().state_dict().items()}
    found = {k: tuple(v.shape) if isinstance(v, torch.Tensor) else None for k, v in model_state.items()}
    missing, extra = sorted(expected.keys() - found.keys()), sorted(found.keys() - expected.keys())
    if missing or extra:
        detail = ", ".join([f"missing {k}" for k in missing[:2]] + [f"unexpected {k}" for k in extra[:2]])
        raise CheckpointError(f"{path} holds another model ({detail})")
    for key, shape in expected.items():
        if found[key] != shape:
            raise CheckpointError(f"{path} holds another model ({key} has shape {found[key]}, this model {shape})")


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load safely and check it fits; every failure is a :class:`CheckpointError` with one clear line."""
    path = checkpoint_path(path)
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}")
    if not path.is_file():  # a folder, a pipe or a device would hang or mislead torch.load
        raise CheckpointError(f"{path} is not a regular file, so not a checkpoint")
    state = _read(path)
    _check_fields(path, state)
    check_architecture(path, state["model"])
    return state
