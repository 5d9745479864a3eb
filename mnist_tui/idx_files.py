"""MNIST's idx files on disk: found, unpacked from ``.gz`` where needed, checked, read.

Every failure is one :class:`DataError` line naming the file; a file is opened only if it is a
regular one (a FIFO would block the read for ever).
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import math
import os
import struct
import tempfile
import zlib
from pathlib import Path

import torch

from mnist_tui.errors import DataError
from mnist_tui.files import open_regular, os_reason, shown

IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049
SPLITS = {"train": 60_000, "t10k": 10_000}


def file_names(split: str) -> tuple[str, str]:
    return f"{split}-images-idx3-ubyte", f"{split}-labels-idx1-ubyte"


def _unreadable(path: Path, exc: OSError) -> DataError:
    """One line naming the data file and what the OS said (a FIFO, a folder, a loop, no permission)."""
    reason = exc.strerror if exc.errno == errno.EINVAL and exc.strerror else os_reason(exc)
    return DataError(f"the data file {shown(path)} cannot be read: {reason}")


def _read_head(path: Path, size: int) -> tuple[bytes, int]:
    """The first ``size`` bytes and the file's length, from a regular file only (never blocks)."""
    try:
        fd = open_regular(path)
    except OSError as exc:
        raise _unreadable(path, exc) from None
    try:
        with os.fdopen(fd, "rb") as f:
            return f.read(size), os.fstat(f.fileno()).st_size
    except OSError as exc:  # EIO, or a folder's EISDIR on some systems
        raise _unreadable(path, exc) from None


def present(path: Path) -> bool:
    """Like ``exists``, but a name the OS refuses (too long, a symlink loop) is an error, not 'absent'."""
    try:
        os.stat(path)
        return True
    except FileNotFoundError:
        try:
            os.lstat(path)  # a dangling symlink is there, and broken
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise _unreadable(path, exc) from None
        raise DataError(f"the data file {shown(path)} cannot be read: it is a symbolic link to nothing") from None
    except NotADirectoryError:
        return False  # a part of the path is a file: the folder is not there
    except OSError as exc:
        raise _unreadable(path, exc) from None


# MNIST's largest file unpacks to 47,040,016 bytes: a 4.2 MB archive of 4 GiB of zeros was
# unpacked whole (in memory, then onto the disk, where every later run failed on it)
MAX_UNPACKED = 64 * 2**20


def _gunzip_atomically(source: Path, target: Path) -> bytes | None:
    """Unpack ``source`` next to itself; a corrupt archive leaves nothing behind. Where the folder
    cannot be written, nothing is written and the unpacked bytes are returned for use in memory."""
    try:
        with os.fdopen(open_regular(source), "rb") as raw, gzip.open(raw, "rb") as f:
            payload = f.read(MAX_UNPACKED + 1)
    except OSError as exc:
        if exc.errno is not None:  # the OS refused the file itself (a FIFO, a folder, no permission)
            raise _unreadable(source, exc) from None
        raise DataError(f"{source} is corrupt or truncated ({exc}); delete it to download again") from None
    except (EOFError, zlib.error) as exc:
        raise DataError(f"{source} is corrupt or truncated ({exc}); delete it to download again") from None
    if len(payload) > MAX_UNPACKED:
        raise DataError(f"{source} unpacks to more than {MAX_UNPACKED // 2**20} MiB: not an MNIST file")
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return payload
        raise DataError(f"cannot unpack {source.name} in {target.parent} ({os_reason(exc)})") from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(payload)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; data files are for everyone
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return None


def unpack_missing(raw: Path) -> dict[Path, bytes]:
    """Unpack each file present only as ``.gz``; → the ones that stay in memory (by plain path)."""
    in_memory = {}
    for split in SPLITS:
        for name in file_names(split):
            plain, packed = raw / name, raw / f"{name}.gz"
            if not present(plain) and present(packed):
                payload = _gunzip_atomically(packed, plain)
                if payload is not None:
                    in_memory[plain] = payload
    return in_memory


def _check_idx(path: Path, magic: int, expected_dims: int, in_memory: dict[Path, bytes]) -> int:
    """Check an idx file's header and size; return its item count."""
    if path in in_memory:
        header, size = in_memory[path][: 4 + 4 * expected_dims], len(in_memory[path])
    else:
        header, size = _read_head(path, 4 + 4 * expected_dims)
    if len(header) < 4 + 4 * expected_dims:  # 12 bytes of an images file said "unpack requires 16"
        raise DataError(f"{path} is truncated (no whole idx header: {len(header)} bytes)")
    found = struct.unpack(">I", header[:4])[0]
    if found != magic:
        raise DataError(f"{path} is not an idx file of the expected kind (magic {found}, expected {magic})")
    dims = struct.unpack(f">{expected_dims}I", header[4 : 4 + 4 * expected_dims])
    expected = len(header) + math.prod(dims)
    if expected_dims == 3 and dims[1:] != (28, 28):
        raise DataError(f"{path} holds {dims[1]}×{dims[2]} images, expected 28×28")
    if size != expected:
        raise DataError(f"{path} is truncated or padded ({size:,} bytes, header says {expected:,})")
    return dims[0]


def check_split(raw: Path, split: str, in_memory: dict[Path, bytes]) -> int:
    """Check a split's two files against each other; return its sample count."""
    images, labels = file_names(split)
    n_images = _check_idx(raw / images, IMAGE_MAGIC, 3, in_memory)
    n_labels = _check_idx(raw / labels, LABEL_MAGIC, 1, in_memory)
    if n_images != n_labels:
        raise DataError(f"{raw}: {images} has {n_images:,} images but {labels} has {n_labels:,} labels")
    if n_images == 0:
        raise DataError(f"{raw / images} holds no images")
    return n_images


def _read_idx(path: Path, header: int, shape: tuple[int, ...], in_memory: dict[Path, bytes]) -> torch.Tensor:
    """The body of a checked idx file as a uint8 tensor of ``shape`` (one read, no copy)."""
    if path in in_memory:
        return torch.frombuffer(bytearray(memoryview(in_memory[path])[header:]), dtype=torch.uint8).view(shape)
    body = bytearray(math.prod(shape))
    try:
        with os.fdopen(open_regular(path), "rb") as f:
            f.seek(header)
            got = f.readinto(body)
            extra = f.read(1)
    except OSError as exc:
        raise _unreadable(path, exc) from None
    if got != len(body) or extra:  # changed since it was checked
        raise DataError(f"{path} changed while it was read ({header + got:,} bytes); run again")
    return torch.frombuffer(body, dtype=torch.uint8).view(shape)


def read_split(raw: Path, split: str, count: int, in_memory: dict[Path, bytes]) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = file_names(split)
    return _read_idx(raw / images, 16, (count, 28, 28), in_memory), _read_idx(raw / labels, 8, (count,), in_memory)


def missing_files(raw: Path, in_memory: dict[Path, bytes]) -> list[str]:
    """The names of the four files neither on disk (plain) nor unpacked in memory."""
    names = [name for split in SPLITS for name in file_names(split)]
    return [name for name in names if raw / name not in in_memory and not present(raw / name)]


def all_present(raw: Path, in_memory: dict[Path, bytes]) -> bool:
    return not missing_files(raw, in_memory)


def any_present(raw: Path) -> bool:
    return any(present(raw / n) or present(raw / f"{n}.gz") for s in SPLITS for n in file_names(s))
