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
from mnist_tui.config import MAX_EPOCHS
from mnist_tui.runfolder.layout import CONTROL_NAME, INFO_NAME, METRICS_NAME, STATUS_NAME, STEERING_NAME
from mnist_tui.runfolder.reader import read_batches, read_control, read_info, read_metrics, read_rows, read_status
from mnist_tui.runfolder.writer import RunFolderWriter
from mnist_tui.schema import RecordError
from mnist_tui.training.control import TrainingControl
from mnist_tui.training.events import BatchEnd, EpochRecord, Steered

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


def test_an_epoch_past_the_plans_bound_is_a_damaged_row_named_by_its_line(tmp_path):
    """QA's row 2 of ``"epoch": 99999999999999999999999`` was taken: a follower said "finished after
    99,999,999,999,999,999,999,999 epochs", the plot's axis ran to 1e23 and --export-tensorboard
    ended in protobuf's "Value out of range"."""
    rows = [ROW.to_json(), ROW.to_json() | {"epoch": 10**23 - 1}, ROW.to_json() | {"epoch": MAX_EPOCHS + 1}]
    rows.append(ROW.to_json() | {"epoch": 2, "samples": 10**23})
    (tmp_path / METRICS_NAME).write_text("".join(json.dumps(row) + "\n" for row in rows))
    read = read_metrics(tmp_path)
    assert [r.epoch for r in read.records] == [1] and read.skipped == 3
    assert read.first_problem == "line 2: field 'epoch' is above 100000 (99999999999999999999999)"
    assert "line 4: field 'samples' is above" in read.problems[2]
    assert EpochRecord.from_json(ROW.to_json() | {"epoch": MAX_EPOCHS}).epoch == MAX_EPOCHS  # the bound itself


def test_batch_and_steering_rows_bound_their_counts_too(tmp_path):
    report = BatchEnd(1, 2, 10, (0.5, 0.4), 100.0, 128, (0.01, 0.01), 1.7e9).to_json()
    bad = [report | {"epoch": 10**23}, report | {"batch": 10**23, "batches_per_epoch": 10**23}]
    bad.append(report | {"samples_seen": 10**23})
    (tmp_path / "batches.jsonl").write_text("".join(json.dumps(row) + "\n" for row in [report, *bad]))
    batches = read_batches(tmp_path)
    assert len(batches.records) == 1 and batches.skipped == 3, batches.problems
    change = Steered(1, 0, "lr ×2", 2.0, 3, 1.7e9).to_json()
    bad = [change | {"epoch": 10**23}, change | {"epochs": MAX_EPOCHS + 1}, change | {"batch": 10**23}]
    (tmp_path / STEERING_NAME).write_text("".join(json.dumps(row) + "\n" for row in [change, *bad]))
    steering = read_rows(tmp_path / STEERING_NAME, Steered.from_json)
    assert len(steering.records) == 1 and steering.skipped == 3, steering.problems


def test_status_and_run_files_refuse_counts_past_their_bounds_by_name(tmp_path):
    status = {"format": 2, "state": "finished", "pid": 1, "host": "h", "epochs": 2, "epochs_done": 2, "epoch": 2}
    status |= {"batch": 0, "batches_per_epoch": 1, "heartbeat": time.time()}
    (tmp_path / STATUS_NAME).write_text(json.dumps(status))
    assert read_status(tmp_path).epochs_done == 2
    (tmp_path / STATUS_NAME).write_text(json.dumps(status | {"epochs_done": 10**23}))
    with pytest.raises(RecordError, match="'epochs_done' is above 100000"):
        read_status(tmp_path)
    (tmp_path / INFO_NAME).write_text(json.dumps({"format": 2, "config": {}, "created": 1.0, "train_size": 10**23}))
    with pytest.raises(RecordError, match="'train_size' is above"):
        read_info(tmp_path)


def test_more_epochs_stop_at_the_configurations_bound():
    """`a` on a plan of 100,000 asked 100,005: a plan the configuration refuses, and epoch rows past
    the bound every reader skips as damaged."""
    control = TrainingControl()
    control.set_epochs(MAX_EPOCHS + 5)
    assert control.target_epochs == MAX_EPOCHS


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
