"""Draw, confusion drill-down, browser orders and replay, on the real dashboard.

A training worker keeps the app busy: waits poll a condition with a deadline.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from waiting import pilot_wait as wait_for

from mnist_tui.config import Config
from mnist_tui.predictions_order import confusion_cell
from mnist_tui.sources.replay import ReplayRequest, ReplaySource
from mnist_tui.sources.training import TrainingSource
from mnist_tui.training.checkpoint import load_checkpoint
from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.screens.confusion import ConfusionScreen
from mnist_tui.tui.screens.draw import DrawScreen
from mnist_tui.tui.widgets.confusion import HEADER_ROWS, LABEL_WIDTH
from mnist_tui.tui.widgets.epoch_plot import EpochPlot

SIZE = (120, 40)
REPO = Path(__file__).resolve().parents[1]


def _training(config, datasets) -> MnistApp:
    """The dashboard over a local trainer that starts at once (--autostart)."""
    return MnistApp(TrainingSource(config, datasets=datasets))


async def _trained_one_epoch(pilot, app: MnistApp) -> None:
    await wait_for(pilot, lambda: app.dashboard.state == "finished", "one epoch of training")
    await wait_for(pilot, lambda: app.dashboard.browser.probabilities is not None, "the predictions")


def _worst_confusion(confusion: np.ndarray) -> tuple[int, int]:
    off = confusion - np.diag(np.diag(confusion))
    i, j = np.unravel_index(np.argmax(off), off.shape)
    return int(i), int(j)


async def test_confusion_cell_filters_the_browser_to_exactly_those_digits(tiny_config, small_synthetic):
    app = _training(tiny_config, small_synthetic)
    async with app.run_test(size=SIZE) as pilot:
        await _trained_one_epoch(pilot, app)
        panel = app.dashboard.browser
        predicted = panel.probabilities.argmax(1)
        confusion = np.bincount(panel.labels * 10 + predicted, minlength=100).reshape(10, 10)
        true, guess = _worst_confusion(confusion)
        assert confusion[true, guess] > 0, "the tiny run made no mistakes to drill into"

        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfusionScreen), "the confusion screen")
        screen = app.screen
        assert np.array_equal(screen.matrix.confusion, confusion)  # the epoch's matrix, as evaluated
        await pilot.press(*["down"] * true, *["right"] * guess, "enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfusionScreen), "the browser")

        shown = panel.indices
        assert len(shown) == confusion[true, guess]
        assert np.all(panel.labels[shown] == true) and np.all(predicted[shown] == guess)
        assert f"true {true} → predicted {guess}" in panel.view_title
        assert panel.current_index in set(shown.tolist())

        # and with the mouse: a diagonal cell is the digits the model gets right
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfusionScreen), "the confusion screen")
        matrix = app.screen.matrix
        await pilot.click(matrix, offset=(LABEL_WIDTH + 5 * 2 + 2, HEADER_ROWS + 2))
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfusionScreen), "the browser")
        assert np.array_equal(panel.indices, confusion_cell(panel.probabilities, panel.labels, 2, 2)[0])
        assert len(panel.indices) == confusion[2, 2]

        await pilot.press("o")  # the order key leaves the filter for the first order
        assert len(panel.indices) == len(panel.labels) and "index" in panel.view_title
        await pilot.press("q")


async def test_o_cycles_the_browser_orders_and_shows_them(tiny_config, small_synthetic):
    app = _training(tiny_config, small_synthetic)
    async with app.run_test(size=SIZE) as pilot:
        await _trained_one_epoch(pilot, app)
        panel = app.dashboard.browser
        probs, labels = panel.probabilities, panel.labels
        predicted = probs.argmax(1)

        await pilot.press("o")
        true_p = probs[panel.indices, labels[panel.indices]]
        assert "hardest" in panel.view_title and len(panel.indices) == len(labels)
        assert np.all(np.diff(true_p) >= 0)
        assert panel.current_index == panel.indices[0]  # the hardest digit is on show

        await pilot.press("o")
        mistakes = panel.indices
        assert "mistakes" in panel.view_title
        assert len(mistakes) == int((predicted != labels).sum())
        assert np.all(np.diff(probs[mistakes, predicted[mistakes]]) <= 0)

        for digit in range(10):
            await pilot.press("o")
            assert panel.view_title.startswith(f"true digit {digit}")
            assert len(panel.indices) == int((labels == digit).sum())
            assert np.all(labels[panel.indices] == digit)

        await pilot.press("o")
        assert np.array_equal(panel.indices, np.arange(len(labels)))
        await pilot.press("q")


async def test_draw_screen_predicts_with_a_copy_of_the_epochs_model(tiny_config, small_synthetic):
    app = _training(tiny_config, small_synthetic)
    async with app.run_test(size=SIZE) as pilot:
        await _trained_one_epoch(pilot, app)
        assert app.snapshot.epoch == 1
        saved = load_checkpoint(tiny_config.run_dir)["model"]
        copy = app.snapshot._model.state_dict()
        assert all(torch.equal(copy[k], saved[k]) for k in saved)  # the weights of the epoch's end

        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DrawScreen), "the draw screen")
        screen = app.screen
        await pilot.press("enter", "down", "enter", "down", "enter", "right", "enter")
        await wait_for(pilot, lambda: screen.probabilities is not None, "a live guess")
        expected = app.snapshot(screen.canvas.grid)
        await wait_for(pilot, lambda: np.allclose(screen.probabilities, expected), "the guess for the last dab")
        assert "at epoch 1" in screen.query_one("#draw-guess").note

        await pilot.press("escape")  # the drawing is kept for the next visit
        await wait_for(pilot, lambda: not isinstance(app.screen, DrawScreen), "the dashboard")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DrawScreen), "the draw screen again")
        assert app.screen.canvas.grid[14, 14] == 1.0
        await pilot.press("escape")
        await pilot.press("q")


@pytest.fixture(scope="module")
def headless_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("explore") / "run"
    command = [sys.executable, "-m", "mnist_tui", "--headless", "--dataset", "synthetic", "--epochs", "1"]
    command += ["--limit-train", "500", "--device", "cpu", "--run-dir", str(run_dir)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    return run_dir


def _replay_request(run_dir: Path) -> ReplayRequest:
    return ReplayRequest(
        run_dir, lambda saved: Config.from_dict({**(saved or {"dataset": "synthetic"}), "run_dir": run_dir})
    )


async def test_replay_shows_a_run_without_training(headless_run):
    before = {p.name: p.stat().st_mtime_ns for p in headless_run.iterdir()}
    rows = [line for line in (headless_run / "metrics.jsonl").read_text().splitlines() if line]
    app = MnistApp(ReplaySource(_replay_request(headless_run)))
    dashboard = app.dashboard
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: dashboard.state in ("finished", "stopped"), "the replay to load")
        await wait_for(pilot, lambda: dashboard.browser.probabilities is not None, "the checkpoint's predictions")
        assert dashboard.query_one("#acc-plot", EpochPlot).epochs == [1]
        assert not dashboard.check_action("start", ())  # nothing to train
        panel = app.dashboard.browser
        accuracy = float((panel.probabilities.argmax(1) == panel.labels).mean())
        recorded = float(__import__("json").loads(rows[-1])["test_acc"])
        assert accuracy == pytest.approx(recorded, abs=1e-6)

        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfusionScreen), "the confusion screen")
        assert app.screen.matrix.confusion.sum() == len(panel.labels)
        await pilot.press("escape")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DrawScreen), "the draw screen")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.probabilities is not None, "a guess from the checkpoint")
        await pilot.press("escape")
        await pilot.press("q")
    assert app.source_done.wait(timeout=10)
    assert {p.name: p.stat().st_mtime_ns for p in headless_run.iterdir()} == before  # nothing written


async def test_replay_of_metrics_only_shows_the_curves(headless_run, tmp_path):
    run_dir = tmp_path / "metrics-only"
    run_dir.mkdir()
    (run_dir / "metrics.jsonl").write_text((headless_run / "metrics.jsonl").read_text())
    app = MnistApp(ReplaySource(_replay_request(run_dir)))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.dashboard.state in ("finished", "stopped"), "the replay to load")
        assert app.dashboard.query_one("#acc-plot", EpochPlot).epochs == [1]
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DrawScreen), "the draw screen")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.shown_generation == app.screen.generation, "the guess")
        assert app.screen.probabilities is None and "no model" in app.screen.query_one("#draw-guess").note
        await pilot.press("escape")
        await pilot.press("q")
