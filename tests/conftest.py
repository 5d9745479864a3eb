"""Shared fixtures.

Real MNIST is found through ``MNIST_TUI_TEST_DATA`` (a folder holding ``MNIST/raw``).
Without it the real-data tests skip, except when ``MNIST_TUI_REQUIRE_REAL=1`` (set by
``.ci/run``): then a missing folder fails them, so CI can never pass by skipping.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from mnist_tui.config import Config

# A fixed op-thread count (set before torch loads): runs compared bit for bit must not change theirs
# mid-run when the other test worker keeps a core busy (mnist_tui.training.core_share, which a set
# OMP_NUM_THREADS turns off; tests/test_core_share.py runs it without). 2: what CI's 2 cores give.
os.environ.setdefault("OMP_NUM_THREADS", str(min(2, len(os.sched_getaffinity(0)))))


def _real_mnist_dir() -> Path:
    value = os.environ.get("MNIST_TUI_TEST_DATA")
    required = os.environ.get("MNIST_TUI_REQUIRE_REAL") == "1"
    if not value:
        if required:
            pytest.fail("MNIST_TUI_REQUIRE_REAL=1 but MNIST_TUI_TEST_DATA is not set")
        pytest.skip("real MNIST not available: set MNIST_TUI_TEST_DATA to a folder holding MNIST/raw")
    path = Path(value).resolve()
    if (
        not (path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").exists()
        and not (path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz").exists()
    ):
        message = f"MNIST_TUI_TEST_DATA={value} holds no MNIST/raw files"
        if required:
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def real_mnist_dir() -> Path:
    return _real_mnist_dir()


@pytest.fixture(scope="session")
def real_mnist(real_mnist_dir):
    from mnist_tui.data import load_mnist

    return load_mnist(real_mnist_dir, download=False)


@pytest.fixture(scope="session")
def small_synthetic():
    """A small synthetic set: quick to make and to train on."""
    from mnist_tui.synthetic import synthetic_digits

    return synthetic_digits(seed=0, train_size=2000, test_size=500)


@pytest.fixture
def tiny_config(tmp_path) -> Config:
    """Synthetic data, CPU, fp32, no downloads: the base for fast trainer tests."""
    return Config(
        epochs=1,
        batch_size=64,
        lr=3e-3,
        seed=0,
        device="cpu",
        dataset="synthetic",
        data_dir=tmp_path / "data",
        run_dir=tmp_path / "run",
        precision="fp32",
        download=False,
    )


@pytest.fixture(autouse=True)
def private_config_dir(tmp_path, monkeypatch):
    """Plot settings (plots.json) go to a test's own folder, never the user's config."""
    monkeypatch.setenv("MNIST_TUI_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture(autouse=True, scope="session")
def private_temporary_folder(tmp_path_factory):
    """Temporary files (the crash reports ``crash_line`` writes, a child's too) go under pytest's
    own folder, which it prunes: the suite left about ten in /tmp at each run (254 here)."""
    folder = str(tmp_path_factory.mktemp("tmp"))
    before = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"], tempfile.tempdir = folder, folder
    yield
    if before[0] is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = before[0]
    tempfile.tempdir = before[1]
