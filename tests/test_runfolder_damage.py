"""Run-folder files damaged past what JSON's own errors cover: an int of 5,000 digits, nesting
100,000 deep, a pid of 1e20, a FIFO where the lock goes. Each is one skipped row or one line,
never a traceback, and never the end of a writer's steering."""

from __future__ import annotations

import json
import os
import socket
import time

import pytest

from mnist_tui import cli
from mnist_tui.runfolder.layout import CONTROL_NAME, METRICS_NAME, STATUS_NAME
from mnist_tui.runfolder.reader import read_control, read_metrics, read_status
from mnist_tui.runfolder.writer import RunFolderWriter
from mnist_tui.schema import RecordError
from mnist_tui.training.control import TrainingControl
from mnist_tui.training.events import EpochRecord

ROW = EpochRecord(1, 0.5, 0.9, 0.4, 0.91, 3.0, 20_000.0, 1e-3)
DEEP = "[" * 100_000 + "]" * 100_000


def test_rows_past_jsons_limits_are_skipped_and_counted(tmp_path):
    huge_loss = json.dumps(ROW.to_json() | {"epoch": 2}).replace('"train_loss": 0.5', '"train_loss": ' + "9" * 5000)
    huge_epoch = '{"epoch": ' + "1" * 5000 + "}"
    good = json.dumps(ROW.to_json() | {"epoch": 3})
    lines = [json.dumps(ROW.to_json()), huge_loss, huge_epoch, DEEP, good]
    (tmp_path / METRICS_NAME).write_text("\n".join(lines) + "\n")
    rows = read_metrics(tmp_path)
    assert [r.epoch for r in rows.records] == [1, 3] and rows.skipped == 3


@pytest.mark.parametrize(
    "text",
    [DEEP, '{"state": "training", "pid": 1e20}', '{"format": 2, "pid": ' + "7" * 5000 + "}"],
    ids=["deep", "float-pid", "huge-int"],
)
def test_a_status_past_jsons_limits_is_a_record_error(tmp_path, text):
    (tmp_path / STATUS_NAME).write_text(text)
    with pytest.raises(RecordError):
        read_status(tmp_path)


def test_a_pid_beyond_pid_t_is_refused_by_name(tmp_path):
    status = {"format": 2, "state": "training", "pid": 10**20, "host": "h", "epochs": 1, "epochs_done": 0}
    status |= {"epoch": 1, "batch": 0, "batches_per_epoch": 1, "samples_per_s": 0.0, "lr_scale": 1.0}
    (tmp_path / STATUS_NAME).write_text(json.dumps(status | {"heartbeat": time.time(), "message": ""}))
    with pytest.raises(RecordError, match="'pid' is above"):  # os.kill raised OverflowError on it
        read_status(tmp_path)


def test_a_damaged_control_file_is_no_request_and_the_next_is_still_taken(tmp_path):
    """Nesting 100,000 deep killed the writer's keeper thread: stop, pause and steering were gone
    for the rest of the run."""
    control = TrainingControl()
    writer = RunFolderWriter(tmp_path, {"epochs": 3}, control, lambda e: None)
    writer.open()
    path = tmp_path / CONTROL_NAME
    try:
        path.write_text(DEEP)
        assert read_control(tmp_path) is None
        writer._check_control()  # the keeper's poll: it used to raise RecursionError here
        path.write_text(json.dumps({"format": 2, "seq": 1, "stop": True}))
        deadline = time.monotonic() + 10
        while not control.stopped:
            assert time.monotonic() < deadline, "the stop after a damaged request was not taken"
            time.sleep(0.02)
    finally:
        writer.close()


def test_a_fifo_where_the_lock_goes_is_one_line_not_a_hang(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    os.mkfifo(run_dir / ".lock")
    code = cli.main(["--headless", "--dataset", "synthetic", "--run-dir", str(run_dir), "--epochs", "1"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0, err
    assert ".lock is a FIFO (named pipe), not a file" in err


def test_a_followed_folder_with_results_but_no_status_says_its_state_is_unknown(tmp_path):
    """A finished run's folder whose status.json was removed: the follower waited for ever, silent."""
    from mnist_tui.sources.watch import RunWatch
    from mnist_tui.training.events import Notice

    (tmp_path / METRICS_NAME).write_text(json.dumps(ROW.to_json()) + "\n")
    watch = RunWatch(tmp_path, [], 3, model_views=False, writer_created=None)
    events: list = []
    watch.step(events.append, None, None)
    watch.step(events.append, None, None)
    notices = [e.text for e in events if isinstance(e, Notice)]
    assert notices == ["the run's state is unknown: its folder has no status.json; following what it writes"]


def test_a_writers_pid_taken_by_another_process_is_lost_at_once():
    """A dead writer's pid reused (pid 1 here, set by hand) kept its run "training" for ever: the
    process start time in status.json tells the writer from whoever has its pid now."""
    from mnist_tui.runfolder.layout import RunStatus, pid_namespace, process_start
    from mnist_tui.runfolder.reader import effective_state

    now, me = time.time(), os.getpid()
    mine = RunStatus("training", me, socket.gethostname(), 3, 1, 2, 5, 10, now - 60, pid_ns=pid_namespace())
    assert effective_state(mine, now) == "training"  # stale heartbeat, its process alive: a stopped writer
    started = process_start(me)
    assert started is not None
    same = RunStatus(**(mine.to_json() | {"pid_start": started}))
    assert effective_state(same, now) == "training"
    reused = RunStatus(**(mine.to_json() | {"pid_start": started + 1}))  # its pid, another start: not it
    assert effective_state(reused, now) == "lost"
    elsewhere = RunStatus(**(reused.to_json() | {"pid_ns": "another-boot/pid:[1]", "heartbeat": now - 10}))
    # another namespace's pid cannot be looked up here: its heartbeat decides (30 s)
    assert effective_state(elsewhere, now) == "training"
