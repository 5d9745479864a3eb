"""The start: the first frame before the source's worker, and the collector held off only for it."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from waiting import pilot_wait as wait_for

from mnist_tui.cli import main
from mnist_tui.launch import hold_collector, release_collector
from mnist_tui.sources.base import PassiveSource
from mnist_tui.training.events import RunResult
from mnist_tui.tui.app import MnistApp


@pytest.fixture
def held_collector():
    """The collector as ``mnist-tui`` holds it at launch, and as it was after the test."""
    hold_collector()
    yield
    release_collector()
    gc.unfreeze()
    gc.enable()


class RecordedStart(PassiveSource):
    run_dir: Path | None = None
    title = "replay"

    def __init__(self, order: list[str]) -> None:
        self.order = order

    def run(self, listener) -> RunResult:
        self.order.append("source")
        return RunResult()

    def close(self) -> None:
        pass


async def test_the_source_starts_after_the_first_frame_and_the_collector_runs_again_then(held_collector, monkeypatch):
    order: list[str] = []
    first_frame = MnistApp.on_ready

    def on_ready(app: MnistApp) -> None:
        order.append(f"first frame, collector {'on' if gc.isenabled() else 'off'}")
        first_frame(app)

    monkeypatch.setattr(MnistApp, "on_ready", on_ready)
    app = MnistApp(RecordedStart(order))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: "source" in order, "the source to start")
        assert order == ["first frame, collector off", "source"]
        assert gc.isenabled()
        await pilot.press("q")


async def test_psutil_is_loaded_after_the_first_frame_not_before_it(monkeypatch):
    """psutil took 15-20 ms of the first frame: the system line makes its sampler after it."""
    import subprocess
    import sys

    from mnist_tui.tui.widgets.system_panel import SystemPanel

    program = "import sys, mnist_tui.cli, mnist_tui.tui.app; print(sorted({'psutil', 'torch'} & set(sys.modules)))"
    loaded = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "[]"
    at_first_frame: list[bool] = []
    first_frame = MnistApp.on_ready

    def on_ready(app: MnistApp) -> None:
        at_first_frame.append(app.dashboard.query_one("#system", SystemPanel)._sampler is None)
        first_frame(app)

    monkeypatch.setattr(MnistApp, "on_ready", on_ready)
    app = MnistApp(RecordedStart([]))
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.dashboard.query_one("#system", SystemPanel)
        await wait_for(pilot, lambda: panel.samples >= 1, "the system line's first figure")
        assert at_first_frame == [True] and "cpu" in str(panel.render())
        await pilot.press("q")


def test_a_command_that_opens_no_window_lets_the_collector_go_at_once(held_collector, tmp_path, capsys):
    assert main(["--headless", "--replay", str(tmp_path / "none")]) == 2
    assert "it does not exist" in capsys.readouterr().err
    assert gc.isenabled()


def test_the_dashboards_command_keeps_the_collector_held_until_its_first_frame(held_collector, tmp_path):
    assert main(["--replay", str(tmp_path / "none")]) == 2  # refused before any window
    assert not gc.isenabled()
