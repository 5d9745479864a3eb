import gzip
import shutil
from pathlib import Path

import pytest
import torch

from mnist_tui.data import load_datasets, load_mnist, normalise
from mnist_tui.errors import DataError, DataUnavailable
from mnist_tui.synthetic import synthetic_digits

NAMES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


@pytest.mark.real_mnist
def test_real_mnist_shapes_dtypes_and_counts(real_mnist):
    d = real_mnist
    assert d.name == "MNIST"
    assert d.train_images.shape == (60_000, 28, 28) and d.train_images.dtype == torch.uint8
    assert d.test_images.shape == (10_000, 28, 28) and d.test_images.dtype == torch.uint8
    assert d.train_labels.dtype == torch.int64 and d.test_labels.shape == (10_000,)
    test_counts = torch.bincount(d.test_labels, minlength=10)
    assert int(test_counts[1]) == 1_135
    assert int(test_counts.sum()) == 10_000
    assert int(torch.bincount(d.train_labels, minlength=10)[1]) == 6_742


@pytest.mark.real_mnist
def test_normalised_real_mnist_has_the_published_mean_and_std(real_mnist):
    x = normalise(real_mnist.train_images)
    assert x.shape == (60_000, 1, 28, 28) and x.dtype == torch.float32
    assert abs(float(x.mean())) < 1e-3
    assert abs(float(x.std()) - 1.0) < 1e-3


@pytest.mark.real_mnist
def test_gz_only_folder_is_unpacked_and_read(real_mnist_dir, tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in NAMES[2:]:  # test split from .gz, train split plain
        shutil.copy(real_mnist_dir / "MNIST" / "raw" / f"{name}.gz", raw)
    for name in NAMES[:2]:
        (raw / name).symlink_to(real_mnist_dir / "MNIST" / "raw" / name)
    d = load_mnist(tmp_path, download=False)
    assert d.test_images.shape == (10_000, 28, 28)
    assert (raw / "t10k-images-idx3-ubyte").stat().st_size == 7_840_016


def test_missing_mnist_with_dataset_mnist_raises_unavailable(tmp_path):
    with pytest.raises(DataUnavailable):
        load_datasets("mnist", tmp_path, seed=0, download=False)


def test_missing_mnist_with_auto_falls_back_to_synthetic_with_notice(tmp_path):
    d = load_datasets("auto", tmp_path, seed=0, download=False)
    assert d.name == "synthetic digits"
    assert d.notice and "synthetic" in d.notice and str(tmp_path) in d.notice


def test_corrupt_gz_is_a_data_error(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in NAMES:
        (raw / f"{name}.gz").write_bytes(gzip.compress(b"x" * 100)[:20])
    with pytest.raises(DataError, match="corrupt or truncated"):
        load_mnist(tmp_path, download=False)


def test_synthetic_is_deterministic_balanced_and_mnist_shaped():
    a = synthetic_digits(seed=3, train_size=1000, test_size=200)
    b = synthetic_digits(seed=3, train_size=1000, test_size=200)
    c = synthetic_digits(seed=4, train_size=1000, test_size=200)
    assert torch.equal(a.train_images, b.train_images) and torch.equal(a.test_labels, b.test_labels)
    assert not torch.equal(a.train_images, c.train_images)
    assert a.train_images.shape == (1000, 28, 28) and a.train_images.dtype == torch.uint8
    assert torch.bincount(a.train_labels, minlength=10).tolist() == [100] * 10
    assert torch.bincount(a.test_labels, minlength=10).tolist() == [20] * 10


def test_synthetic_digits_are_centred_like_mnist():
    d = synthetic_digits(seed=0, train_size=500, test_size=100)
    img = d.train_images.float()
    mass = img.sum((1, 2))
    ys = torch.arange(28).float()
    cy = (img.sum(2) * ys).sum(1) / mass
    cx = (img.sum(1) * ys).sum(1) / mass
    assert abs(float(cy.mean()) - 13.5) < 1.5 and abs(float(cx.mean()) - 13.5) < 1.5
    # Borders are (nearly) empty, as in MNIST.
    assert float(img[:, :2, :].mean()) < 8 and float(img[:, :, :2].mean()) < 8


@pytest.mark.real_mnist
def test_a_read_only_folder_of_gz_files_is_read_in_memory(real_mnist_dir, tmp_path, monkeypatch):
    """A shared, read-only copy holding only the .gz files: nothing can be unpacked next to them.
    Tests run as root, which permission bits do not stop: the file system's refusal is simulated."""
    import errno
    import os

    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in NAMES:
        shutil.copy(real_mnist_dir / "MNIST" / "raw" / f"{name}.gz", raw)
    real_open = os.open

    def read_only(path, flags, *args, **kwargs):
        if flags & os.O_CREAT and Path(path).parent == raw:
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only)
    d = load_mnist(tmp_path, download=False)
    monkeypatch.undo()
    plain = load_mnist(real_mnist_dir, download=False)
    assert torch.equal(d.train_images, plain.train_images) and torch.equal(d.test_labels, plain.test_labels)
    assert sorted(p.name for p in raw.iterdir()) == sorted(f"{name}.gz" for name in NAMES)  # nothing written


def test_a_training_limit_past_every_digit_is_said_not_kept_silent():
    """``--limit-train 100000`` on MNIST's 60,000 trained on all of them without a word."""
    data = synthetic_digits(seed=0, train_size=500, test_size=100, notice="offline: synthetic digits")
    assert len(data.limited(200).train_labels) == 200 and data.limited(200).notice == data.notice
    assert data.limited(500) is data and data.limited(None) is data
    beyond = data.limited(1_000)
    assert len(beyond.train_labels) == 500 and torch.equal(beyond.train_images, data.train_images)
    assert (
        beyond.notice
        == "offline: synthetic digits; --limit-train 1,000 is more than the 500 training digits: all are used"
    )
    assert synthetic_digits(train_size=500, test_size=100).limited(501).notice.startswith("--limit-train 501 is more")
