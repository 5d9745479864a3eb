"""A follower tells everything a dead writer wrote before it says the writer is lost."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

from mnist_tui.runfolder.atomic import jsonl
from mnist_tui.runfolder.layout import RunStatus, pid_namespace, process_start
from mnist_tui.sources import watch as watch_module
from mnist_tui.sources.watch import RunWatch
from mnist_tui.training.events import BatchEnd, EpochRecord, StateChanged


def _batches(epoch: int, first: int, last: int) -> str:
    rows = [BatchEnd(epoch, n, 100, (0.5,), 1000.0, n * 64, (0.01,), 1.7e9).to_json() for n in range(first, last + 1)]
    return jsonl(rows)


def test_batches_a_writer_wrote_before_it_was_killed_come_before_lost(tmp_path, monkeypatch):
    """A writer killed while the follower read its batches had appended more: they were told after
    "lost", and a follower kept open through a resume showed them as the resumed run's."""
    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    status = RunStatus("training", writer.pid, socket.gethostname(), 3, 1, 2, 3, 100, time.time())
    status = RunStatus(**(status.to_json() | {"pid_ns": pid_namespace(), "pid_start": process_start(writer.pid)}))
    (tmp_path / "status.json").write_text(json.dumps(status.to_json()))
    (tmp_path / "batches.jsonl").write_text(_batches(2, 1, 3))
    read_layers = watch_module.read_layer_stats

    def appended_then_killed(run_dir):  # read after the batches, within the same step
        with open(tmp_path / "batches.jsonl", "a") as log:
            log.write(_batches(2, 4, 6))
        writer.kill()
        writer.wait()
        return read_layers(run_dir)

    monkeypatch.setattr(watch_module, "read_layer_stats", appended_then_killed)
    watch = RunWatch(tmp_path, [], 3, model_views=False, writer_created=None)
    (tmp_path / "layers.jsonl").write_text("")  # changed: read in the first step
    events: list = []
    try:
        watch.step(events.append, None, None)
        monkeypatch.setattr(watch_module, "read_layer_stats", read_layers)
        watch.step(events.append, None, None)
    finally:
        if writer.poll() is None:
            writer.kill()
    kinds = [(type(e).__name__, getattr(e, "batch", getattr(e, "state", None))) for e in events]
    lost = kinds.index(("StateChanged", "lost"))
    assert [b for kind, b in kinds[lost:] if kind == "BatchEnd"] == [], kinds  # none after "lost"
    assert [e.batch for e in events if isinstance(e, BatchEnd)] == [1, 2, 3, 4, 5, 6]  # each, in order
    assert isinstance(events[-1], StateChanged)


def test_a_live_writers_state_comes_before_the_backlog_it_holds(tmp_path):
    """A follower opened late told an epoch's batches, and even its row, before "training"."""
    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        status = RunStatus("training", writer.pid, socket.gethostname(), 3, 1, 2, 3, 100, time.time())
        status = RunStatus(**(status.to_json() | {"pid_ns": pid_namespace(), "pid_start": process_start(writer.pid)}))
        (tmp_path / "status.json").write_text(json.dumps(status.to_json()))
        (tmp_path / "batches.jsonl").write_text(_batches(1, 1, 100) + _batches(2, 1, 3))
        (tmp_path / "metrics.jsonl").write_text(jsonl([EpochRecord(1, 0.5, 0.8, 0.4, 0.85, 1.0, 1e4, 0.01).to_json()]))
        events: list = []
        RunWatch(tmp_path, [], 3, model_views=False, writer_created=None).step(events.append, None, None)
    finally:
        writer.kill()
        writer.wait()
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "StateChanged" and events[0].state == "training", kinds[:3]
    assert kinds.count("BatchEnd") == 103 and kinds.index("EpochRecord") == 101  # the row after its batches
