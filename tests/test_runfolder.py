"""The run folder's records, readers and writer: schemas, torn lines, the batch tail, control."""

from __future__ import annotations

import json
import os
import random
import socket
import time
from pathlib import Path

import pytest

from mnist_tui.runfolder.layout import (
    BATCHES_NAME,
    CONTROL_NAME,
    INFO_NAME,
    METRICS_NAME,
    STATUS_NAME,
    RunInfo,
    RunStatus,
)
from mnist_tui.runfolder.reader import BatchTail, effective_state, read_batches, read_metrics, read_status
from mnist_tui.runfolder.writer import RunFolderWriter
from mnist_tui.schema import RecordError
from mnist_tui.training.control import TrainingControl
from mnist_tui.training.events import BatchEnd, EpochRecord, Finished, StateChanged

ROW = EpochRecord(1, 0.5, 0.8, 0.4, 0.85, 1.5, 40000.0, 0.01, 0.2, "MNIST", "cpu", 1)


def batch(epoch: int, last: int, count: int = 2) -> BatchEnd:
    losses = tuple(2.0 - 0.01 * i for i in range(count))
    return BatchEnd(epoch, last, 10, losses, 1000.0, last * 64, (0.01,) * count, 1.7e9)


def test_records_round_trip_through_json():
    assert EpochRecord.from_json(json.loads(json.dumps(ROW.to_json()))) == ROW
    report = batch(1, 4)
    assert BatchEnd.from_json(json.loads(json.dumps(report.to_json()))) == report
    assert report.first_batch == 3


@pytest.mark.parametrize(
    "change, field",
    [
        ({"test_acc": "0.9"}, "test_acc"),
        ({"test_loss": float("nan")}, "test_loss"),
        ({"epoch": 0}, "epoch"),
        ({"epoch": True}, "epoch"),
        ({"train_acc": 1.5}, "train_acc"),
        ({"seconds": None}, "seconds"),
    ],
)
def test_an_epoch_row_wrong_inside_names_its_field(change, field):
    with pytest.raises(RecordError, match=field):
        EpochRecord.from_json(ROW.to_json() | change)


def test_a_missing_field_is_named_and_format_1_rows_still_read():
    row = ROW.to_json()
    del row["test_acc"]
    with pytest.raises(RecordError, match="test_acc"):
        EpochRecord.from_json(row)
    old = {k: ROW.to_json()[k] for k in ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "seconds")}
    old |= {"samples_per_s": 1.0, "dataset": "MNIST", "device": "cpu", "lr": 0.01}  # format 1: no world_size
    assert EpochRecord.from_json(old).world_size == 1


def test_batch_rows_check_their_lengths_and_positions():
    row = batch(1, 4).to_json()
    with pytest.raises(RecordError, match="lrs"):
        BatchEnd.from_json(row | {"lrs": [0.01]})
    with pytest.raises(RecordError, match="batch"):
        BatchEnd.from_json(row | {"batch": 11})  # past the epoch's 10 batches
    with pytest.raises(RecordError, match="losses"):
        BatchEnd.from_json(row | {"losses": []})


def test_metrics_reader_skips_bad_rows_and_tolerates_a_torn_last_line(tmp_path):
    good = json.dumps(ROW.to_json())
    second = json.dumps(ROW.to_json() | {"epoch": 2})
    (tmp_path / METRICS_NAME).write_text(f"{good}\n{{not json\n{json.dumps({'epoch': 3})}\n{second}\n{second[:30]}")
    rows = read_metrics(tmp_path)
    assert [r.epoch for r in rows.records] == [1, 2]
    assert rows.skipped == 2 and "line 2" in rows.first_problem


def test_random_corruption_of_rows_gives_a_record_or_a_skip_never_an_exception(tmp_path):
    rng = random.Random(7)
    values = [None, "x", -1, 0, 1e308, float("inf"), [], {}, True, 2**70, "", 0.5]
    lines = []
    for _ in range(300):
        row = ROW.to_json() if rng.random() < 0.5 else batch(1, 4).to_json()
        for _ in range(rng.randint(1, 3)):
            key = rng.choice(list(row))
            if rng.random() < 0.3:
                del row[key]
            else:
                row[key] = rng.choice(values)
        lines.append(json.dumps(row))
    text = "\n".join(lines) + "\n"
    (tmp_path / METRICS_NAME).write_text(text)
    (tmp_path / BATCHES_NAME).write_text(text)
    metrics, batches = read_metrics(tmp_path), read_batches(tmp_path)
    assert metrics.skipped + len({r.epoch for r in metrics.records}) <= 300
    assert all(isinstance(r, EpochRecord) for r in metrics.records)
    assert all(isinstance(b, BatchEnd) for b in batches.records)
    assert batches.skipped > 0 and metrics.skipped > 0


def test_batch_tail_returns_only_new_whole_lines_and_survives_a_rewrite(tmp_path):
    path = tmp_path / BATCHES_NAME
    tail = BatchTail(tmp_path)
    assert tail.read_new() == []
    first, second, third = batch(1, 2), batch(1, 4), batch(1, 6)
    line2 = json.dumps(second.to_json())
    path.write_text(json.dumps(first.to_json()) + "\n" + line2[:20])  # the second one half-written
    assert tail.read_new() == [first]
    with path.open("a") as f:
        f.write(line2[20:] + "\n")
    assert tail.read_new() == [second]
    # a resumed run rewrites the file (a new inode): nothing already returned comes back
    replacement = tmp_path / "new"
    replacement.write_text("".join(json.dumps(b.to_json()) + "\n" for b in (first, second, third)))
    os.replace(replacement, path)
    assert tail.read_new() == [third]


def _status(**changes) -> RunStatus:
    values = dict(
        state="training",
        pid=os.getpid(),
        host=socket.gethostname(),
        epochs=3,
        epochs_done=1,
        epoch=2,
        batch=5,
        batches_per_epoch=10,
        heartbeat=time.time(),
    )
    return RunStatus(**(values | changes))


def test_lost_needs_a_stale_heartbeat_and_a_dead_process():
    now = time.time()
    assert effective_state(_status(), now) == "training"
    assert effective_state(_status(heartbeat=now - 60), now) == "training"  # stale, but this process lives
    dead = _status(heartbeat=now - 60, pid=2**22 + 12345)  # above pid_max: no such process
    assert effective_state(dead, now) == "lost"
    assert effective_state(dead.__class__(**(dead.to_json() | {"state": "finished"})), now) == "finished"
    remote = _status(host="elsewhere", heartbeat=now - 10)
    assert effective_state(remote, now) == "training"  # another host's pid cannot be checked yet
    assert effective_state(_status(host="elsewhere", heartbeat=now - 120), now) == "lost"


def test_a_dead_writer_in_this_pid_namespace_is_lost_at_once_and_one_in_another_waits_for_its_heartbeat():
    """A run killed a second ago replayed as still being written: a fresh heartbeat hid the dead
    process. Sure only where the writer's process ids are ours (a container may share our host name)."""
    from mnist_tui.runfolder.layout import pid_namespace

    now = time.time()
    ours = pid_namespace()
    if not ours:
        pytest.skip("no /proc/self/ns/pid here: every writer waits for its heartbeat")
    boot, namespace = ours.split("/", 1)
    dead = 2**22 + 12345  # above pid_max: no such process
    assert effective_state(_status(pid=dead, pid_ns=ours), now) == "lost"
    assert effective_state(_status(pid_ns=ours), now) == "training"  # this process lives
    other = f"{boot}/pid:[1]"  # another container on this machine, with our host name
    assert effective_state(_status(pid=dead, pid_ns=other), now) == "training"  # cannot be checked
    assert effective_state(_status(pid=dead, pid_ns=other, heartbeat=now - 10), now) == "training"
    assert effective_state(_status(pid=dead, pid_ns=other, heartbeat=now - 120), now) == "lost"
    twin = f"another-boot/{namespace}"  # another machine of the same name: the same first namespace
    assert effective_state(_status(pid=dead, pid_ns=twin), now) == "training"
    assert effective_state(_status(pid=dead), now) == "training"  # an older writer's: the heartbeat decides


def test_a_writer_records_its_pid_namespace(tmp_path):
    from mnist_tui.runfolder.layout import pid_namespace

    if not pid_namespace():
        pytest.skip("no /proc/self/ns/pid here")
    writer = RunFolderWriter(tmp_path, {"epochs": 3}, TrainingControl(), lambda e: None)
    writer.open()
    try:
        assert read_status(tmp_path).pid_ns == pid_namespace() != ""
    finally:
        writer.close()


def test_a_run_folder_that_cannot_be_written_is_one_line_and_starts_no_keeper(tmp_path):
    from mnist_tui.errors import UserError

    (tmp_path / "a-file").write_text("not a folder")  # root writes anywhere, but not under a file
    writer = RunFolderWriter(tmp_path / "a-file" / "run", {"epochs": 3}, TrainingControl(), lambda e: None)
    with pytest.raises(UserError, match=r"^cannot write the run folder .*a-file/run: ") as caught:
        writer.open()
    assert "\n" not in str(caught.value)
    assert writer._keeper is None  # nothing left running for a folder that was never claimed


def test_writer_keeps_status_batches_and_metrics_and_obeys_the_control_file(tmp_path):
    control = TrainingControl()
    seen: list = []
    (tmp_path / CONTROL_NAME).write_text(json.dumps({"seq": 5, "stop": True}))  # an earlier run's request
    writer = RunFolderWriter(tmp_path, {"epochs": 3}, control, seen.append)
    writer.open()
    try:
        info = RunInfo.from_json(json.loads((tmp_path / INFO_NAME).read_text()))
        assert info.config == {"epochs": 3} and info.format == 2
        assert read_status(tmp_path).state == "loading"
        writer(StateChanged("training"))
        writer(batch(1, 2))
        writer(ROW)
        assert [b.batch for b in read_batches(tmp_path).records] == [2]
        assert read_metrics(tmp_path).records == [ROW]
        status = read_status(tmp_path)
        assert (status.state, status.epochs_done, status.pid) == ("training", 1, os.getpid())
        beat = status.heartbeat
        deadline = time.monotonic() + 10
        while read_status(tmp_path).heartbeat == beat:  # the keeper refreshes it on its own
            assert time.monotonic() < deadline, "no heartbeat"
            time.sleep(0.05)
        assert not control.stopped, "a request left from an earlier run was replayed"
        (tmp_path / CONTROL_NAME).write_text(json.dumps({"seq": 6, "paused": True}))
        while not control.paused:
            assert time.monotonic() < deadline, "the pause request was not obeyed"
            time.sleep(0.02)
        (tmp_path / CONTROL_NAME).write_text(json.dumps({"seq": 7, "stop": True}))
        while not control.stopped:
            assert time.monotonic() < deadline, "the stop request was not obeyed"
            time.sleep(0.02)
        writer(Finished(1, 0.85, True))
    finally:
        writer.close()
    assert read_status(tmp_path).state == "stopped"
    assert [type(e) for e in seen] == [StateChanged, BatchEnd, EpochRecord, Finished]  # all passed on to the face
    assert json.loads((tmp_path / STATUS_NAME).read_text())["format"] == 2


def test_a_second_request_written_in_the_same_mtime_tick_is_still_taken(tmp_path):
    """The writer knew control.json changed by its mtime alone: on a coarse file system (NFS, SMB)
    a request replaced within the same tick as the one before went unseen."""
    from mnist_tui.runfolder.atomic import write_json_atomically

    control = TrainingControl()
    writer = RunFolderWriter(tmp_path, {"epochs": 3}, control, lambda e: None)
    writer.open()
    path = tmp_path / CONTROL_NAME
    try:
        write_json_atomically(path, {"seq": 1, "paused": True})
        tick = path.stat().st_mtime_ns
        deadline = time.monotonic() + 10
        while not control.paused:
            assert time.monotonic() < deadline, "the pause request was not obeyed"
            time.sleep(0.02)
        while read_status(tmp_path).control_seq != 1:  # taken: the writer has stamped this file
            assert time.monotonic() < deadline, "the pause request was not recorded"
            time.sleep(0.02)
        write_json_atomically(path, {"seq": 2, "paused": True, "stop": True})
        os.utime(path, ns=(tick, tick))  # the same tick as the first
        while not control.stopped:
            assert time.monotonic() < deadline, "a request in the same tick was not seen"
            time.sleep(0.02)
    finally:
        writer.close()


def test_a_resumed_writer_keeps_the_runs_first_start_and_announces_itself_by_created(tmp_path):
    """The workspace's "started" column showed a resumed run's last start: run.json's ``created``
    is the writer's (a follower tells a new writer by it), so the first start is kept beside it."""
    from mnist_tui.runfolder.reader import read_info

    first = RunFolderWriter(tmp_path, {"epochs": 3}, TrainingControl(), lambda e: None)
    first.open()
    first.close()
    begun = read_info(tmp_path)
    assert begun.started == begun.created
    row = json.loads((tmp_path / "run.json").read_text())  # as if it had started an hour ago
    row["created"] = row["started"] = begun.created - 3600
    (tmp_path / "run.json").write_text(json.dumps(row))
    resumed = RunFolderWriter(tmp_path, {"epochs": 3}, TrainingControl(), lambda e: None)
    resumed.open(epochs_done=1)
    resumed.close()
    again = read_info(tmp_path)
    assert again.created >= begun.created  # a new writer, for followers
    assert again.first_start == begun.created - 3600  # the run's start, for the workspace and TensorBoard
    # a folder written before the field: its only start is created
    row = json.loads((tmp_path / "run.json").read_text())
    del row["started"]
    (tmp_path / "run.json").write_text(json.dumps(row))
    assert read_info(tmp_path).first_start == again.created


def test_a_resume_keeps_what_it_cannot_read_aside_and_says_so_and_puts_it_back_if_it_trains_nothing(tmp_path):
    """A resume replaced a run.json with one stray byte in it (the run's first start went) and
    dropped a steering row it could not read, saying nothing: nothing saved may be lost."""
    from mnist_tui.training.events import Notice

    first = RunFolderWriter(tmp_path, {"epochs": 3}, TrainingControl(), lambda e: None)
    first.open()
    first.close()
    info = (tmp_path / "run.json").read_bytes().replace(b'"host": "', b'"host": "\xe9', 1)
    (tmp_path / "run.json").write_bytes(info)
    steering = b'{"epoch": 1, "batch": 2, "what": "lr \xd7 2", "lr_scale": 2.0}\n'
    (tmp_path / "steering.jsonl").write_bytes(steering)
    events: list = []
    resumed = RunFolderWriter(tmp_path, {"epochs": 3}, TrainingControl(), events.append)
    resumed.open(epochs_done=1)
    assert all(isinstance(e, Notice) for e in events)
    said = [e.text for e in events]
    assert said[0].startswith("run.json is not JSON") and said[0].endswith(
        "kept as run.json.damaged, and a new run.json written"
    )
    assert said[1].startswith("skipped 1 damaged row of steering.jsonl") and "kept as steering.jsonl.damaged" in said[1]
    assert (tmp_path / "run.json.damaged").read_bytes() == info
    assert (tmp_path / "steering.jsonl.damaged").read_bytes() == steering
    assert json.loads((tmp_path / "run.json").read_text())["config"] == {"epochs": 3}  # a new one, readable
    resumed.close()
    assert resumed.restore_earlier()  # it trained no batch: the folder as it was found
    assert (tmp_path / "run.json").read_bytes() == info and (tmp_path / "steering.jsonl").read_bytes() == steering
    assert not (tmp_path / "run.json.damaged").exists() and not (tmp_path / "steering.jsonl.damaged").exists()
    (tmp_path / "run.json.damaged").write_text("an earlier resume's")
    again = RunFolderWriter(tmp_path, {"epochs": 3}, TrainingControl(), lambda e: None)
    again.open(epochs_done=1)
    again.close()
    assert (tmp_path / "run.json.damaged").read_text() == "an earlier resume's"  # kept too
    assert (tmp_path / "run.json.damaged-2").read_bytes() == info


def test_a_resume_into_a_new_folder_says_which_steering_rows_it_could_not_copy(tmp_path):
    """`--resume RUN --run-dir NEW` left RUN's unreadable steering rows out of NEW, saying nothing."""
    from mnist_tui.training.events import Notice

    run, new = tmp_path / "run", tmp_path / "new"
    run.mkdir()
    good = '{"epoch": 1, "batch": 3, "what": "lr × 2", "lr_scale": 2.0, "epochs": 3, "time": 1.0}\n'
    steering = good.encode() + b'{"epoch": 1, "batch": 4, "what": "lr \xd7 2"}\n'
    (run / "steering.jsonl").write_bytes(steering)
    events: list = []
    writer = RunFolderWriter(new, {"epochs": 3}, TrainingControl(), events.append)
    writer.open(epochs_done=1, logs_from=run)
    writer.close()
    said = [e.text for e in events if isinstance(e, Notice)]
    assert said == [f"skipped 1 damaged row of {run / 'steering.jsonl'} (line 2 is not JSON): left there, not copied"]
    assert [json.loads(line)["what"] for line in (new / "steering.jsonl").read_text().splitlines()] == ["lr × 2"]
    assert (run / "steering.jsonl").read_bytes() == steering  # left as it was


def test_a_control_request_is_typed_and_refuses_what_steering_cannot_take():
    """control.json's steering was a free dict the writer and the follower each checked by hand."""
    from mnist_tui.runfolder.layout import ControlRequest

    asked = ControlRequest.from_json({"format": 2, "seq": 3, "stop": False, "lr_scale": 4, "epochs": 7})
    assert (asked.seq, asked.paused, asked.lr_scale, asked.epochs) == (3, None, 4.0, 7)
    assert ControlRequest.from_json(asked.to_json()) == asked
    assert "lr_scale" not in ControlRequest(1, paused=True).to_json()  # not asked: not written
    # a plan past the configuration's limit: the writer trained on and no --resume took the run again
    too_long = {"epochs": 100_001}
    for bad in ({"lr_scale": "x"}, {"lr_scale": 0}, {"epochs": 0}, {"epochs": 2.5}, too_long, {"paused": "yes"}):
        with pytest.raises(RecordError):
            ControlRequest.from_json({"seq": 1, **bad})


def test_a_killed_writer_its_launcher_never_reaped_is_not_alive(tmp_path):
    """A zombie answers signals: a follower of a writer killed under a launcher that does not wait
    showed "still training" for good."""
    import subprocess
    import sys

    from mnist_tui.runfolder.reader import process_alive

    child = subprocess.Popen([sys.executable, "-c", "pass"])  # exits at once; not waited for yet
    try:
        stat = Path(f"/proc/{child.pid}/stat")
        deadline = time.monotonic() + 10
        while stat.read_text().rpartition(")")[2].split()[0] != "Z":
            assert time.monotonic() < deadline, "the child did not exit"
            time.sleep(0.02)
        assert process_alive(child.pid, socket.gethostname()) is False
        assert process_alive(os.getpid(), socket.gethostname()) is True
    finally:
        child.wait()


def test_a_json_record_is_read_as_utf8_whatever_its_first_bytes(tmp_path):
    """A run.json starting with the bytes ff fe read as UTF-16 by json's guess: "'utf-16-le'
    codec can't decode byte 0x7d"; a UTF-8 BOM (an editor's) is no damage."""
    from mnist_tui.runfolder.reader import read_json
    from mnist_tui.schema import RecordError

    (tmp_path / "a.json").write_bytes(b'\xff\xfe{"format": 2}')
    with pytest.raises(RecordError, match=r"^a.json is not JSON \('utf-8' codec can't decode byte 0xff in position 0"):
        read_json(tmp_path / "a.json")
    (tmp_path / "b.json").write_bytes(b'\xef\xbb\xbf{"format": 2}')
    assert read_json(tmp_path / "b.json") == {"format": 2}
