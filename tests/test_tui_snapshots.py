"""SVG snapshots at fixed sizes, fed deterministic events (no training, no timing).

Update after an intended change: ``pytest tests/test_tui_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mnist_tui import sysstats
from mnist_tui.config import Config
from mnist_tui.sources.training import TrainingSource
from mnist_tui.training.events import DataReady, EpochRecord, Predictions
from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.bridge import SourceBridge


def _history(epochs: int) -> tuple[EpochRecord, ...]:
    rows = []
    for e in range(1, epochs + 1):
        rows.append(
            EpochRecord(
                epoch=e,
                train_loss=0.9 / e,
                train_acc=1 - 0.3 / e,
                test_loss=0.7 / e,
                test_acc=1 - 0.2 / e,
                seconds=10.0 + e,
                samples_per_s=2000.0,
                lr=1e-3,
            )
        )
    return tuple(rows)


def _predictions(labels: np.ndarray, epoch: int) -> Predictions:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(len(labels), 10))
    logits[np.arange(len(labels)), labels] += 2.5  # mostly right, some wrong
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (labels, probs.argmax(1)), 1)
    return Predictions(epoch, probs.astype(np.float32), labels, confusion)


# The system line samples this process (CPU, memory): fixed here, so the pictures do not drift.
FIXED_SYSTEM = sysstats.SystemStats(cpu_percent=97.0, rss_mb=512.0, cpu_count=2, torch_threads=2)


@pytest.fixture
def resumed_app(small_synthetic, monkeypatch):
    """A dashboard showing a resumed run after 3 epochs, held before training on."""
    monkeypatch.setattr(sysstats.SystemSampler, "sample", lambda self: FIXED_SYSTEM)
    config = Config(epochs=10, dataset="synthetic", device="cpu", precision="fp32", run_dir=Path("runs/snapshot"))
    app = MnistApp(TrainingSource(config, hold=True), launch=False)
    images, labels = small_synthetic.test_images.numpy(), small_synthetic.test_labels.numpy()
    history = _history(3)
    settings = config.to_dict()
    events = [
        DataReady(
            "synthetic", "cpu", "fp32", 2000, len(labels), 32, 21840, None, images, labels, 4, history, 10, settings
        ),
        _predictions(labels, 3),
    ]

    async def feed(pilot, keys=()):
        dashboard = app.dashboard
        bridge = SourceBridge(dashboard.post_message, dashboard.inbox, app.snapshot)
        for event in events:
            bridge(event)
        await pilot.pause()
        dashboard.redraw_plots()
        for key in keys:
            await pilot.press(key)
        await pilot.pause()

    return app, feed


def test_dashboard_resumed_run_ready(snap_compare, resumed_app):
    app, feed = resumed_app
    assert snap_compare(app, terminal_size=(120, 40), run_before=feed)


def test_dashboard_small_terminal_wrong_only(snap_compare, resumed_app):
    app, feed = resumed_app

    async def run_before(pilot):
        await feed(pilot, keys=("w", "j"))

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_help_screen(snap_compare, resumed_app):
    app, feed = resumed_app

    async def run_before(pilot):
        await feed(pilot, keys=("question_mark",))

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_dashboard_small_terminal_epochs_side_panel(snap_compare, resumed_app):
    """At 80×24 the side panel takes turns: p shows the epochs table (four columns that fit)."""
    app, feed = resumed_app

    async def run_before(pilot):
        await feed(pilot, keys=("p",))

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
