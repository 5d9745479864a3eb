"""Clean shutdown: SIGINT/SIGTERM stop a headless run fast, with the last finished epoch saved whole.

One real process per signal (the command as a user runs it), then in-process runs that
deliver the signal at the awkward moments: during evaluation and during a checkpoint write.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from waiting import wait_until as _wait_for

from mnist_tui.config import Config
from mnist_tui.errors import UserError
from mnist_tui.headless import run_headless
from mnist_tui.runfolder.reader import read_metrics
from mnist_tui.sources.training import TrainingSource
from mnist_tui.training import checkpoint as ckpt
from mnist_tui.training import loop
from mnist_tui.training.checkpoint import load_checkpoint

REPO = Path(__file__).resolve().parents[1]
# What a run folder holds after a headless run (no temporary file left behind).
RUN_FILES = ["batches.jsonl", "checkpoint.pt", "layers.jsonl", "metrics.jsonl", "run.json", "status.json"]


def _epochs_logged(run_dir: Path) -> int:
    try:
        return len(read_metrics(run_dir).records)
    except (OSError, ValueError, UserError):
        return 0


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_a_real_headless_run_and_keeps_the_last_epoch(tmp_path, signum, code):
    run = tmp_path / "run"
    args = ["--headless", "--dataset", "synthetic", "--epochs", "200", "--limit-train", "1024", "--device", "cpu"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "MNIST_TUI_DATA": str(tmp_path / "cache")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mnist_tui", *args, "--run-dir", str(run)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert _wait_for(lambda: _epochs_logged(run) >= 1 or proc.poll() is not None, timeout=180)
        assert proc.poll() is None, proc.communicate()
        sent = time.monotonic()
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
        elapsed = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, err
    assert "Traceback" not in err + out
    state = load_checkpoint(run)
    assert 1 <= state["epoch"] < 200
    assert [row.epoch for row in read_metrics(run).records] == list(range(1, state["epoch"] + 1))
    assert not list(run.glob(".*.tmp"))
    assert f"stopped after {state['epoch']} epoch" in out
    assert f"checkpoint of epoch {state['epoch']} kept in {run}" in out and "--resume" in out
    print(f"{signal.Signals(signum).name}: exit {proc.returncode} after {elapsed:.2f} s, epoch {state['epoch']} kept")
    assert elapsed < 15  # generous on a loaded machine: the point is "at the next batch", not "after 200 epochs"


@pytest.fixture
def small_run(tmp_path, small_synthetic, monkeypatch):
    """run_headless as the CLI calls it, on the small synthetic set."""
    monkeypatch.setattr(loop, "load_datasets", lambda *args, **kwargs: small_synthetic)
    return Config(
        epochs=3,
        lr=3e-3,
        device="cpu",
        dataset="synthetic",
        run_dir=tmp_path / "run",
        limit_train=256,
        precision="fp32",
        download=False,
    )


def test_signal_during_evaluation_saves_that_epoch_then_stops(small_run, monkeypatch):
    real_evaluate = loop.evaluate
    calls = []

    def evaluate_then_interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # epoch 2's evaluation
            os.kill(os.getpid(), signal.SIGINT)
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(loop, "evaluate", evaluate_then_interrupted)
    assert run_headless(TrainingSource(small_run)) == 130
    state = load_checkpoint(small_run.run_dir)
    assert state["epoch"] == 2  # the epoch whose evaluation was interrupted finished and was saved
    assert len(state["history"]) == 2


def test_a_run_a_follower_stopped_says_which_checkpoint_it_kept(small_run, monkeypatch, capsys):
    """A follower's S S (control.json's stop) ended the headless writer with "stopped after 1 epoch"
    and no word of the checkpoint kept or how to continue, which Ctrl-C's stop gives."""
    source = TrainingSource(small_run)
    real_evaluate = loop.evaluate

    def evaluate_then_stopped(*args, **kwargs):
        source.stop()  # what the writer does with a follower's request
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(loop, "evaluate", evaluate_then_stopped)
    assert run_headless(source) == 0
    out = capsys.readouterr().out
    assert "stopped after 1 epoch" in out
    assert f"checkpoint of epoch 1 kept in {small_run.run_dir}; continue with: " in out


def _signal_inside_checkpoint_writes(monkeypatch, on_save: int, signals: list[int], torn: bool = False) -> None:
    """Send ``signals`` to ourselves in the middle of the ``on_save``-th checkpoint file write
    (``torn``: after half its bytes are already in the file). The trainer serialises a checkpoint
    in memory, then writes the bytes: the write is the moment a signal could tear the file."""
    real_write = ckpt.write_checkpoint_bytes
    saves = []

    def write_with_signals(path, data):
        saves.append(1)
        if len(saves) != on_save:
            return real_write(path, data)

        def write(f):
            half = len(data) // 2 if torn else 0
            f.write(data[:half])
            for signum in signals:
                os.kill(os.getpid(), signum)
            f.write(data[half:])

        ckpt.write_atomically(path, write)

    monkeypatch.setattr(ckpt, "write_checkpoint_bytes", write_with_signals)


def test_signal_during_checkpoint_write_lets_the_write_finish(small_run, monkeypatch):
    _signal_inside_checkpoint_writes(monkeypatch, on_save=1, signals=[signal.SIGTERM])
    assert run_headless(TrainingSource(small_run)) == 143
    assert load_checkpoint(small_run.run_dir)["epoch"] == 1
    assert sorted(p.name for p in small_run.run_dir.iterdir()) == RUN_FILES


def test_second_signal_mid_write_exits_at_once_and_keeps_the_previous_checkpoint(small_run, monkeypatch):
    _signal_inside_checkpoint_writes(monkeypatch, on_save=2, signals=[signal.SIGINT, signal.SIGINT], torn=True)
    with pytest.raises(SystemExit) as info:
        run_headless(TrainingSource(small_run))
    assert info.value.code == 130
    state = load_checkpoint(small_run.run_dir)  # epoch 2's write was abandoned, epoch 1's is whole
    assert state["epoch"] == 1
    assert sorted(p.name for p in small_run.run_dir.iterdir()) == RUN_FILES
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers given back


def test_a_second_signal_says_what_it_left_and_leaves_the_run_stopped_not_lost(small_run, monkeypatch, capfd):
    """Two Ctrl-C during an evaluation exited without a word, and the run's status stayed
    "training": replays and the workspace then called it lost, "killed or crashed"."""
    from mnist_tui.runfolder.reader import read_status

    real_evaluate = loop.evaluate

    def evaluate_then_interrupted_twice(*args, **kwargs):
        if len(read_metrics(small_run.run_dir).records) == 1:  # epoch 2's evaluation
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(loop, "evaluate", evaluate_then_interrupted_twice)
    with pytest.raises(SystemExit) as info:
        run_headless(TrainingSource(small_run))
    assert info.value.code == 130
    status = read_status(small_run.run_dir)
    assert (status.state, status.epochs_done) == ("stopped", 1)
    assert "stopped at once; the epoch in progress is not kept" in capfd.readouterr().err


def test_sigkill_mid_run_then_resume_finishes_the_plan(tmp_path):
    """No handler runs on SIGKILL: the atomic checkpoint alone makes the run resumable."""
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(REPO), "MNIST_TUI_DATA": str(tmp_path / "cache")}
    base = [sys.executable, "-m", "mnist_tui", "--headless"]
    args = ["--dataset", "synthetic", "--epochs", "3", "--limit-train", "1024", "--device", "cpu"]
    proc = subprocess.Popen([*base, *args, "--run-dir", str(run)], stdout=subprocess.DEVNULL, env=env)
    try:
        assert _wait_for(lambda: _epochs_logged(run) >= 1 or proc.poll() is not None, timeout=180)
        assert proc.poll() is None, "the run ended before it could be killed"
        proc.kill()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    killed_at = load_checkpoint(run)["epoch"]
    assert 1 <= killed_at < 3
    done = subprocess.run([*base, "--resume", str(run)], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    earlier = f"epochs 1-{killed_at}, trained earlier:" if killed_at > 1 else "epoch 1, trained earlier:"
    assert earlier in done.stdout
    assert load_checkpoint(run)["epoch"] == 3
    assert [row.epoch for row in read_metrics(run).records] == [1, 2, 3]
    assert not list(run.glob(".*.tmp"))


def test_signal_while_loading_exits_at_once(small_run, monkeypatch, capsys):
    """Nothing is at stake before training starts (a slow download, say): no waiting for it, one
    line saying so, and the run folder as it was (it is opened only once the data is loaded)."""

    def slow_download(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(60)  # interrupted by the handler's SystemExit, or the test would take a minute
        raise AssertionError("the signal did not interrupt the loading")

    monkeypatch.setattr(loop, "load_datasets", slow_download)
    started = time.monotonic()
    with pytest.raises(SystemExit) as info:
        run_headless(TrainingSource(small_run))
    assert info.value.code == 143
    assert time.monotonic() - started < 30
    assert not (small_run.run_dir / "checkpoint.pt").exists()
    assert not (small_run.run_dir / "status.json").exists()  # a follower would have read "loading" forever
    assert capsys.readouterr().err == "mnist-tui: stopped while loading; nothing was trained or saved\n"
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_signal_while_a_follower_waits_says_it_was_waiting(tmp_path, capsys):
    """Ctrl-C on `--follow` of a folder not there yet said "stopped while loading"."""
    from mnist_tui.sources.follow import FollowSource

    source = FollowSource(tmp_path / "not-yet", lambda saved: Config(), until_ended=True, poll_s=0.05)
    real_run = source.run

    def run_then_interrupt(listener):
        def listen(event):
            listener(event)
            if getattr(event, "state", None) == "waiting":
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(30)  # interrupted by the handler's SystemExit

        return real_run(listen)

    source.run = run_then_interrupt
    with pytest.raises(SystemExit) as info:
        run_headless(source)
    assert info.value.code == 130
    assert capsys.readouterr().err.splitlines()[-1] == "mnist-tui: stopped while waiting for the run"


def test_a_closed_terminal_while_a_follower_waits_is_no_failure(tmp_path, monkeypatch, capsys):
    """SIGHUP from a closed terminal: the handler's "stopped while waiting" met the terminal's EIO,
    and the follower reported ``failed: OSError: [Errno 5] Input/output error`` and exited 1."""
    import errno
    import io

    from mnist_tui.sources.follow import FollowSource
    from mnist_tui.training.events import Failed

    class ClosedTerminal(io.StringIO):
        def write(self, text):
            raise OSError(errno.EIO, "Input/output error")

    source = FollowSource(tmp_path / "not-yet", lambda saved: Config(), until_ended=True, poll_s=0.05)
    real_run = source.run
    seen = []

    def run_then_hang_up(listener):
        def listen(event):
            seen.append(event)
            listener(event)
            if getattr(event, "state", None) == "waiting":
                monkeypatch.setattr(sys, "stderr", ClosedTerminal())
                os.kill(os.getpid(), signal.SIGHUP)
                time.sleep(30)  # interrupted by the handler's SystemExit

        return real_run(listen)

    source.run = run_then_hang_up
    with pytest.raises(SystemExit) as info:
        run_headless(source, log_format="json")
    assert info.value.code == 129
    assert not [event for event in seen if isinstance(event, Failed)]


def test_the_stop_line_names_a_folder_with_brackets_as_it_is(small_run, monkeypatch, capsys):
    """`--run-dir 'runs/a[red]b'` stopped: "kept in runs/ab; continue with: … --resume runs/ab", a
    folder that does not exist (rich read the name as markup)."""
    run_dir = small_run.run_dir.parent / "a[red]b"
    source = TrainingSource(small_run.with_changes(run_dir=run_dir))
    real_evaluate = loop.evaluate

    def evaluate_then_stopped(*args, **kwargs):
        source.stop()
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(loop, "evaluate", evaluate_then_stopped)
    assert run_headless(source) == 0
    out = capsys.readouterr().out
    assert f"checkpoint of epoch 1 kept in {run_dir}; continue with: " in out and f"--resume {run_dir}" in out


def test_an_output_closed_after_the_run_finished_says_the_run_finished(small_run, monkeypatch, capsys):
    """`mnist-tui --headless … | head -3` on a run that finished before its last lines: exit 141 and
    "the output was closed", nothing of the run having finished (its folder said finished)."""
    import errno
    import io

    class ClosedAtTheEnd(io.StringIO):
        def write(self, text):
            if "finished after" in text:  # the run's last line: `head` has gone by then
                raise OSError(errno.EPIPE, "Broken pipe")
            return super().write(text)

    monkeypatch.setattr(sys, "stdout", ClosedAtTheEnd())
    assert run_headless(TrainingSource(small_run.with_changes(epochs=1))) == 141
    assert capsys.readouterr().err.strip() == "mnist-tui: the output was closed; the run had finished"
