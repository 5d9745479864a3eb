"""The dashboard under faults: an internal error, SIGINT, resizes, damaged rows, a diverging run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from waiting import pilot_wait as wait_for

from mnist_tui.config import Config
from mnist_tui.errors import TrainingDiverged
from mnist_tui.sources.replay import ReplayRequest, ReplaySource
from mnist_tui.sources.training import TrainingSource
from mnist_tui.training.events import EpochRecord
from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.screens.dashboard import DashboardScreen
from mnist_tui.tui.widgets.epoch_plot import EpochPlot

SIZE = (120, 40)
ROW = EpochRecord(1, 0.5, 0.8, 0.4, 0.85, 1.5, 40000.0, 0.01, 0.2, "synthetic digits", "cpu", 1)


async def test_an_internal_error_stops_the_run_and_exits_1_with_one_line(tiny_config, small_synthetic, monkeypatch):
    def broken(self) -> None:
        raise ValueError("a bug in a handler")

    monkeypatch.setattr(DashboardScreen, "action_toggle_wrong", broken)
    source = TrainingSource(tiny_config.with_changes(epochs=200), datasets=small_synthetic, hold=True)
    app = MnistApp(source)
    with pytest.raises(ValueError):  # Pilot re-raises what the app caught
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.dashboard.state == "ready", "the data to load")
            await pilot.press("space")
            await wait_for(pilot, lambda: app.dashboard.progress.batch > 0, "training")
            await pilot.press("w")
            await pilot.pause(0.05)
    assert app.return_code == 1
    assert app.crash is not None and "ValueError: a bug in a handler" in app.crash and "\n" not in app.crash
    assert source.control.stopped, "the training worker was left running"
    assert app.source_done.wait(timeout=10)


async def test_the_layout_follows_the_size_after_any_sequence_of_resizes(tiny_config, small_synthetic):
    app = MnistApp(TrainingSource(tiny_config, datasets=small_synthetic, hold=True), launch=False)
    async with app.run_test(size=SIZE) as pilot:
        dashboard = app.dashboard
        for width, height in [(80, 24), (120, 40), (80, 24), (200, 60), (90, 30), (120, 40)]:
            await pilot.resize_terminal(width, height)
        await pilot.pause()
        assert not dashboard.has_class("-narrow") and not dashboard.has_class("-short")
        await pilot.resize_terminal(80, 24)
        await pilot.resize_terminal(81, 25)
        await pilot.pause()
        assert dashboard.has_class("-narrow") and dashboard.has_class("-short")


async def test_replay_of_rows_wrong_inside_shows_the_valid_ones_and_says_what_it_skipped(tmp_path, monkeypatch):
    run = tmp_path / "run"
    run.mkdir()
    rows = [
        ROW.to_json(),
        ROW.to_json() | {"epoch": 2, "test_acc": "0.9"},  # a string where a number belongs
        {k: v for k, v in ROW.to_json().items() if k != "train_loss"} | {"epoch": 3},  # a missing field
        ROW.to_json() | {"epoch": 4, "test_loss": None},
        ROW.to_json() | {"epoch": 5, "test_acc": 0.9},
    ]
    text = "".join(json.dumps(r) + "\n" for r in rows).replace('"test_loss": null', '"test_loss": NaN')
    (run / "metrics.jsonl").write_text(text)
    app = MnistApp(ReplaySource(ReplayRequest(run, lambda saved: Config(dataset="synthetic", run_dir=run))))
    notices: list[str] = []
    original = DashboardScreen.notify
    monkeypatch.setattr(
        DashboardScreen, "notify", lambda self, message, **kw: (notices.append(message), original(self, message, **kw))
    )
    async with app.run_test(size=SIZE) as pilot:
        dashboard = app.dashboard
        await wait_for(pilot, lambda: dashboard.state in ("finished", "stopped"), "the replay")
        assert dashboard.query_one("#acc-plot", EpochPlot).epochs == [1, 5]
    assert app.crash is None
    assert any("skipped 3 damaged rows of metrics.jsonl" in n and "line 2" in n for n in notices), notices


@pytest.mark.parametrize("lr", [10.0, 5.0])
def test_a_loss_far_above_chance_stops_the_run_as_diverged(tiny_config, small_synthetic, lr):
    from mnist_tui.training.loop import Trainer

    config = tiny_config.with_changes(lr=lr, schedule="constant", batch_size=32, epochs=3)
    result = Trainer(config, lambda e: None, datasets=small_synthetic).run()
    assert isinstance(result.error, TrainingDiverged), result.error
    assert "lower --lr" in str(result.error)


def test_a_diverging_headless_run_exits_1_with_one_line(tmp_path):
    command = [sys.executable, "-m", "mnist_tui", "--headless", "--dataset", "synthetic", "--limit-train", "2000"]
    command += ["--device", "cpu", "--lr", "10", "--schedule", "constant", "--run-dir", str(tmp_path / "run")]
    out = subprocess.run(command, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": "."})
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "diverged" in lines[0], out.stderr


@pytest.mark.parametrize("flag", ["--replay", "--follow", "--resume", "--run-dir"])
def test_a_name_too_long_for_the_file_system_is_one_line(tmp_path, flag):
    long = str(tmp_path / ("x" * 300))
    command = [sys.executable, "-m", "mnist_tui", "--headless", "--dataset", "synthetic", flag, long]
    out = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[1])
    assert out.returncode == 2, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr, out.stderr


def test_a_crash_is_one_line_naming_where_it_was_raised_and_the_file_with_its_traceback():
    from mnist_tui.errors import crash_line

    def deep() -> None:
        raise KeyError("lost\nkey")

    try:
        deep()
    except KeyError as exc:
        line = crash_line("the dashboard", exc)
    assert line.startswith("the dashboard failed: KeyError: 'lost\\nkey' at test_reliability_dashboard.py:")
    path = Path(line.rsplit("(traceback in ", 1)[1].rstrip(")"))
    try:
        assert "in deep" in path.read_text() and 'raise KeyError("lost\\nkey")' in path.read_text()
    finally:
        path.unlink()
