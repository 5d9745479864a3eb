"""SIGINT, SIGTERM and SIGHUP quit the dashboard like q: exit 130/143/129 with the terminal restored
(textual 8's ``exit()`` takes the result first and the code second: they had all become 0)."""

import os
import pty
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

LEAVE_ALT_SCREEN = b"\x1b[?1049l"


def read_until(fd, marker: bytes, timeout: float) -> bytes:
    out = b""
    deadline = time.monotonic() + timeout
    while marker not in out and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    return out


@contextmanager
def dashboard_in_pty(run: Path, *options: str) -> Iterator[tuple[subprocess.Popen, int]]:
    """``mnist-tui`` on synthetic digits in a 100x30 pseudo-terminal: (the process, the pty's fd)."""
    master, slave = pty.openpty()
    os.set_blocking(master, False)
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
    args = ["--dataset", "synthetic", "--limit-train", "500", "--device", "cpu", *options, "--run-dir", str(run)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "mnist_tui", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    try:
        yield proc, master
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_signal_quits_the_dashboard_cleanly(tmp_path, signum, code):
    with dashboard_in_pty(tmp_path / "run") as (proc, master):
        seen = read_until(master, b"ready", timeout=120)  # the state panel once torch and data loaded
        assert b"ready" in seen, seen[-500:]
        proc.send_signal(signum)
        tail = read_until(master, LEAVE_ALT_SCREEN, timeout=10)
        assert proc.wait(timeout=10) == code
        assert LEAVE_ALT_SCREEN in tail, "the terminal was not restored"


def test_quitting_mid_run_says_how_to_replay_and_how_to_continue(tmp_path):
    run = tmp_path / "run"
    with dashboard_in_pty(run, "--epochs", "200", "--autostart") as (proc, master):
        deadline = time.monotonic() + 120
        metrics = run / "metrics.jsonl"
        while time.monotonic() < deadline and not (metrics.exists() and metrics.read_text().count("\n") >= 1):
            read_until(master, b"\x00", timeout=0.2)  # keep the terminal drained while epochs finish
        assert metrics.exists(), "no epoch finished within 120 s"
        os.write(master, b"q")
        tail = read_until(master, b"--resume", timeout=20) + read_until(master, b"\n", timeout=2)
        assert proc.wait(timeout=20) == 0
        text = tail.decode(errors="replace")
        assert f"replay: mnist-tui --replay {run}" in text, text[-400:]
        assert f"continue: mnist-tui --resume {run}" in text, text[-400:]


def test_after_a_hangup_the_process_ends_once_its_sources_stopped(monkeypatch):
    """A closed terminal killed Textual's output thread at its first failed write, and Textual's
    shutdown then waited on that thread for ever (2 of 9 killed tmux sessions): the process stayed,
    holding the run folder's lock. After SIGHUP the process ends once its sources stopped."""
    from mnist_tui.tui import stop_signals

    ended: list[int] = []
    monkeypatch.setattr(stop_signals, "_end_process", ended.append)
    sources_done = threading.Event()
    thread = stop_signals.end_after_hangup(129, sources_done.wait, grace_s=0.01)
    thread.join(0.5)
    assert thread.is_alive() and ended == []  # a run still saving its epoch is not cut short
    sources_done.set()
    thread.join(10)
    assert not thread.is_alive() and ended == [129]
    assert stop_signals.is_hangup(129) and not stop_signals.is_hangup(143)


class _StopsWhenLetGo:
    """A source that, once closed, ends only when the test lets it (an epoch's test set and checkpoint)."""

    def __init__(self, run_dir):
        from mnist_tui.sources.base import Capabilities

        self.capabilities = Capabilities(start=False, pause=True, stop=True, save=True, live=True, local=True)
        self.title, self.run_dir = "training", run_dir
        self.closed, self.let_go, self.ended = threading.Event(), threading.Event(), threading.Event()

    def run(self, listener):
        from mnist_tui.training.events import Finished, RunResult

        self.closed.wait(60)
        self.let_go.wait(60)
        listener(Finished(1, 0.9, True))
        self.ended.set()
        return RunResult()

    def close(self):
        self.closed.set()

    def stop(self):
        self.close()

    start = pause = resume = lambda self: None


async def test_after_a_hangup_a_run_opened_from_the_workspace_is_waited_for(tmp_path, monkeypatch):
    """The hangup's end waited only for the dashboard the app opened with: in `--runs` (none) it
    ended the process 5 s after the signal, a run started there with `n` still saving its epoch."""
    from mnist_tui.tui import stop_signals
    from mnist_tui.tui.app import MnistApp

    ended: list[int] = []
    monkeypatch.setattr(stop_signals, "_end_process", ended.append)
    quick = stop_signals.end_after_hangup
    monkeypatch.setattr(stop_signals, "end_after_hangup", lambda code, wait: quick(code, wait, grace_s=0.01))
    (tmp_path / "runs").mkdir()
    source = _StopsWhenLetGo(tmp_path / "runs" / "new")
    app = MnistApp(runs=tmp_path / "runs")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.05)
        app.open_dashboard(source)  # as the workspace's n does
        await pilot.pause(0.05)
        monkeypatch.setattr(app, "exit", lambda *args, **kwargs: None)  # the app stays: the hangup's thread is watched
        app._quit_on_signal(129)
        assert source.closed.wait(10)
        await pilot.pause(0.5)
        assert ended == []  # its run is still saving
        source.let_go.set()
        assert source.ended.wait(10)
        for _ in range(100):
            if ended:
                break
            await pilot.pause(0.05)
        assert ended == [129]
