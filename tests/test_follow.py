"""Following a run that another process writes: events arrive, steering works, a killed writer is lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mnist_tui.config import Config
from mnist_tui.runfolder.reader import read_status
from mnist_tui.sources.follow import FollowSource
from mnist_tui.training.events import (
    BatchEnd,
    DataReady,
    EpochRecord,
    Finished,
    ModelWeights,
    Predictions,
    StateChanged,
)

REPO = Path(__file__).resolve().parents[1]
LINUX = sys.platform.startswith("linux")


def start_writer(run_dir: Path, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "mnist_tui", "--headless", "--dataset", "synthetic", "--device", "cpu"]
    command += ["--precision", "fp32", "--run-dir", str(run_dir), *extra]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


class Collected:
    """A follower running in a thread, its events gathered for the test to wait on."""

    def __init__(self, run_dir: Path, until_ended: bool = False) -> None:
        self.events: list = []
        self.lock = threading.Lock()
        self.source = FollowSource(run_dir, lambda saved: Config.from_dict(saved or {}), until_ended=until_ended)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.result = None
        self.thread.start()

    def _run(self) -> None:
        self.result = self.source.run(self._add)

    def _add(self, event) -> None:
        with self.lock:
            self.events.append(event)

    def of(self, kind) -> list:
        with self.lock:
            return [e for e in self.events if isinstance(e, kind)]

    def wait(self, condition, what: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.05)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_follower_sees_batches_and_epochs_and_a_kill_as_lost(tmp_path):
    run_dir = tmp_path / "run"
    follower = Collected(run_dir)  # started first: it waits for the run
    follower.wait(lambda: follower.of(StateChanged), "the waiting message", 30)
    assert follower.of(StateChanged)[0].state == "waiting"
    writer = start_writer(run_dir, "--epochs", "100", "--limit-train", "3000")
    try:
        follower.wait(lambda: follower.of(DataReady), "the run to load")
        follower.wait(lambda: len(follower.of(EpochRecord)) >= 1 and follower.of(Predictions), "an epoch")
        batches = follower.of(BatchEnd)
        assert batches and batches[0].epoch == 1 and batches[0].first_batch == 1
        positions = [(b.epoch, b.batch) for b in batches]
        assert positions == sorted(set(positions)), "a batch report came twice or out of order"
        assert follower.of(ModelWeights)[0].weights["conv1.weight"].shape == (10, 1, 5, 5)
        assert any(e.state == "training" for e in follower.of(StateChanged))
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    follower.wait(lambda: any(e.state == "lost" for e in follower.of(StateChanged)), "lost", 60)
    lost = next(e for e in follower.of(StateChanged) if e.state == "lost")
    assert str(writer.pid) in lost.detail
    follower.source.close()
    follower.thread.join(timeout=10)
    assert not follower.thread.is_alive()


@pytest.mark.skipif(not LINUX, reason="reads the writer's CPU time from /proc")
def test_pause_and_resume_through_the_control_file_stop_and_restart_the_writer(tmp_path):
    run_dir = tmp_path / "run"
    writer = start_writer(run_dir, "--epochs", "100", "--limit-train", "3000")
    follower = Collected(run_dir)
    try:
        follower.wait(lambda: len(follower.of(BatchEnd)) >= 3, "training to start")
        follower.source.pause()
        follower.wait(lambda: any(e.state == "paused" for e in follower.of(StateChanged)), "the writer to pause", 30)
        assert read_status(run_dir).state == "paused"
        paused_at = cpu_seconds(writer.pid)
        reports = len(follower.of(BatchEnd))
        time.sleep(1.5)  # a window to measure: CPU time must not move in it
        assert cpu_seconds(writer.pid) - paused_at < 0.15, "the paused writer kept computing"
        assert len(follower.of(BatchEnd)) == reports
        follower.source.resume()
        follower.wait(lambda: len(follower.of(BatchEnd)) > reports, "batches after resume", 30)
        assert cpu_seconds(writer.pid) > paused_at + 0.05
        follower.source.stop()  # S in the dashboard: the writer itself stops, keeping its checkpoint
        assert writer.wait(timeout=60) == 0
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    follower.wait(lambda: follower.of(Finished), "the stopped state", 30)
    assert follower.of(Finished)[0].stopped is True
    follower.source.close()


def test_headless_follower_ends_with_the_run_it_follows(tmp_path):
    run_dir = tmp_path / "run"
    writer = start_writer(run_dir, "--epochs", "2", "--limit-train", "1000")
    out = subprocess.run(
        [sys.executable, "-m", "mnist_tui", "--headless", "--follow", str(run_dir), "--log-format", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert writer.wait(timeout=60) == 0
    assert out.returncode == 0, out.stderr
    import json

    events = [json.loads(line) for line in out.stdout.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds.count("epoch") == 2 and kinds[-1] == "finished" and "batch" in kinds


def test_an_epochs_row_is_reported_after_its_batches_and_before_the_next_epochs(tmp_path):
    """The writer saves the checkpoint before the epoch's row; a follower busy meanwhile read the next
    epoch's batches first, and reported each epoch late, after batches of the next (2 runs of 2)."""
    from mnist_tui.runfolder.atomic import jsonl
    from mnist_tui.sources.watch import RunWatch

    def batch(epoch, n):
        return BatchEnd(epoch, n, 4, (1.0 / epoch,), 1000.0, n * 64, (0.01,), 1.7e9)

    row = EpochRecord(1, 0.5, 0.8, 0.4, 0.85, 1.5, 40000.0, 0.01, 0.2, "synthetic", "cpu", 1)
    (tmp_path / "batches.jsonl").write_text(jsonl([batch(1, 4).to_json(), batch(2, 1).to_json()]))
    seen: list = []
    watch = RunWatch(tmp_path, [], 3, model_views=False)
    watch.step(seen.append, None, None)
    assert [(type(e), e.epoch) for e in seen] == [(BatchEnd, 1)]  # epoch 2's batch waits for epoch 1's row
    (tmp_path / "metrics.jsonl").write_text(jsonl([row.to_json()]))
    watch.step(seen.append, None, None)
    assert [(type(e), e.epoch) for e in seen] == [(BatchEnd, 1), (EpochRecord, 1), (BatchEnd, 2)]


def test_a_headless_follower_evaluates_no_checkpoint(tmp_path):
    run_dir = tmp_path / "run"
    assert start_writer(run_dir, "--epochs", "1", "--limit-train", "500").wait(timeout=120) == 0
    events: list = []
    source = FollowSource(run_dir, lambda saved: Config.from_dict(saved or {}), until_ended=True, model_views=False)
    assert source.run(events.append).error is None
    assert not [e for e in events if isinstance(e, (Predictions, ModelWeights))]  # it evaluated every checkpoint
    ready, info = events[0], json.loads((run_dir / "run.json").read_text())
    assert [type(e) for e in events][-1] is Finished and len(ready.test_images) == 0  # nor loaded the digits
    assert (ready.dataset, ready.train_size, ready.test_size) == (info["dataset"], 500, info["test_size"])  # run.json's


def test_a_run_resumed_after_a_kill_withdraws_what_the_killed_attempt_showed(tmp_path):
    """Killed in epoch 2 and resumed from epoch 1's checkpoint: the new writer rewrites
    batches.jsonl and steering.jsonl with epoch 1 only. A follower kept open had shown epoch 2's
    batches 1-3 and a steering mark; it withdrew nothing, and skipped the new attempt's batches
    1-3 (not past the last it had shown)."""
    from mnist_tui.runfolder.atomic import jsonl, write_text_atomically
    from mnist_tui.sources.watch import RunWatch
    from mnist_tui.training.events import Rewound, Steered

    def batch(epoch, n, loss):
        return BatchEnd(epoch, n, 4, (loss,), 1000.0, n * 64, (0.01,), 1.7e9).to_json()

    def steered(epoch, batch, at):
        return Steered(epoch, batch, "lr ×2", 2.0, 0, at).to_json()

    row = EpochRecord(1, 0.5, 0.8, 0.4, 0.85, 1.5, 40000.0, 0.01, 0.2, "synthetic", "cpu", 1)
    first = [batch(1, n, 1.0) for n in range(1, 5)]
    write_text_atomically(tmp_path / "batches.jsonl", jsonl([*first, *(batch(2, n, 9.0) for n in range(1, 4))]))
    write_text_atomically(tmp_path / "metrics.jsonl", jsonl([row.to_json()]))
    write_text_atomically(tmp_path / "steering.jsonl", jsonl([steered(1, 2, 100.0), steered(2, 2, 200.0)]))
    seen: list = []
    watch = RunWatch(tmp_path, [], 3, model_views=False)
    watch.step(seen.append, None, None)
    assert [(e.epoch, e.batch) for e in seen if isinstance(e, BatchEnd)][-1] == (2, 3)
    assert len([e for e in seen if isinstance(e, Steered)]) == 2
    seen.clear()
    # the resumed writer: epoch 1 kept, epoch 2 trained again (its batch 1 so far), a new mark
    write_text_atomically(tmp_path / "batches.jsonl", jsonl([*first, batch(2, 1, 0.3)]))
    write_text_atomically(tmp_path / "steering.jsonl", jsonl([steered(1, 2, 100.0), steered(2, 1, 300.0)]))
    watch.step(seen.append, None, None)
    assert seen[0] == Rewound(1)
    assert [(type(e).__name__, e.epoch, e.batch) for e in seen[1:]] == [("BatchEnd", 2, 1), ("Steered", 2, 1)]
    assert seen[1].losses == (0.3,)
    seen.clear()
    with (tmp_path / "batches.jsonl").open("a") as batches:  # it trains on
        batches.write(json.dumps(batch(2, 2, 0.2)) + "\n")
    watch.step(seen.append, None, None)
    assert [(e.epoch, e.batch) for e in seen] == [(2, 2)]
