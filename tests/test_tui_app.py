"""The dashboard driven by Pilot over the real trainer on a small synthetic slice.

A training worker keeps the app busy, so waits poll a condition with a deadline
(``pilot.pause(0.05)`` loops) instead of waiting for idle.
"""

from __future__ import annotations

import time

import numpy as np
from waiting import notified
from waiting import pilot_wait as wait_for

from mnist_tui.sources.training import TrainingSource
from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.screens.help import HelpScreen
from mnist_tui.tui.widgets.epoch_plot import EpochPlot
from mnist_tui.tui.widgets.loss_plot import BatchLossPlot

SIZE = (120, 40)


async def hold(pilot, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await pilot.pause(0.05)


def shown_batch(app: MnistApp) -> tuple[int, int]:
    return app.dashboard.progress.epoch, app.dashboard.progress.batch


def dashboard_for(config, datasets=None, hold: bool = True) -> MnistApp:
    """The dashboard over a local trainer; ``hold``: it waits for space, as at launch."""
    return MnistApp(TrainingSource(config, datasets=datasets, hold=hold))


async def test_train_pause_resume_browse_and_quit_mid_epoch(tiny_config, small_synthetic):
    config = tiny_config.with_changes(epochs=200)  # far more than the test lets it run
    app = dashboard_for(config, small_synthetic)
    dashboard = app.dashboard
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: dashboard.state == "ready", "the data to load")
        assert shown_batch(app) == (1, 0)  # loaded, held at the first batch until space
        await hold(pilot, 0.3)
        assert shown_batch(app) == (1, 0)

        await pilot.press("space")
        loss_plot = dashboard.query_one("#loss-plot", BatchLossPlot)
        await wait_for(pilot, lambda: len(loss_plot.raw) >= 10, "batch losses in the plot")
        assert dashboard.state == "training"
        assert all(np.isfinite(loss_plot.raw.ys))

        panel = dashboard.browser
        await wait_for(pilot, lambda: panel.probabilities is not None, "the first epoch's predictions")
        acc_plot = dashboard.query_one("#acc-plot", EpochPlot)
        assert acc_plot.epochs and acc_plot.epochs[0] == 1
        assert panel.probabilities.shape == (len(small_synthetic.test_labels), 10)

        await pilot.press("space")  # pause: "pausing" until the trainer reports "paused" within a batch
        assert dashboard.state in ("pausing", "paused") and app.source.control.paused
        await wait_for(pilot, lambda: dashboard.state == "paused", "the trainer to report the pause")
        await hold(pilot, 0.4)  # the batch in flight finishes and reports
        frozen = shown_batch(app)
        await hold(pilot, 0.8)
        assert shown_batch(app) == frozen, "the batch counter moved while paused"

        # Browsing works while paused.
        first = panel.current_index
        await pilot.press("j")
        assert panel.current_index == first + 1
        await pilot.press("k", "k")
        assert panel.current_index == len(panel.labels) - 1  # wraps around
        await pilot.press("w")
        predicted = panel.probabilities.argmax(1)
        wrong = int((predicted != panel.labels).sum())
        assert panel.view_title == f"all digits, by index · wrong only ({wrong:,})"
        assert all(predicted[i] != panel.labels[i] for i in panel.indices)
        assert len(panel.indices) == wrong
        await pilot.press("w")
        assert panel.view_title == "all digits, by index" and len(panel.indices) == len(panel.labels)

        await pilot.press("space")  # resume
        assert dashboard.state == "training"
        await wait_for(pilot, lambda: shown_batch(app) != frozen, "training to go on after resume")

        progress = dashboard.progress
        await wait_for(pilot, lambda: 0 < progress.batch < progress.batches_per_epoch, "mid-epoch")
        await pilot.press("q")
    assert app.source_done.wait(timeout=10), "the training worker is still running after quit"
    assert app.result is not None and app.result.stopped
    assert app.return_value == 0


async def test_autostart_trains_without_a_key(tiny_config, small_synthetic):
    app = dashboard_for(tiny_config.with_changes(epochs=50), small_synthetic, hold=False)  # --autostart
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.dashboard.progress.batch > 0, "a batch without pressing space")
        assert app.dashboard.state in ("training", "loading")
        await pilot.press("q")
    assert app.source_done.wait(timeout=10)


async def test_quit_before_start_ends_the_worker(tiny_config, small_synthetic):
    app = dashboard_for(tiny_config, small_synthetic)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.dashboard.state == "ready", "the data to load")
        await pilot.press("q")
    assert app.source_done.wait(timeout=10)
    assert app.result.epochs_done == 0


async def test_missing_mnist_shows_a_failed_state_without_crashing(tiny_config, tmp_path):
    config = tiny_config.with_changes(dataset="mnist", data_dir=tmp_path / "no-mnist-here", download=False)
    app = dashboard_for(config, hold=False)  # --autostart
    dashboard = app.dashboard
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: dashboard.state == "failed", "the failed state")
        assert "no-mnist-here" in dashboard.failure or "MNIST" in dashboard.failure
        assert "failed" in str(dashboard.query_one("#state-line").content)
        await pilot.press("question_mark")  # the app still answers keys
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "the help screen")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is dashboard, "the help screen to close")
        await pilot.press("q")
    assert app.return_value == 2  # bad input (no data), as with --headless


async def test_every_action_the_dashboard_allows_is_in_the_command_palette_with_its_keys(tiny_config, small_synthetic):
    """The palette listed 8 of the dashboard's actions by hand (Inside, steering, the plot keys and
    the workspace were missing) and named ``m`` for a drawing mode that is on ``b``."""
    from mnist_tui.tui.screens.dashboard_keys import DASHBOARD_KEYS, PALETTE

    assert {binding.action for binding in DASHBOARD_KEYS} == set(PALETTE)  # every key has its line
    app = dashboard_for(tiny_config, small_synthetic)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.dashboard.state == "ready", "the data to load")
        screen = app.screen
        commands = {command.title: command for command in app.get_system_commands(screen)}
        allowed = {
            b.action for b in DASHBOARD_KEYS if "." in b.action or screen.check_action(b.action.partition("(")[0], ())
        }
        assert {PALETTE[action][0] for action in allowed} <= set(commands)
        assert "Pause training" not in commands  # not started: space starts, the palette offers the same
        assert commands["Digit drawing"].help.endswith("(b)")
        assert commands["Inside the network"].help.endswith("(i)")
        assert commands["Next digit"].help.endswith("(j ↓ → l)")
        assert {"Help", "Quit", "Start training", "Learning rate × 2", "Runs workspace"} <= set(commands)
        await commands["Wrong only"].callback()  # runs the key's action
        await pilot.pause(0.05)
        assert app.dashboard.browser.spec.wrong_only
        # the screens it opens offer their own keys there too, not Textual's scrolling ones
        await commands["Draw a digit"].callback()
        await wait_for(pilot, lambda: type(app.screen).__name__ == "DrawScreen", "the draw screen")
        await wait_for(pilot, lambda: app.screen.focused is not None, "the canvas to take the keys")
        drawing = {command.title: command.help for command in app.get_system_commands(app.screen)}
        assert {"Clear", "Eraser", "Inside", "Pen down/up", "Back", "Help"} <= set(drawing), drawing
        assert drawing["Clear"] == "(c)" and not {"Scroll Home", "Page Left"} & set(drawing)
        await pilot.press("q")
    assert app.source_done.wait(timeout=10)


def test_the_dashboard_paints_before_torch_loads():
    """First paint fast: neither the CLI nor the dashboard module imports torch, nor numpy
    (~0.1 s of the first frame on a 2-core AMD EPYC: the worker loads it with torch)."""
    import subprocess
    import sys

    code = "import sys, mnist_tui.cli, mnist_tui.tui.app; print(*sorted(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    assert "torch" not in loaded
    assert "numpy" not in loaded
    # the screens a key opens load when first opened: 65 ms of imports before the first frame
    later = {"confusion", "draw", "model_view", "workspace"}
    assert not {f"mnist_tui.tui.screens.{name}" for name in later} & loaded
    assert "textual_canvas" not in loaded


FIRST_FRAME = """
import asyncio, html, re, sys
from mnist_tui.config import Config
from mnist_tui.sources.training import TrainingSource
from mnist_tui.tui.app import MnistApp

async def main():
    app = MnistApp(TrainingSource(Config(dataset="synthetic"), hold=True), launch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.05)
        svg = app.export_screenshot()  # every widget painted: the screen's text as shown
        shown = html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\\xa0", " ")
        parts = ("● loading", "loading test digits…", "─ Predictions ─", "─ Epochs ─", "batch loss")
        missing = [part for part in parts if part not in shown]
        print(not missing, "numpy" in sys.modules, "torch" in sys.modules, missing)
        await pilot.press("q")

asyncio.run(main())
"""


def test_the_first_frame_is_composed_and_painted_without_numpy():
    """Importing is not all: composing and painting every widget must not load numpy either.
    (Its check of the painting was always true: a panel's render() is a truthy object.)"""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", FIRST_FRAME], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False", "False", "[]"], out.stdout + out.stderr


async def test_resumed_history_fills_plots_and_views_keep_the_digit_on_show(tiny_config, small_synthetic):
    from mnist_tui.training.events import DataReady, EpochRecord, Predictions
    from mnist_tui.tui.bridge import SourceBridge

    app = MnistApp(TrainingSource(tiny_config.with_changes(epochs=5), hold=True), launch=False)
    dashboard = app.dashboard
    images, labels = small_synthetic.test_images.numpy(), small_synthetic.test_labels.numpy()
    history = tuple(
        EpochRecord(
            epoch=e,
            train_loss=1.0 / e,
            train_acc=0.5 + e / 10,
            test_loss=0.8 / e,
            test_acc=0.6 + e / 10,
            seconds=1.0,
            samples_per_s=2000.0,
            lr=1e-3,
        )
        for e in (1, 2)
    )
    probs = np.full((len(labels), 10), 0.01, dtype=np.float32)
    probs[np.arange(len(labels)), (labels + (np.arange(len(labels)) % 3 == 0)) % 10] = 0.91  # every third wrong
    async with app.run_test(size=SIZE) as pilot:
        bridge = SourceBridge(dashboard.post_message, dashboard.inbox, app.snapshot)
        bridge(DataReady("synthetic", "cpu", "fp32", 2000, len(labels), 32, 21840, None, images, labels, 3, history, 5))
        bridge(Predictions(2, probs, labels, np.zeros((10, 10), np.int64)))
        panel = dashboard.browser
        await wait_for(pilot, lambda: panel.probabilities is not None, "the fed predictions")
        assert dashboard.query_one("#acc-plot", EpochPlot).epochs == [1, 2]
        assert dashboard.progress.best_epoch == 2 and dashboard.progress.run_batches_done == 64
        await pilot.press("j", "j", "j")  # index 3: wrong (3 % 3 == 0)
        assert panel.current_index == 3
        await pilot.press("w")  # a new filter starts at its first digit
        assert panel.current_index == 0 and list(panel.indices[:3]) == [0, 3, 6]
        await pilot.press("j")
        assert panel.current_index == 3
        bridge(Predictions(3, probs, labels, np.zeros((10, 10), np.int64)))  # the next epoch rebuilds the view
        await wait_for(pilot, lambda: panel.epoch == 3, "the next epoch's predictions")
        assert panel.current_index == 3 and list(panel.indices[:3]) == [0, 3, 6]  # the digit on show stays
        await pilot.press("k")
        assert panel.current_index == 0


async def test_stopping_the_run_takes_S_twice_and_says_what_the_first_press_would_lose(tiny_config, small_synthetic):
    """One S stopped the run at once (a follower's writer too: 1,973 batches of an epoch thrown away)."""
    app = dashboard_for(tiny_config.with_changes(epochs=50), small_synthetic)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.dashboard.state == "ready", "the data to load")
        await pilot.press("S")
        await notified(pilot, lambda text: "press S again within 3 s to stop the run" in text, "the S prompt")
        assert not app.source.control.stopped
        await pilot.press("S")
        assert app.source.control.stopped
        said = await notified(pilot, lambda text: "asked the run to stop" in text, "the stop notice")
        assert not any("press S again" in line for line in said)  # the prompt stayed over the stopped run
        await pilot.press("q")
    assert app.source_done.wait(timeout=10)


async def test_a_screenshot_without_a_downloads_folder_goes_to_the_working_folder(monkeypatch, tmp_path):
    """The palette's Screenshot said only "Failed to save screenshot" where ~/Downloads is missing."""
    import platformdirs

    from mnist_tui.config import Config

    monkeypatch.setattr(platformdirs, "user_downloads_path", lambda: tmp_path / "no-downloads")
    monkeypatch.chdir(tmp_path)
    app = MnistApp(TrainingSource(Config(dataset="synthetic", run_dir=tmp_path / "run"), hold=True), launch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        app.action_screenshot()

        def written() -> bool:  # Textual writes the file in place: seen read half-written under load
            return any(svg.read_text().rstrip().endswith("</svg>") for svg in tmp_path.glob("*.svg"))

        await wait_for(pilot, written, "the screenshot in the working folder")
        assert "mnist-tui" in next(tmp_path.glob("*.svg")).read_text()
        await pilot.press("q")


async def test_notices_are_shown_as_written_never_as_markup(tmp_path):
    """Notices carry run names and paths: "a[red]b cannot be opened" read "ab cannot be opened",
    and an escape sequence in a folder's name went to the terminal."""
    from mnist_tui.tui.app import MnistApp

    app = MnistApp(runs=tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        app.screen.notify("saved in runs/a[red]b\x1b[31m\nreplay: mnist-tui --replay runs/a[red]b")
        await pilot.pause(0.05)
        (notice,) = app._notifications
        assert notice.message == "saved in runs/a[red]b\\x1b[31m\nreplay: mnist-tui --replay runs/a[red]b"
        assert notice.markup is False
