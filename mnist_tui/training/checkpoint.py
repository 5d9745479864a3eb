"""Checkpoints: written atomically, loaded with ``weights_only=True`` so loading runs no code.

A checkpoint holds only tensors and plain values: model and optimizer state, scheduler
state, RNG states, the epoch just finished, the config and the metrics history. Before
``torch.load`` sees a file, its zip directory is read and bounded and every entry's CRC-32 is
checked (see :func:`check_container`); after, every field is checked
(:mod:`mnist_tui.training.checkpoint_schema`).
"""

from __future__ import annotations

import io
import pickle
import re
import stat
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

from mnist_tui.files import write_atomically
from mnist_tui.runfolder.names import CHECKPOINT_NAME, INFO_NAME
from mnist_tui.runfolder.reader import holds_results
from mnist_tui.training import checkpoint_schema as schema
from mnist_tui.training.checkpoint_schema import FORMAT, CheckpointError, check_history_rows

__all__ = [
    "CHECKPOINT_NAME",
    "FORMAT",
    "CheckpointError",
    "check_history_rows",
    "checkpoint_path",
    "load_checkpoint",
    "save_checkpoint",
]

# What this project ever writes, measured: 21,840 float32 model parameters (87 KB), Adam's two
# moments (175 KB), two CPU generator states (5,056 bytes each), a few GPU ones, and a pickled
# history of ~330 bytes a row (10,000 epochs: 3.3 MB). A real checkpoint is ~290 KB. 64 MiB is
# 200 times that and still small to load; a file declaring more is not one of ours.
MAX_CHECKPOINT_BYTES = 64 * 2**20
MAX_ENTRIES = 1_000  # torch writes one entry per tensor (34 here) and five small records
_RECORDS = {"data.pkl", "version", ".format_version", ".storage_alignment", "byteorder", ".data/serialization_id"}
_TENSOR_ENTRY = re.compile(r"data/\d{1,6}")
_ZIP_MAGIC = b"PK\x03\x04"


def checkpoint_path(path: Path) -> Path:
    """A run folder or a file: the checkpoint file it names."""
    path = Path(path)
    try:
        is_dir = stat.S_ISDIR(path.stat().st_mode)
    except (OSError, ValueError):  # missing, too long, not enterable: the loader says which
        is_dir = False
    return path / CHECKPOINT_NAME if is_dir else path


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


def check_container(path: Path) -> None:
    """Refuse, before anything is unpacked, a file torch.save did not write for us.

    ``torch.load`` inflates whatever the zip holds: a 1.2 MB file of deflated zeros loaded as a
    256 MiB tensor (and a 2 MB one as 5 GB RSS). torch writes every entry stored (uncompressed)
    under one folder, so any compression, a foreign entry, or a declared total beyond
    :data:`MAX_CHECKPOINT_BYTES` is refused from the central directory alone. A file that is not a
    zip at all is torch's legacy format (a bare pickle), which we never write.
    """
    size = path.stat().st_size
    if size == 0:
        raise CheckpointError(f"{path} is empty or truncated: not a readable checkpoint")
    if size > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"{path} is {size:,} bytes, far beyond any mnist-tui checkpoint: refused, not loaded")
    with open(path, "rb") as f:
        head = f.read(4)
    if head != _ZIP_MAGIC:
        if _ZIP_MAGIC.startswith(head):
            raise CheckpointError(f"{path} is empty or truncated: not a readable checkpoint")
        if head[:1] != b"\x80":  # not a pickle either (text, an image): nothing was refused, it is not one
            raise CheckpointError(f"{path} is not a checkpoint (mnist-tui's are zip files)")
        raise CheckpointError(
            f"{path} was refused and nothing in it was run: it is not in the zip format mnist-tui writes "
            "(a bare pickle or torch's legacy format)"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            _check_entries(path, archive.infolist())
            _check_crcs(path, archive)  # after the bounds: only stored entries, 64 MiB at most, are read
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise CheckpointError(f"{path} is not a readable checkpoint (truncated or corrupt: {exc})") from None


def _check_entries(path: Path, entries: list[zipfile.ZipInfo]) -> None:
    if not entries or len(entries) > MAX_ENTRIES:
        raise CheckpointError(f"{path} holds {len(entries)} entries, not a checkpoint: refused, not loaded")
    folder = entries[0].filename.split("/", 1)[0]
    names = set()
    for entry in entries:
        prefix, _, name = entry.filename.partition("/")
        if prefix != folder or not (name in _RECORDS or _TENSOR_ENTRY.fullmatch(name)):
            raise CheckpointError(f"{path} holds {entry.filename!r}, which torch.save never writes: refused")
        if entry.compress_type != zipfile.ZIP_STORED or entry.file_size != entry.compress_size:
            raise CheckpointError(f"{path} holds the compressed entry {entry.filename!r} (a zip bomb?): refused")
        names.add(name)
    declared = sum(entry.file_size for entry in entries)
    if declared > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(
            f"{path} declares {declared:,} bytes of content, far beyond any mnist-tui checkpoint: refused, not loaded"
        )
    if "data.pkl" not in names:
        raise CheckpointError(f"{path} has no data.pkl: not a checkpoint")


def _check_crcs(path: Path, archive: zipfile.ZipFile) -> None:
    """Every entry's bytes against the CRC-32 torch.save wrote for it.

    ``torch.load`` never checks them: a checkpoint with 200 flipped bytes inside a weight tensor
    loaded, replayed and resumed from the damaged weights. Reading every entry once is cheap
    (measured, Python 3.11, warm page cache, median of 200): 0.44 ms for a real 284 KB checkpoint,
    0.38 ms more than reading its zip directory alone, against 1.8 ms for the ``torch.load`` that
    follows; 11 ms for a 60 MiB file near :data:`MAX_CHECKPOINT_BYTES`.
    """
    for entry in archive.infolist():
        try:
            with archive.open(entry) as f:  # zipfile compares the CRC when the last byte is read
                while f.read(2**20):
                    pass
        except (zipfile.BadZipFile, RuntimeError) as exc:  # RuntimeError: an entry flagged as encrypted
            reason = f"bad CRC in {entry.filename}" if "CRC" in str(exc) else f"{entry.filename}: {exc}"
            raise CheckpointError(
                f"{path} is damaged ({reason}): its bytes changed after it was saved; refused, not loaded"
            ) from None


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


def evaluated_weights(state: dict) -> dict:
    """The weights the run evaluated, drew with and recorded its test accuracy of: the weight
    average where the recipe keeps one (``--recipe sprint``), else the model's. A replay that
    showed the model's own weights gave 91 wrong digits where the run recorded 87."""
    return state.get("ema") or state["model"]


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load safely and check every field; every failure is a :class:`CheckpointError` with one clear line."""
    path = checkpoint_path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        if (path.parent / INFO_NAME).is_file() and not holds_results(path.parent):  # stopped before epoch 1 ended
            raise CheckpointError(
                f"no checkpoint at {path}: no epoch of that run finished; start it again with --run-dir {path.parent}"
            ) from None
        raise CheckpointError(f"no checkpoint at {path}") from None
    except OSError as exc:  # a name too long, a file in place of a folder, a symlink loop
        raise CheckpointError(f"cannot read the checkpoint {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):  # a folder, a pipe or a device would hang or mislead torch.load
        raise CheckpointError(f"{path} is not a regular file, so not a checkpoint")
    try:
        check_container(path)
        state = _read(path)
    except OSError as exc:
        raise CheckpointError(f"cannot read the checkpoint {path}: {exc.strerror or exc}") from None
    try:
        schema.check_state(state)
    except schema.SchemaError as exc:
        raise CheckpointError(schema.describe(path, exc)) from None
    return state
