"""MNIST as tensors: read once from its idx files, validated, normalised, batched by index.

Layout on disk is torchvision's: ``<data_dir>/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte``.
The files are read here (a header checked, then one read into a tensor); torchvision is
imported only to download them: importing ``torchvision.datasets`` costs 1.0 s and 164 MB of
peak memory after torch (measured on 2 AMD EPYC cores), for reading four plain files.
Files only present as ``.gz`` are unpacked once, atomically; in a folder this process cannot
write (a shared, read-only copy) they are unpacked in memory at each load instead (0.16 s for
the four, AMD EPYC). When MNIST is neither on disk
nor downloadable the caller gets :class:`DataUnavailable` and may fall back to the
built-in synthetic digits.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import io
import math
import os
import struct
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import torch

from mnist_tui.errors import DataError, DataUnavailable
from mnist_tui.files import download_reason, open_regular, os_reason, probe_write, shown

MEAN, STD = 0.1307, 0.3081
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049
SPLITS = {"train": 60_000, "t10k": 10_000}


@dataclass(frozen=True)
class Datasets:
    """uint8 images (N, 28, 28) and int64 labels (N,), for training and test."""

    name: str
    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    notice: str | None = None

    def limited(self, limit_train: int | None) -> Datasets:
        if limit_train is None or limit_train >= len(self.train_labels):
            return self
        return Datasets(
            self.name,
            self.train_images[:limit_train],
            self.train_labels[:limit_train],
            self.test_images,
            self.test_labels,
            self.notice,
        )


def normalise(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) → float32 (N, 1, 28, 28) with MNIST's mean and std.

    The trainer calls this on each batch as it is taken (one new tensor, changed in place).
    """
    return images.unsqueeze(1).float().sub_(255 * MEAN).mul_(1 / (255 * STD))


def raw_folder(data_dir: Path) -> Path:
    return Path(data_dir) / "MNIST" / "raw"


def _file_names(split: str) -> tuple[str, str]:
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


def _present(path: Path) -> bool:
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


def _unpack_missing(raw: Path) -> dict[Path, bytes]:
    """Unpack each file present only as ``.gz``; → the ones that stay in memory (by plain path)."""
    in_memory = {}
    for split in SPLITS:
        for name in _file_names(split):
            plain, packed = raw / name, raw / f"{name}.gz"
            if not _present(plain) and _present(packed):
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


def _check_split(raw: Path, split: str, in_memory: dict[Path, bytes]) -> int:
    """Check a split's two files against each other; return its sample count."""
    images, labels = _file_names(split)
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


def _read_split(raw: Path, split: str, count: int, in_memory: dict[Path, bytes]) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = _file_names(split)
    return _read_idx(raw / images, 16, (count, 28, 28), in_memory), _read_idx(raw / labels, 8, (count,), in_memory)


def _all_present(raw: Path, in_memory: dict[Path, bytes]) -> bool:
    return all(raw / name in in_memory or _present(raw / name) for split in SPLITS for name in _file_names(split))


def _any_present(raw: Path) -> bool:
    return any(_present(raw / n) or _present(raw / f"{n}.gz") for s in SPLITS for n in _file_names(s))


def _download(data_dir: Path) -> None:
    """Download into ``data_dir``; a folder it cannot write is MNIST unavailable (``auto`` then falls
    back to synthetic digits, as for a missing folder). The folders made for a download that
    failed are removed again: an offline run leaves no empty ``MNIST/raw`` behind."""
    from torchvision.datasets import MNIST

    raw = raw_folder(data_dir)
    made = [p for p in (raw, *raw.parents) if not os.path.lexists(p)]
    try:
        raw.mkdir(parents=True, exist_ok=True)
        probe_write(raw)
    except OSError as exc:
        _remove_empty(made)
        why = f"cannot create {shown(raw)}" if made else f"{shown(raw)} is not writable"
        raise DataUnavailable(f"MNIST is not in {data_dir} and {why} to download it ({os_reason(exc)})") from None
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            MNIST(str(data_dir), train=True, download=True)
            MNIST(str(data_dir), train=False, download=True)
    except (RuntimeError, OSError) as exc:
        _remove_empty(made)
        raise DataUnavailable(
            f"MNIST is not in {data_dir} and could not be downloaded ({download_reason(exc)})"
        ) from None


def _remove_empty(folders: list[Path]) -> None:
    """``folders`` deepest first; one that holds anything (a partial download) is kept."""
    for folder in folders:
        with contextlib.suppress(OSError):
            folder.rmdir()


def load_mnist(data_dir: Path, download: bool = True) -> Datasets:
    """Read MNIST from ``data_dir`` (downloading it there if allowed and absent)."""
    data_dir = Path(data_dir).expanduser()
    raw = raw_folder(data_dir)
    in_memory: dict[Path, bytes] = {}
    if _present(raw):
        if not raw.is_dir():
            raise DataError(f"{shown(raw)} is not a folder (MNIST's files go in a folder of that name)")
        in_memory = _unpack_missing(raw)
    if not _all_present(raw, in_memory):
        if _any_present(raw) and not download:
            raise DataError(f"{raw} has only some of the four MNIST files")
        if not download:
            raise DataUnavailable(f"MNIST is not in {data_dir} (looked for {raw})")
        _download(data_dir)
    counts = {split: _check_split(raw, split, in_memory) for split in SPLITS}
    (train_x, train_y), (test_x, test_y) = (_read_split(raw, split, n, in_memory) for split, n in counts.items())
    for labels in (train_y, test_y):
        if int(labels.max()) > 9:  # uint8: never below 0, and _check_split refused an empty split
            raise DataError(f"{raw} has labels outside 0–9")
    return Datasets("MNIST", train_x, train_y.long(), test_x, test_y.long())


def load_datasets(dataset: str, data_dir: Path, seed: int, download: bool = True) -> Datasets:
    """``auto``: MNIST if it can be had, else synthetic digits with a notice.

    ``mnist`` never falls back; ``synthetic`` never touches the disk or the network.
    """
    if dataset == "synthetic":
        from mnist_tui.synthetic import synthetic_digits

        return synthetic_digits(seed=seed)
    try:
        return load_mnist(data_dir, download=download)
    except DataUnavailable as exc:
        if dataset == "mnist":
            raise
        from mnist_tui.synthetic import synthetic_digits

        notice = f"{exc}; training on the built-in synthetic digits instead"
        return synthetic_digits(seed=seed, notice=notice)
