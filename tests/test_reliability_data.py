"""Issue 16: data files that are not regular readable files are one clear line, and never block.

Each test lays out ``MNIST/raw`` with four small, valid idx files, then swaps one for
something else: a folder, a FIFO, a device, a symlink loop, a dangling link, a file the
OS refuses to open. A FIFO used to hang ``open`` forever; an alarm turns a hang into a failure.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import os
import signal
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from mnist_tui.data import load_datasets, load_mnist
from mnist_tui.errors import DataError

NAMES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


def _idx_images(count: int) -> bytes:
    return struct.pack(">IIII", 2051, count, 28, 28) + bytes(count * 28 * 28)


def _idx_labels(count: int) -> bytes:
    return struct.pack(">II", 2049, count) + bytes(i % 10 for i in range(count))


def _layout(root: Path) -> Path:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for split, count in (("train", 20), ("t10k", 10)):
        (raw / f"{split}-images-idx3-ubyte").write_bytes(_idx_images(count))
        (raw / f"{split}-labels-idx1-ubyte").write_bytes(_idx_labels(count))
    return raw


@contextlib.contextmanager
def _fails_instead_of_hanging(seconds: int = 30):
    """A blocked ``open`` is interrupted by the alarm, and the test fails saying so."""

    def hung(signum, frame):
        raise AssertionError(f"reading the data blocked for {seconds} s (a FIFO opened without O_NONBLOCK?)")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _one_line_naming(info, path: Path, *words: str) -> None:
    message = str(info.value)
    assert "\n" not in message and str(path) in message, message
    for word in words:
        assert word in message, message


def test_the_small_layout_loads(tmp_path):
    _layout(tmp_path)
    data = load_mnist(tmp_path, download=False)
    assert data.train_images.shape == (20, 28, 28) and data.test_labels.shape == (10,)


def test_a_folder_in_place_of_a_data_file(tmp_path):
    raw = _layout(tmp_path)
    target = raw / NAMES[0]
    target.unlink()
    target.mkdir()
    with pytest.raises(DataError) as info:
        load_mnist(tmp_path, download=False)
    _one_line_naming(info, target, "a folder")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("name", [NAMES[1], NAMES[2]])
def test_a_fifo_in_place_of_a_data_file_is_refused_without_blocking(tmp_path, name):
    raw = _layout(tmp_path)
    target = raw / name
    target.unlink()
    os.mkfifo(target)  # no writer will ever come
    with _fails_instead_of_hanging(), pytest.raises(DataError) as info:
        load_mnist(tmp_path, download=False)
    _one_line_naming(info, target, "FIFO")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_in_place_of_a_gz_archive_is_refused_without_blocking(tmp_path):
    raw = _layout(tmp_path)
    (raw / NAMES[3]).unlink()
    os.mkfifo(raw / f"{NAMES[3]}.gz")
    with _fails_instead_of_hanging(), pytest.raises(DataError) as info:
        load_datasets("auto", tmp_path, seed=0, download=False)  # auto must not fall back silently either
    _one_line_naming(info, raw / f"{NAMES[3]}.gz", "FIFO")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_a_device_in_place_of_a_data_file(tmp_path):
    raw = _layout(tmp_path)
    target = raw / NAMES[0]
    target.unlink()
    target.symlink_to("/dev/zero")  # endless zeros: reading it whole would never end
    with _fails_instead_of_hanging(), pytest.raises(DataError) as info:
        load_mnist(tmp_path, download=False)
    _one_line_naming(info, target, "character device")


def test_a_symlink_loop_and_a_dangling_link(tmp_path):
    raw = _layout(tmp_path)
    loop = raw / NAMES[0]
    loop.unlink()
    loop.symlink_to(loop.name)  # points at itself
    with pytest.raises(DataError) as info:
        load_mnist(tmp_path, download=False)
    _one_line_naming(info, loop, "symbolic links")

    loop.unlink()
    loop.symlink_to(tmp_path / "gone")
    with pytest.raises(DataError) as info:
        load_mnist(tmp_path, download=False)
    _one_line_naming(info, loop, "symbolic link to nothing")


def test_a_file_the_os_will_not_open(tmp_path, monkeypatch):
    """Tests run as root, which permission bits do not stop: the refusal is simulated at ``os.open``."""
    raw = _layout(tmp_path)
    target = raw / NAMES[2]
    real_open = os.open

    def refusing_open(path, flags, *args, **kwargs):
        if Path(path) == target:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing_open)
    with pytest.raises(DataError) as info:
        load_mnist(tmp_path, download=False)
    _one_line_naming(info, target, "permission denied")


def test_a_data_folder_name_too_long_for_the_file_system(tmp_path):
    data_dir = tmp_path / ("d" * 300)  # NAME_MAX is 255 on every common file system
    with pytest.raises(DataError) as info:
        load_mnist(data_dir, download=False)
    message = str(info.value)
    assert "\n" not in message and "longer than the file system allows" in message


def test_raw_is_a_file_not_a_folder(tmp_path):
    (tmp_path / "MNIST").mkdir()
    (tmp_path / "MNIST" / "raw").write_bytes(gzip.compress(b"not a folder"))
    with pytest.raises(DataError) as info:
        load_datasets("auto", tmp_path, seed=0, download=False)
    _one_line_naming(info, tmp_path / "MNIST" / "raw", "not a folder")


def test_an_empty_split_and_a_label_past_nine_are_refused_with_the_file(tmp_path):
    raw = _layout(tmp_path)
    (raw / NAMES[2]).write_bytes(_idx_images(0))
    (raw / NAMES[3]).write_bytes(_idx_labels(0))
    with pytest.raises(DataError) as info:
        load_mnist(tmp_path, download=False)
    _one_line_naming(info, raw / NAMES[2], "no images")
    (raw / NAMES[2]).write_bytes(_idx_images(10))
    (raw / NAMES[3]).write_bytes(struct.pack(">II", 2049, 10) + bytes([1] * 9 + [10]))
    with pytest.raises(DataError) as info:
        load_mnist(tmp_path, download=False)
    assert "labels outside 0–9" in str(info.value)


def test_the_files_are_read_as_written_without_torchvision(tmp_path):
    raw = _layout(tmp_path)
    pixels = bytes(range(256)) * (20 * 28 * 28 // 256) + bytes(20 * 28 * 28 % 256)
    (raw / NAMES[0]).write_bytes(struct.pack(">IIII", 2051, 20, 28, 28) + pixels)
    script = (
        "import sys; from pathlib import Path; from mnist_tui.data import load_mnist; "
        f"d = load_mnist(Path({str(tmp_path)!r}), download=False); "
        "print('torchvision' in sys.modules, d.train_images.flatten().tolist() == list(Path("
        f"{str(raw / NAMES[0])!r}).read_bytes()[16:]), d.train_labels.tolist())"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split(
        " ", 2
    )
    assert out[0] == "False"  # reading four idx files needs no torchvision (1 s and 164 MB to import)
    assert out[1] == "True"
    assert out[2].strip() == str([i % 10 for i in range(20)])
