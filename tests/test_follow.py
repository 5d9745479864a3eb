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
from waiting import wait_until

from mnist_tui.config import Config
from mnist_tui.runfolder.reader import read_status
from mnist_tui.sources.follow import FollowSource
from mnist_tui.training.events import (
    BatchEnd,
    DataReady,
    EpochRecord,
    Finished,
    ModelWeights,
    Notice,
    Predictions,
    StateChanged,
)

REPO = Path(__file__).resolve().parents[1]


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


def status_position(run_dir: Path) -> tuple[int, int] | None:
    """(epoch, batch) of the status file (updated with the heartbeat, at most a second late)."""
    status = read_status(run_dir)
    return None if status is None else (status.epoch, status.batch)


def test_follower_sees_batches_and_epochs_and_a_kill_as_lost(tmp_path):
    run_dir = tmp_path / "run"
    follower = Collected(run_dir)  # started first: it waits for the run
    follower.wait(lambda: follower.of(StateChanged), "the waiting message", 30)
    waiting = follower.of(StateChanged)[0]
    assert (
        waiting.state == "waiting"
        and waiting.detail == f"{run_dir} does not exist yet: a run started there is followed from its start"
    )
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


def test_pause_and_resume_through_the_control_file_stop_and_restart_the_writer(tmp_path):
    """A follower's pause must stop the writer's training, not only its reports; resume starts it
    again. Paused, the writer lives on (its heartbeat beats) while its batch stays put. (The test
    once measured the writer's CPU seconds over a fixed sleep.)"""
    run_dir = tmp_path / "run"
    writer = start_writer(run_dir, "--epochs", "100", "--limit-train", "3000")
    follower = Collected(run_dir)
    try:
        follower.wait(lambda: len(follower.of(BatchEnd)) >= 3, "training to start")
        follower.source.pause()
        follower.wait(lambda: any(e.state == "paused" for e in follower.of(StateChanged)), "the writer to pause", 30)
        paused = read_status(run_dir)
        assert paused.state == "paused"
        written = (run_dir / "batches.jsonl").stat().st_size
        reports = len(follower.of(BatchEnd))
        beats = {paused.heartbeat}

        def two_more_heartbeats() -> bool:
            status = read_status(run_dir)
            if status is not None:
                beats.add(status.heartbeat)
            return len(beats) >= 3

        follower.wait(two_more_heartbeats, "two heartbeats of the paused writer", 30)
        now = read_status(run_dir)
        assert now.state == "paused" and (now.epoch, now.batch) == (paused.epoch, paused.batch), now
        assert (run_dir / "batches.jsonl").stat().st_size == written, "the paused writer kept training"
        assert len(follower.of(BatchEnd)) == reports
        follower.source.resume()
        follower.wait(lambda: len(follower.of(BatchEnd)) > reports, "batches after resume", 30)
        follower.wait(lambda: status_position(run_dir) != (paused.epoch, paused.batch), "the status to move on", 30)
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
    seen[:] = [e for e in seen if not isinstance(e, Notice)]  # no status.json here: "state unknown"
    assert [(type(e), e.epoch) for e in seen] == [(BatchEnd, 1)]  # epoch 2's batch waits for epoch 1's row
    (tmp_path / "metrics.jsonl").write_text(jsonl([row.to_json()]))
    watch.step(seen.append, None, None)
    seen[:] = [e for e in seen if not isinstance(e, Notice)]
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


def _rows(*records) -> str:
    from mnist_tui.runfolder.atomic import jsonl

    return jsonl([r.to_json() for r in records])


def _batch(epoch, n, loss):
    return BatchEnd(epoch, n, 4, (loss,), 1000.0, n * 64, (0.01,), 1.7e9)


def _steered(epoch, batch, at):
    from mnist_tui.training.events import Steered

    return Steered(epoch, batch, "lr ×2", 2.0, 0, at)


def _killed_in_epoch_2(run_dir: Path):
    """A run folder as a writer killed in epoch 2 left it, and a follower that showed all of it."""
    from mnist_tui.runfolder.atomic import write_json_atomically, write_text_atomically
    from mnist_tui.runfolder.layout import RunInfo
    from mnist_tui.sources.watch import RunWatch

    row = EpochRecord(1, 0.5, 0.8, 0.4, 0.85, 1.5, 40000.0, 0.01, 0.2, "synthetic", "cpu", 1)
    first = [_batch(1, n, 1.0) for n in range(1, 5)]
    write_json_atomically(run_dir / "run.json", RunInfo({}, created=100.0, host="").to_json())
    write_text_atomically(run_dir / "batches.jsonl", _rows(*first, *(_batch(2, n, 9.0) for n in range(1, 4))))
    write_text_atomically(run_dir / "metrics.jsonl", _rows(row))
    write_text_atomically(run_dir / "steering.jsonl", _rows(_steered(1, 2, 100.0), _steered(2, 2, 200.0)))
    seen: list = []
    watch = RunWatch(run_dir, [], 3, model_views=False, writer_created=100.0)
    watch.step(seen.append, None, None)
    assert [(e.epoch, e.batch) for e in seen if isinstance(e, BatchEnd)][-1] == (2, 3)
    return watch, first, row


def _resumed(run_dir: Path, kept: int, batches, steering=None, created=200.0):
    """What a new writer does at its start: run.json first, then the rewritten files."""
    from mnist_tui.runfolder.atomic import write_json_atomically, write_text_atomically
    from mnist_tui.runfolder.layout import RunInfo

    info = RunInfo({}, created=created, host="", epochs_kept=kept)
    write_json_atomically(run_dir / "run.json", info.to_json())
    write_text_atomically(run_dir / "batches.jsonl", _rows(*batches))
    if steering is not None:
        write_text_atomically(run_dir / "steering.jsonl", _rows(*steering))


def test_a_run_resumed_after_a_kill_withdraws_what_the_killed_attempt_showed(tmp_path):
    """Killed in epoch 2 and resumed from epoch 1's checkpoint: the new writer rewrites
    batches.jsonl and steering.jsonl with epoch 1 only. A follower kept open had shown epoch 2's
    batches 1-3 and a steering mark; it withdrew nothing, and skipped the new attempt's batches
    1-3 (not past the last it had shown)."""
    from mnist_tui.training.events import Rewound, Steered

    watch, first, _ = _killed_in_epoch_2(tmp_path)
    seen: list = []
    _resumed(tmp_path, 1, [*first, _batch(2, 1, 0.3)], [_steered(1, 2, 100.0), _steered(2, 1, 300.0)])
    watch.step(seen.append, None, None)
    assert seen[0] == Rewound(1)
    # the change from batch 1 comes before the report holding batch 1
    assert [(type(e).__name__, e.epoch, e.batch) for e in seen[1:]] == [("Steered", 2, 1), ("BatchEnd", 2, 1)]
    assert seen[2].losses == (0.3,)
    seen.clear()
    with (tmp_path / "batches.jsonl").open("a") as batches:  # it trains on
        batches.write(json.dumps(_batch(2, 2, 0.2).to_json()) + "\n")
    watch.step(seen.append, None, None)
    assert [(e.epoch, e.batch) for e in seen] == [(2, 2)]
    assert not [e for e in seen if isinstance(e, Steered)]


def test_a_poll_between_the_new_writers_rewrites_brings_back_no_withdrawn_mark(tmp_path):
    """batches.jsonl rewritten, steering.jsonl not yet (touched, as a steer just before the kill
    left it): the killed attempt's marks past epoch 1 were reported again, never to be withdrawn."""
    from mnist_tui.training.events import Rewound, Steered

    watch, first, _ = _killed_in_epoch_2(tmp_path)
    os.utime(tmp_path / "steering.jsonl", ns=(1, 1))  # changed since the last poll, still the old rows
    seen: list = []
    _resumed(tmp_path, 1, first)
    watch.step(seen.append, None, None)
    assert seen == [Rewound(1)]
    assert not [e for e in seen if isinstance(e, Steered)]


def test_a_kill_between_the_checkpoint_and_its_row_rewinds_to_the_checkpoint(tmp_path):
    """Checkpoint 2 was written, its row not: the new writer keeps 2 epochs. The follower, which had
    seen one row, rewound to epoch 1 and reported epoch 2's batches and marks a second time."""
    from mnist_tui.training.events import Rewound

    watch, first, row = _killed_in_epoch_2(tmp_path)
    epoch2 = [_batch(2, n, 9.0) for n in range(1, 5)]
    seen: list = []
    _resumed(tmp_path, 2, [*first, *epoch2[:3]], [_steered(1, 2, 100.0), _steered(2, 2, 200.0)])
    watch.step(seen.append, None, None)
    assert seen == []  # it had shown no more than the new writer keeps: nothing to withdraw
    with (tmp_path / "batches.jsonl").open("a") as batches:
        batches.write(_rows(epoch2[3], _batch(3, 1, 0.5)))
    watch.step(seen.append, None, None)
    assert Rewound(1) not in seen and [(e.epoch, e.batch) for e in seen] == [(2, 4)]  # 3, 1 waits for row 2


def test_a_copy_of_the_batch_file_by_the_same_writer_is_no_rewind(tmp_path):
    from mnist_tui.runfolder.atomic import write_text_atomically

    watch, first, _ = _killed_in_epoch_2(tmp_path)
    text = (tmp_path / "batches.jsonl").read_text()
    write_text_atomically(tmp_path / "batches.jsonl", text)  # a new inode, the same writer (run.json)
    seen: list = []
    watch.step(seen.append, None, None)
    assert seen == []


def test_a_follower_kept_open_across_a_kill_and_a_resume_goes_on_with_the_resumed_run(tmp_path):
    from mnist_tui.runfolder.reader import read_info
    from mnist_tui.training.events import Rewound

    run_dir = tmp_path / "run"
    # epochs of ~190 batches: the kill most likely falls inside one (the follower then had shown
    # batches past the last checkpoint, and must take them back)
    writer = start_writer(run_dir, "--epochs", "100", "--limit-train", "12000", "--batch-size", "64")
    follower = Collected(run_dir)
    resumed = None
    try:
        follower.wait(lambda: follower.of(EpochRecord) and follower.of(BatchEnd)[-1].epoch > 1, "epoch 2")
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
        follower.wait(lambda: any(e.state == "lost" for e in follower.of(StateChanged)), "lost", 60)
        shown = max((b.epoch, b.batch) for b in follower.of(BatchEnd))
        before = len(follower.events)

        def later(kind) -> list:
            with follower.lock:
                return [e for e in follower.events[before:] if isinstance(e, kind)]

        resumed = start_writer(run_dir, "--resume", str(run_dir), "--epochs", "100")
        follower.wait(lambda: any(e.state == "training" for e in later(StateChanged)), "the resumed run", 120)
        kept = read_info(run_dir).epochs_kept
        assert kept >= 1
        follower.wait(lambda: any(b.epoch > kept for b in later(BatchEnd)), "the resumed run's batches", 120)
        rewinds = later(Rewound)
        assert rewinds == ([Rewound(kept)] if shown > (kept, 10**9) else [])
        first = later(BatchEnd)[0]
        assert (first.epoch, first.first_batch) == (kept + 1, 1)  # the resumed epoch from its start
    finally:
        for process in (writer, resumed):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
        follower.source.close()


@pytest.mark.parametrize("damage", ["status damaged", "folder removed"])
def test_a_dead_writer_is_lost_even_when_its_status_can_no_longer_be_read(tmp_path, monkeypatch, damage):
    """With status.json damaged (or the folder removed) after its writer died, an open follower
    showed "training" forever and `--headless --follow` never exited."""
    import shutil

    from mnist_tui.runfolder.atomic import write_json_atomically
    from mnist_tui.runfolder.layout import RunInfo, RunStatus
    from mnist_tui.sources import watch as watch_module
    from mnist_tui.sources.watch import RunWatch

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    now = time.time()
    write_json_atomically(run_dir / "run.json", RunInfo({}, created=100.0, host="").to_json())
    status = RunStatus("training", dead.pid, "", 3, 0, 1, 2, 4, heartbeat=now)
    write_json_atomically(run_dir / "status.json", status.to_json())
    seen: list = []
    watch = RunWatch(run_dir, [], 3, model_views=False, writer_created=100.0)
    assert not watch.step(seen.append, None, None) and watch.state == "training"
    if damage == "status damaged":
        (run_dir / "status.json").write_text('{"state": "trai')
    else:
        shutil.rmtree(run_dir)
    monkeypatch.setattr(watch_module.time, "time", lambda: now + 10)  # its heartbeat is 10 s old
    assert watch.step(seen.append, None, None)  # ended
    lost = [e for e in seen if isinstance(e, StateChanged) and e.state == "lost"]
    assert lost and str(dead.pid) in lost[0].detail
    assert ("was removed" in lost[0].detail) == (damage == "folder removed")


def test_a_follower_opened_on_a_damaged_status_shows_the_run_not_a_failure(tmp_path, monkeypatch):
    """It showed "● failed  RecordError: status.json is not JSON" and none of the run's epochs;
    then it waited without a word while the status stayed unreadable: now it says so, once (its
    writer lives: it holds the lock; without one the run ends, as the next tests show)."""
    import fcntl

    from mnist_tui.runfolder.atomic import write_json_atomically
    from mnist_tui.runfolder.layout import RunInfo
    from mnist_tui.sources.watch import RunWatch
    from mnist_tui.training.events import Failed, Notice

    polls: list[int] = []  # one entry per poll of the folder (RunWatch.step)
    step = RunWatch.step

    def counted_step(watch, *args, **kwargs):
        polls.append(1)
        return step(watch, *args, **kwargs)

    monkeypatch.setattr(RunWatch, "step", counted_step)
    info = RunInfo({"epochs": 3}, created=100.0, host="", dataset="synthetic digits", train_size=640, test_size=64)
    write_json_atomically(tmp_path / "run.json", info.to_json())
    (tmp_path / "status.json").write_text('{"state": "trai')
    with open(tmp_path / ".lock", "w") as lock:  # its writer's, held
        fcntl.flock(lock, fcntl.LOCK_EX)
        events: list = []
        source = FollowSource(tmp_path, lambda saved: Config.from_dict(saved or {}), model_views=False)
        thread = threading.Thread(target=source.run, args=(events.append,), daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not any(isinstance(e, DataReady) for e in events):
            assert time.monotonic() < deadline, "no DataReady"
            time.sleep(0.02)
        deadline = time.monotonic() + 30
        while not any(isinstance(e, Notice) for e in events):  # `--headless --follow` waited without a word
            assert time.monotonic() < deadline, "no notice of the unreadable status"
            time.sleep(0.02)
        told_at = len(polls)
        assert wait_until(lambda: len(polls) >= told_at + 3), "the follower stopped polling"  # told once, not at each
        source.close()
        thread.join(10)
    assert not [e for e in events if isinstance(e, Failed)]
    notices = [e.text for e in events if isinstance(e, Notice)]
    assert len(notices) == 1 and "status.json" in notices[0] and "unknown" in notices[0]


def test_a_follower_says_when_it_skipped_damaged_rows_once_each(tmp_path):
    """`printf 'GARBAGE\\n{"epoch":"x"}\\n' >> batches.jsonl` while following: the replay said
    "skipped 2 damaged rows", the follower nothing. Each notice names the line in the file (it
    said "line 1", counted within what the poll had read) and the damage that poll found."""
    from mnist_tui.training.events import Notice

    watch, first, _ = _killed_in_epoch_2(tmp_path)
    seen: list = []
    lines = (tmp_path / "batches.jsonl").read_bytes().count(b"\n")
    assert lines > 1
    with open(tmp_path / "batches.jsonl", "a") as batches:
        batches.write('GARBAGE\n{"epoch": "x"}\n')
    watch.step(seen.append, None, None)
    watch.step(seen.append, None, None)  # told once, not at every poll
    with open(tmp_path / "batches.jsonl", "a") as batches:
        batches.write("[]\n")
    watch.step(seen.append, None, None)
    notices = [e.text for e in seen if isinstance(e, Notice)]
    assert notices == [
        f"skipped 2 damaged rows of batches.jsonl (line {lines + 1} is not JSON)",
        f"skipped 1 damaged row of batches.jsonl (line {lines + 3}: a batch row is not a JSON object)",
    ], notices


def test_a_followed_runs_failure_is_its_end_state_and_an_unreadable_log_a_note(tmp_path):
    """A follower reported the writer's failure as its own (Failed) where a replay said the run's
    state; a folder in layers.jsonl's place failed the follower."""
    from mnist_tui.runfolder.atomic import write_json_atomically
    from mnist_tui.runfolder.layout import RunStatus
    from mnist_tui.training.events import Failed, Notice

    watch, _, _ = _killed_in_epoch_2(tmp_path)
    (tmp_path / "layers.jsonl").mkdir()
    failed = RunStatus("failed", 1, "", 3, 1, 2, 3, 4, heartbeat=time.time(), message="NaN loss at epoch 2")
    write_json_atomically(tmp_path / "status.json", failed.to_json())
    seen: list = []
    assert watch.step(seen.append, None, None)  # ended
    assert not [e for e in seen if isinstance(e, Failed)]
    assert [(e.state, e.detail) for e in seen if isinstance(e, StateChanged)] == [("failed", "NaN loss at epoch 2")]
    notes = [e.text for e in seen if isinstance(e, Notice)]
    assert len(notes) == 1 and notes[0].startswith("not used: ")
    assert "layers.jsonl: it is a folder, not a regular file" in notes[0]  # it said "… is not a regular file (it is …)"


def test_a_metrics_log_that_becomes_unreadable_mid_follow_is_a_note_and_the_follow_goes_on(tmp_path):
    """metrics.jsonl replaced by a folder while a run was followed failed the follower: its
    dashboard called the run "failed". Said once, as for the other logs; its rows come once it
    can be read again."""
    import shutil

    from mnist_tui.runfolder.atomic import write_text_atomically

    watch, _, row = _killed_in_epoch_2(tmp_path)
    (tmp_path / "metrics.jsonl").unlink()
    (tmp_path / "metrics.jsonl").mkdir()
    seen: list = []
    watch.step(seen.append, None, None)
    watch.step(seen.append, None, None)
    notes = [e.text for e in seen if isinstance(e, Notice)]
    assert len(notes) == 1 and notes[0].startswith("not used: "), notes
    assert "metrics.jsonl: it is a folder, not a regular file" in notes[0]
    shutil.rmtree(tmp_path / "metrics.jsonl")
    second = EpochRecord(2, 0.3, 0.9, 0.3, 0.9, 1.5, 40000.0, 0.01, 0.2, "synthetic", "cpu", 1)
    write_text_atomically(tmp_path / "metrics.jsonl", _rows(row, second))
    seen.clear()
    watch.step(seen.append, None, None)
    assert [e.epoch for e in seen if isinstance(e, EpochRecord)] == [2]


def test_a_followers_second_notice_names_the_new_damage_and_a_copied_log_is_not_told_again(tmp_path):
    """metrics.jsonl is read whole at each change: a second notice said the first damaged line's
    reason again. batches.jsonl replaced by a copy (an editor's save) told its damage twice."""
    import shutil

    from mnist_tui.training.events import Notice

    watch, _, _ = _killed_in_epoch_2(tmp_path)
    seen: list = []
    with open(tmp_path / "metrics.jsonl", "a") as metrics:
        metrics.write("GARBAGE\n")
    watch.step(seen.append, None, None)
    with open(tmp_path / "metrics.jsonl", "a") as metrics:
        metrics.write("[]\n")
    later = time.time_ns() + 10**9  # the watch reads a log again when its modification time changed
    os.utime(tmp_path / "metrics.jsonl", ns=(later, later))
    watch.step(seen.append, None, None)
    notices = [e.text for e in seen if isinstance(e, Notice)]
    assert len(notices) == 2 and "(line 2 is not JSON)" in notices[0], notices
    assert notices[1].startswith("skipped 1 damaged row of metrics.jsonl (line 3"), notices
    with open(tmp_path / "batches.jsonl", "a") as batches:
        batches.write("GARBAGE\n")
    watch.step(seen.append, None, None)
    shutil.copy(tmp_path / "batches.jsonl", tmp_path / "copy")
    os.replace(tmp_path / "copy", tmp_path / "batches.jsonl")
    watch.step(seen.append, None, None)
    told = [e.text for e in seen if isinstance(e, Notice) and "batches.jsonl" in e.text]
    assert len(told) == 1, told


def test_a_follower_tells_each_change_among_the_batches_it_belongs_to(tmp_path):
    """Opened on a run, a follower told every change after every batch and row ("steered: lr ×2
    (epoch 1, batch 305)" under epoch 2's line in --headless, and in its JSON lines)."""
    from mnist_tui.runfolder.atomic import write_json_atomically, write_text_atomically
    from mnist_tui.runfolder.layout import RunInfo
    from mnist_tui.sources.watch import RunWatch
    from mnist_tui.training.events import Steered

    row = EpochRecord(1, 0.5, 0.8, 0.4, 0.85, 1.5, 40000.0, 0.01, 0.2, "synthetic", "cpu", 1)
    write_json_atomically(tmp_path / "run.json", RunInfo({}, created=100.0, host="").to_json())
    batches = [_batch(1, n, 1.0) for n in range(1, 5)] + [_batch(2, n, 0.5) for n in range(1, 3)]
    write_text_atomically(tmp_path / "batches.jsonl", _rows(*batches))
    write_text_atomically(tmp_path / "metrics.jsonl", _rows(row))
    more = Steered(1, 0, "epochs 2 → 3", 1.0, 3, 150.0)  # at epoch 1's end
    write_text_atomically(tmp_path / "steering.jsonl", _rows(_steered(1, 3, 100.0), more, _steered(2, 2, 200.0)))
    seen: list = []
    RunWatch(tmp_path, [], 3, model_views=False, writer_created=100.0).step(seen.append, None, None)
    seen = [e for e in seen if not isinstance(e, Notice)]  # no status.json here: "state unknown"
    order = [(type(e).__name__, e.epoch, e.batch if not isinstance(e, EpochRecord) else None) for e in seen]
    assert order == [
        ("BatchEnd", 1, 1), ("BatchEnd", 1, 2), ("Steered", 1, 3), ("BatchEnd", 1, 3), ("BatchEnd", 1, 4),
        ("EpochRecord", 1, None), ("Steered", 1, 0), ("BatchEnd", 2, 1), ("Steered", 2, 2), ("BatchEnd", 2, 2),
    ], order  # fmt: skip


@pytest.mark.parametrize("ended", ["finished 2/2", "stopped in epoch 3"])
def test_a_resume_that_trains_nothing_does_not_rewind_its_follower(tmp_path, ended):
    """`a` then S S on a finished run (or a resume quit before space): the folder is put back as it
    was, and its run.json's writer, not the one followed, looked new: the follower said the run
    started again from epoch 0, told every batch again and dropped every steering mark."""
    from mnist_tui.runfolder.writer import RunFolderWriter
    from mnist_tui.sources.watch import RunWatch
    from mnist_tui.training.control import TrainingControl
    from mnist_tui.training.events import PlanChanged, Rewound, Steered

    first = RunFolderWriter(tmp_path, {"epochs": 3}, TrainingControl(), lambda e: None)
    first.open(0)
    for epoch in (1, 2):
        for n in range(1, 5):
            first(_batch(epoch, n, 1.0))
        first(EpochRecord(epoch, 0.5, 0.8, 0.4, 0.85, 1.5, 4e4, 0.01, 0.2, "synthetic", "cpu", 1))
    first(Steered(1, 2, "lr ×2", 2.0, 3, 100.0))
    if ended == "stopped in epoch 3":
        first(_batch(3, 1, 0.9))
    first(Finished(2, 0.85, ended.startswith("stopped")))
    first.close()
    watch = RunWatch(tmp_path, [], 3, model_views=False, writer_created=first.info.created)
    seen: list = []
    watch.step(seen.append, None, None)
    assert len([e for e in seen if isinstance(e, Steered)]) == 1
    seen.clear()
    again = RunFolderWriter(tmp_path, {"epochs": 3}, TrainingControl(), lambda e: None)
    again.open(2)
    watch.step(seen.append, None, None)
    again(PlanChanged(3))
    again(Finished(2, 0.85, ended.startswith("stopped")))
    again.close()
    assert again.restore_earlier()
    watch.step(seen.append, None, None)
    rewinds = [e.epoch for e in seen if isinstance(e, Rewound)]
    assert rewinds == ([2] if ended == "stopped in epoch 3" else []), seen  # the cut at the new start only
    told = [(e.epoch, e.batch) for e in seen if isinstance(e, BatchEnd)]
    assert told == ([(3, 1)] if ended == "stopped in epoch 3" else []), told  # epoch 3's batch came back


def test_a_killed_attempts_last_change_read_in_the_rewinding_poll_is_not_told(tmp_path):
    """The new writer rewrote the folder between the follower's read of steering.jsonl and of
    batches.jsonl: the killed attempt's last change, read for the first time in that poll, was
    told after the rewind, though the new steering.jsonl no longer holds it."""
    from mnist_tui.training.events import Rewound, Steered

    watch, first, _ = _killed_in_epoch_2(tmp_path)
    with open(tmp_path / "steering.jsonl", "a") as log:  # its last change, just before the kill
        log.write(json.dumps(_steered(2, 4, 250.0).to_json()) + "\n")
    read_new = watch.batches.read_new

    def rewritten_in_between(new_writer):
        _resumed(tmp_path, 1, [*first, _batch(2, 1, 0.3)], [_steered(1, 2, 100.0)], created=300.0)
        return read_new(new_writer)

    watch.batches.read_new = rewritten_in_between
    seen: list = []
    watch.step(seen.append, None, None)
    watch.batches.read_new = read_new
    with open(tmp_path / "batches.jsonl", "a") as batches:
        batches.write("".join(json.dumps(_batch(2, n, 0.2).to_json()) + "\n" for n in (2, 3, 4)))
    watch.step(seen.append, None, None)
    assert Rewound(1) in seen
    assert not [e for e in seen if isinstance(e, Steered) and e.time == 250.0]


def test_a_log_rewritten_within_the_same_mtime_tick_counts_as_changed(tmp_path):
    """The follower knew a file changed by its mtime alone: on NFS or SMB a sprint's next epoch
    row, written within the same tick, went unseen until some later write."""
    from mnist_tui.runfolder.atomic import write_text_atomically
    from mnist_tui.sources.watch import RunWatch

    path = tmp_path / "metrics.jsonl"
    write_text_atomically(path, '{"epoch": 1}\n')
    tick = path.stat().st_mtime_ns
    watch = RunWatch(tmp_path, [], 3, model_views=False, writer_created=None)
    assert watch.logs.changed("metrics.jsonl")
    assert not watch.logs.changed("metrics.jsonl")
    write_text_atomically(path, '{"epoch": 1}\n{"epoch": 2}\n')
    os.utime(path, ns=(tick, tick))
    assert watch.logs.changed("metrics.jsonl")


def test_a_follower_given_the_writers_parameter_count_reports_ready_without_torch():
    """A headless follower imported torch for the count run.json already gives: 1.6-6 s on two busy
    cores between the run's data being loaded and the follower's first line."""
    code = (
        "import sys\n"
        "from mnist_tui.config import Config\n"
        "from mnist_tui.sources.recorded import ready_event\n"
        "ready = ready_event(None, Config(), [], 3, None, 'cpu (followed)', 21840)\n"
        "print(ready.parameters, 'torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["21840", "False"]


def _ended_run(run_dir: Path, rows: int = 2, status: str = "finished") -> Path:
    """A 2-epoch run's folder as its writer left it (``rows`` epoch rows; ``status``: its state,
    "absent", "garbage" or "a folder"), every file written a minute ago: a writer that lived would
    have rewritten status.json since."""
    from mnist_tui.runfolder.atomic import write_json_atomically, write_text_atomically
    from mnist_tui.runfolder.layout import RunInfo, RunStatus

    run_dir.mkdir()
    info = RunInfo({"epochs": 2}, 100.0, "", dataset="synthetic digits", parameters=21840, train_size=640, test_size=64)
    write_json_atomically(run_dir / "run.json", info.to_json())
    write_text_atomically(run_dir / "batches.jsonl", _rows(*(_batch(e, n, 1.0 / e) for e in (1, 2) for n in (1, 2))))
    epochs = [EpochRecord(e, 0.5 / e, 0.8, 0.4 / e, 0.8 + e / 100, 1.5, 40000.0, 0.01) for e in range(1, rows + 1)]
    write_text_atomically(run_dir / "metrics.jsonl", _rows(*epochs))
    if status == "garbage":
        (run_dir / "status.json").write_text("{}\x00")
    elif status == "a folder":
        (run_dir / "status.json").mkdir()
    elif status != "absent":
        ended = RunStatus(status, 1, "", 2, 2, 2, 2, 2, heartbeat=time.time() - 60)
        write_json_atomically(run_dir / "status.json", ended.to_json())
    then = time.time_ns() - 60 * 10**9
    for path in run_dir.iterdir():
        os.utime(path, ns=(then, then))
    return run_dir


@pytest.mark.parametrize(
    ("status", "rows", "end"), [("absent", 2, "finished"), ("garbage", 2, "finished"), ("a folder", 1, "stopped")]
)
def test_a_run_without_a_readable_status_ends_once_no_process_holds_its_lock(tmp_path, status, rows, end):
    """A finished run's folder without its status.json (or a damaged one, or a folder in its place)
    was followed for good: `--headless --follow` printed both epochs and never exited, and the
    dashboard stayed "loading" offering a pause to a writer that did not exist. Once no process
    holds the lock, it ends as a replay judges the folder, and says why."""
    import fcntl

    from mnist_tui.sources.watch import RunWatch

    run_dir = _ended_run(tmp_path / "run", rows, status)
    seen: list = []
    watch = RunWatch(run_dir, [], 2, model_views=False, writer_created=100.0)
    with open(run_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # its writer lives: it may yet write its status
        assert not watch.step(seen.append, None, None)
        assert not [e for e in seen if isinstance(e, Finished)] and watch.state == ""
    assert watch.step(seen.append, None, None)  # the writer let go of its lock: gone
    assert watch.step(seen.append, None, None)  # and stays ended, said once
    finished = [e for e in seen if isinstance(e, Finished)]
    assert [(e.epochs_done, e.stopped) for e in finished] == [(rows, end == "stopped")] and watch.state == end
    notes = [e.text for e in seen if isinstance(e, Notice)]
    assert len([n for n in notes if "no process holds the run's lock" in n]) == 1, notes
    assert all("status.json" in n for n in notes), notes
    assert [type(e) for e in seen][-1] is Finished


def test_headless_follow_of_a_finished_run_without_its_status_exits_as_its_replay_says(tmp_path):
    """QA's repro: `timeout 15 mnist-tui --headless --follow RUN` with status.json removed printed
    both epochs and hung until killed (exit 124); `--replay RUN` said "finished"."""
    run_dir = _ended_run(tmp_path / "run", status="absent")
    out = subprocess.run(
        [sys.executable, "-m", "mnist_tui", "--headless", "--follow", str(run_dir)],
        capture_output=True,
        text=True,
        timeout=60,  # it never ended
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[-1].startswith("finished after 2 epochs"), lines
    assert any(line.startswith("note: ") and "no process holds the run's lock" in line for line in lines), lines


@pytest.mark.parametrize("damage", ["torn", "repeated"])
def test_an_ended_runs_torn_or_repeated_last_row_is_said_not_shown_as_a_shorter_run(tmp_path, damage):
    """metrics.jsonl's last line cut (40 characters): the follower said "finished after 1 epoch"
    of a run whose status.json counts 2, and nothing more (its replay and the workspace say what
    is missing). While the writer lives a torn line is a write in progress: nothing is said."""
    from mnist_tui.runfolder.atomic import write_json_atomically
    from mnist_tui.runfolder.layout import RunStatus
    from mnist_tui.sources.watch import RunWatch

    run_dir = _ended_run(tmp_path / "run")
    metrics = (run_dir / "metrics.jsonl").read_text()
    if damage == "torn":
        (run_dir / "metrics.jsonl").write_text(metrics[:-40])
    else:  # two rows of epoch 1: the second is epoch 2's, misnumbered
        first, second = metrics.splitlines()
        (run_dir / "metrics.jsonl").write_text(first + "\n" + second.replace('"epoch":2', '"epoch":1') + "\n")
    live = RunStatus("training", 1, "", 2, 1, 2, 2, 2, heartbeat=time.time())
    write_json_atomically(run_dir / "status.json", live.to_json())
    seen: list = []
    watch = RunWatch(run_dir, [], 2, model_views=False, writer_created=100.0)
    assert not watch.step(seen.append, None, None)
    assert not [e for e in seen if isinstance(e, Notice)]  # a write in progress, while its writer lives
    ended = RunStatus("finished", 1, "", 2, 2, 2, 2, 2, heartbeat=time.time())
    write_json_atomically(run_dir / "status.json", ended.to_json())
    assert watch.step(seen.append, None, None)
    notes = [e.text for e in seen if isinstance(e, Notice)]
    assert len(notes) == 1 and notes[0].startswith("metrics.jsonl holds 1 of the 2 epochs status.json counts"), notes
    said = "its last line is torn" if damage == "torn" else "1 row holds an epoch a later row holds too"
    assert said in notes[0], notes
    assert [type(e) for e in seen][-2:] == [Notice, Finished] and seen[-1].epochs_done == 1


def test_an_unreadable_batch_log_is_a_note_and_batches_come_while_the_metrics_cannot_be_read(tmp_path):
    """batches.jsonl made a folder failed the follower (as metrics.jsonl had); and while
    metrics.jsonl could not be read, every later epoch's batches were held for a row that never
    came: the plot and the progress stood still, and the held batches grew with the run."""
    import shutil

    from mnist_tui.runfolder.atomic import write_text_atomically

    watch, first, _ = _killed_in_epoch_2(tmp_path)
    (tmp_path / "metrics.jsonl").unlink()
    (tmp_path / "metrics.jsonl").mkdir()
    later = [_batch(e, n, 0.5) for e in (2, 3) for n in range(1, 5)]
    write_text_atomically(tmp_path / "batches.jsonl", _rows(*first, *later))  # a new file: read again
    seen: list = []
    watch.step(seen.append, None, None)
    assert [(e.epoch, e.batch) for e in seen if isinstance(e, BatchEnd)] == [(2, 4), (3, 1), (3, 2), (3, 3), (3, 4)]
    shutil.rmtree(tmp_path / "metrics.jsonl")
    (tmp_path / "batches.jsonl").unlink()
    (tmp_path / "batches.jsonl").mkdir()
    seen.clear()
    watch.step(seen.append, None, None)
    watch.step(seen.append, None, None)
    notes = [e.text for e in seen if isinstance(e, Notice)]
    assert len(notes) == 1 and "batches.jsonl: it is a folder, not a regular file" in notes[0], notes


def test_a_writer_that_ends_while_its_status_cannot_be_read_ends_as_its_folder_shows(tmp_path):
    """status.json made a folder mid-run: the follower aged the last status it read and said the
    writer "stopped without a word: killed or crashed" after a clean finish (--replay: finished)."""
    from mnist_tui.runfolder.atomic import write_json_atomically
    from mnist_tui.runfolder.layout import RunStatus, pid_namespace, process_start
    from mnist_tui.sources.watch import RunWatch

    run_dir = _ended_run(tmp_path / "run", status="absent")
    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = RunStatus(
            "training", writer.pid, "", 2, 1, 2, 1, 2, heartbeat=time.time(),
            pid_ns=pid_namespace(), pid_start=process_start(writer.pid) or 0,
        )  # fmt: skip
        write_json_atomically(run_dir / "status.json", live.to_json())
        seen: list = []
        watch = RunWatch(run_dir, [], 2, model_views=False, writer_created=100.0)
        assert not watch.step(seen.append, None, None) and watch.state == "training"
        (run_dir / "status.json").unlink()
        (run_dir / "status.json").mkdir()
    finally:
        writer.kill()
        writer.wait()
    then = time.time_ns() - 60 * 10**9
    for path in run_dir.iterdir():
        os.utime(path, ns=(then, then))
    assert watch.step(seen.append, None, None)
    assert not [e for e in seen if isinstance(e, StateChanged) and e.state == "lost"], seen
    assert [(e.epochs_done, e.stopped) for e in seen if isinstance(e, Finished)] == [(2, False)]
    assert watch.state == "finished"


def test_a_newer_programs_run_is_refused_as_newer_not_as_damaged(tmp_path):
    """A run.json of a newer format was "damaged" to the follower (the replay says "not used")."""
    (tmp_path / "run.json").write_text(json.dumps({"format": 99, "config": {}}))
    events: list = []
    result = FollowSource(tmp_path, lambda saved: Config(run_dir=tmp_path), poll_s=0.01).run(events.append)
    from mnist_tui.errors import UserError

    assert isinstance(result.error, UserError)
    message = events[-1].message
    assert "damaged" not in message and "run.json cannot be followed: format 99 is newer" in message
