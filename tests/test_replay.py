"""Replay of run folders made by real headless runs: finished, killed, metrics only."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mnist_tui.config import Config
from mnist_tui.errors import UserError
from mnist_tui.insight.layer_records import LayerStatsRecord
from mnist_tui.runfolder.layout import process_start
from mnist_tui.runfolder.reader import read_batches
from mnist_tui.sources.replay import ReplayRequest, ReplaySource
from mnist_tui.sources.run_record import load_run
from mnist_tui.training.events import (
    BatchEnd,
    DataReady,
    Finished,
    ModelWeights,
    Notice,
    Predictions,
    StateChanged,
    Steered,
)

REPO = Path(__file__).resolve().parents[1]


def _headless(run_dir: Path, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "mnist_tui", "--headless", "--dataset", "synthetic", "--device", "cpu"]
    command += ["--limit-train", "500", "--run-dir", str(run_dir), *extra]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("replay") / "run"
    process = _headless(run_dir, "--epochs", "1")
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err.decode()
    return run_dir


def _replay(run_dir: Path, **config) -> list:
    events: list = []
    request = ReplayRequest(run_dir, lambda saved: Config.from_dict({**(saved or {}), **config}))
    result = ReplaySource(request).run(events.append)
    assert result.error is None, result.error
    return events


def _kinds(events: list) -> list[type]:
    """The event types in order, with the recorded batch reports (one BatchEnd run) as one entry."""
    kinds = [type(e) for e in events]
    return [k for i, k in enumerate(kinds) if not (k is BatchEnd and i and kinds[i - 1] is BatchEnd)]


def _batches(events: list) -> list[BatchEnd]:
    return [e for e in events if isinstance(e, BatchEnd)]


def test_replay_of_a_finished_run_reports_its_history_and_its_model_predictions(finished_run):
    events = _replay(finished_run)
    assert _kinds(events) == [DataReady, BatchEnd, LayerStatsRecord, ModelWeights, Predictions, Finished]
    ready, *batches, layers, weights, predictions, finished = events
    assert [row.epoch for row in ready.history] == [1] and layers.epoch == 1
    assert sum(len(b.losses) for b in batches) == ready.batches_per_epoch  # every batch loss of the epoch
    assert weights.epoch == 1 and weights.weights
    size = ready.test_size
    assert ready.start_epoch == 2 and size > 0 and ready.test_images.shape == (size, 28, 28)
    assert predictions.epoch == 1
    assert predictions.confusion.sum() == size
    assert np.array_equal(predictions.labels, ready.test_labels)
    # the checkpoint's model on the same data gives back the accuracy the run recorded
    accuracy = float((predictions.probabilities.argmax(1) == predictions.labels).mean())
    assert accuracy == pytest.approx(ready.history[0].test_acc, abs=1e-6)
    assert finished.epochs_done == 1 and finished.stopped is False
    assert finished.best_test_acc == ready.history[0].test_acc


def test_replay_names_the_precision_and_device_the_run_trained_with(finished_run):
    info = json.loads((finished_run / "run.json").read_text())
    assert info["config"]["precision"] == "auto" and info["precision"] in ("bf16", "fp32")
    ready = _replay(finished_run)[0]
    assert ready.precision == info["precision"]  # the header's words
    assert ready.settings["precision"] == info["precision"] and ready.settings["device"] == info["device"] == "cpu"


def test_a_replay_names_the_device_the_run_trained_on_not_its_own(finished_run, tmp_path):
    """A replay's DataReady said "cpu (replay)" whatever the run trained on: a run trained on a GPU
    read "cpu" in the header, and the JSON log's "device" was display text."""
    run_dir = tmp_path / "gpu"
    shutil.copytree(finished_run, run_dir)
    info = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps(info | {"device": "cuda:1"}))
    assert _replay(run_dir, dataset="synthetic")[0].device == "cuda:1"
    assert _replay(finished_run)[0].device == "cpu"


def test_replay_of_a_killed_run_shows_its_last_finished_epoch(tmp_path):
    run_dir = tmp_path / "killed"
    process = _headless(run_dir, "--epochs", "200")
    metrics = run_dir / "metrics.jsonl"
    deadline = time.monotonic() + 120
    while not (metrics.exists() and metrics.read_text().count("\n") >= 1):
        assert process.poll() is None and time.monotonic() < deadline, "the run never finished an epoch"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    events = _replay(run_dir)
    layers = [e for e in events if isinstance(e, LayerStatsRecord)]  # written just after each epoch's metrics row
    events = [e for e in events if not isinstance(e, LayerStatsRecord)]
    assert _kinds(events) == [DataReady, BatchEnd, ModelWeights, Predictions, StateChanged]
    ready, *batches, weights, predictions, end = events
    done = len(ready.history)
    assert [r.epoch for r in layers] == list(range(1, len(layers) + 1)) and len(layers) <= done
    assert done >= 1 and weights.epoch == predictions.epoch == done
    assert {b.epoch for b in batches} == set(range(1, done + 1))  # the unfinished epoch's batches are left out
    # at once, not after the heartbeat's 5 s: the writer was on this host, in this PID namespace
    assert end.state == "lost" and "killed or crashed" in end.detail


def test_metrics_only_replays_the_curves_without_a_model(finished_run, tmp_path):
    run_dir = tmp_path / "metrics-only"
    run_dir.mkdir()
    shutil.copy(finished_run / "metrics.jsonl", run_dir)
    events = _replay(run_dir, dataset="synthetic")
    assert [type(e) for e in events] == [DataReady, Finished]
    assert len(events[0].history) == 1 and events[0].test_size == 0
    assert "no checkpoint" in events[0].notice


def test_checkpoint_only_replays_its_own_history(finished_run, tmp_path):
    run_dir = tmp_path / "checkpoint-only"
    run_dir.mkdir()
    shutil.copy(finished_run / "checkpoint.pt", run_dir)
    events = _replay(run_dir)
    assert [type(e) for e in events] == [DataReady, ModelWeights, Predictions, Finished]  # no batch log
    assert len(events[0].history) == 1


def test_a_truncated_checkpoint_falls_back_to_metrics_with_a_note(finished_run, tmp_path):
    run_dir = tmp_path / "broken"
    shutil.copytree(finished_run, run_dir)
    data = (run_dir / "checkpoint.pt").read_bytes()
    (run_dir / "checkpoint.pt").write_bytes(data[: len(data) // 2])
    events = _replay(run_dir, dataset="synthetic")
    assert _kinds(events) == [DataReady, BatchEnd, LayerStatsRecord, Finished]  # what was recorded, but no model
    assert "checkpoint not used" in events[0].notice
    # no digits loaded, but the writer's sizes: a change at batch 1 was drawn at the epoch's end
    info = json.loads((run_dir / "run.json").read_text())
    ready = events[0]
    assert (ready.train_size, ready.batches_per_epoch) == (info["train_size"], info["batches_per_epoch"]) != (0, 0)
    assert len(ready.test_images) == 0


def test_missing_or_empty_folders_are_one_line_errors(tmp_path):
    with pytest.raises(UserError, match="no such run folder"):
        load_run(tmp_path / "nope")
    with pytest.raises(UserError, match="nothing to show"):
        load_run(tmp_path)
    (tmp_path / "metrics.jsonl").write_text("{not json\n")  # the damaged row is skipped: no epoch is left
    with pytest.raises(UserError, match="nothing to show: skipped 1 damaged row"):
        load_run(tmp_path)


def test_a_refused_checkpoint_and_no_metrics_says_why_the_checkpoint_was_refused(finished_run, tmp_path):
    run_dir = tmp_path / "bad"
    run_dir.mkdir()
    shutil.copy(finished_run / "run.json", run_dir)
    (run_dir / "checkpoint.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(UserError) as info:
        load_run(run_dir)
    message = str(info.value)
    assert "\n" not in message and "no finished epoch in metrics.jsonl, and" in message and "refused" in message


def test_damaged_rows_of_the_layer_and_steering_logs_are_counted_in_the_notes(finished_run, tmp_path):
    run_dir = tmp_path / "damaged-logs"
    shutil.copytree(finished_run, run_dir)
    with open(run_dir / "layers.jsonl", "a") as log:
        log.write("{torn in the middle\n")
    (run_dir / "steering.jsonl").write_text('{"epoch": "one"}\n')
    events = _replay(run_dir)
    assert "skipped 1 damaged row of layers.jsonl" in events[0].notice  # dropped without a word before
    assert "skipped 1 damaged row of steering.jsonl" in events[0].notice
    assert sum(isinstance(e, LayerStatsRecord) for e in events) == 1  # the good row still replays


def test_a_replay_without_model_views_loads_no_digits_and_evaluates_nothing(finished_run, monkeypatch):
    """A headless replay shows no predictions: its test digits and their evaluation took 1-2 s, and
    a bad --data-dir gave a note about predictions it never shows."""
    import mnist_tui.sources.replay as replay_module

    monkeypatch.setattr(replay_module, "load_test_data", lambda *args: pytest.fail("digits loaded"))
    events: list = []
    request = ReplayRequest(finished_run, lambda saved: Config.from_dict(saved or {}), model_views=False)
    assert ReplaySource(request).run(events.append).error is None
    assert not [e for e in events if isinstance(e, (ModelWeights, Predictions))]
    ready = events[0]
    assert isinstance(ready, DataReady) and len(ready.history) == 1 and ready.train_size > 0  # run.json's sizes
    assert isinstance(events[-1], Finished)


def test_steering_in_an_epoch_that_was_not_kept_is_not_replayed(finished_run, tmp_path):
    """A run steered in the epoch it was stopped in replayed that change: its settings said the
    lr scale of an epoch no checkpoint holds, and its count of changes was one too many."""
    run_dir = tmp_path / "steered"
    shutil.copytree(finished_run, run_dir)
    kept = {"epoch": 1, "batch": 2, "what": "lr ×4", "lr_scale": 4.0, "epochs": 1, "time": 1.0}
    dropped = {"epoch": 2, "batch": 3, "what": "lr ×0.5", "lr_scale": 2.0, "epochs": 1, "time": 2.0}
    (run_dir / "steering.jsonl").write_text(json.dumps(kept) + "\n" + json.dumps(dropped) + "\n")
    steered = [e for e in _replay(run_dir) if isinstance(e, Steered)]
    assert [(e.epoch, e.lr_scale) for e in steered] == [(1, 4.0)]


def test_epochs_the_status_counts_but_the_metrics_lack_are_a_note(finished_run, tmp_path):
    """A finished 2-epoch run whose last metrics row was torn replayed as "stopped after 1 epoch",
    without a word; the workspace said the file was cut."""
    run_dir = tmp_path / "cut"
    shutil.copytree(finished_run, run_dir)
    (run_dir / "checkpoint.pt").unlink()  # its history would stand in for the lost row
    status = json.loads((run_dir / "status.json").read_text())
    assert status["state"] == "finished" and status["epochs_done"] == 1
    (run_dir / "status.json").write_text(json.dumps(status | {"epochs": 2, "epochs_done": 2}))
    with open(run_dir / "metrics.jsonl", "a") as metrics:
        metrics.write('{"epoch": 2, "train_lo')
    events = _replay(run_dir)
    assert "metrics.jsonl holds 1 of the 2 epochs status.json counts (cut or removed)" in events[0].notice
    assert len(events[0].history) == 1
    assert "cut or removed" not in (_replay(finished_run)[0].notice or "")


def test_a_damaged_saved_config_is_a_note_and_the_curves_still_replay(finished_run, tmp_path):
    from mnist_tui import cli

    run_dir = tmp_path / "bad-config"
    run_dir.mkdir()
    shutil.copy(finished_run / "metrics.jsonl", run_dir)
    info = json.loads((finished_run / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps(info | {"config": info["config"] | {"lr": -5}}))
    args = cli.build_parser().parse_args(["--replay", str(run_dir)])
    events: list = []
    result = ReplaySource(ReplayRequest(run_dir, lambda saved: cli.build_config(args, saved))).run(events.append)
    assert result.error is None, result.error  # it refused the whole replay
    assert "lr" in events[0].notice and "(read from run.json); shown with the default settings" in events[0].notice
    assert len(events[0].history) == 1


def test_a_run_still_being_written_is_named_as_such_with_the_way_to_follow_it(finished_run, tmp_path):
    import socket

    run_dir = tmp_path / "live"
    shutil.copytree(finished_run, run_dir)
    status = json.loads((run_dir / "status.json").read_text())
    live = status | {"state": "training", "pid": os.getpid(), "host": socket.gethostname(), "heartbeat": time.time()}
    live["pid_start"] = process_start(os.getpid())  # this process plays the writer
    (run_dir / "status.json").write_text(json.dumps(live))
    events = _replay(run_dir)
    assert f"this run is still being written (training); --follow {run_dir} shows it live" in events[0].notice
    assert events[-1] == Finished(1, events[0].history[-1].test_acc, False, "training")  # it ended "stopped"
    (run_dir / "metrics.jsonl").unlink()
    (run_dir / "checkpoint.pt").unlink()
    with pytest.raises(UserError, match=r"no epoch has finished yet; --follow .* shows it live"):
        load_run(run_dir)  # it said "nothing to replay"


def test_a_run_that_failed_before_any_epoch_gives_its_own_reason(finished_run, tmp_path):
    """It said "no finished epoch in metrics.jsonl or checkpoint.pt, nothing to replay", and the
    reason the run gave (status.json's message) was shown nowhere, also not in the workspace."""
    run_dir = tmp_path / "diverged"
    run_dir.mkdir()
    shutil.copy(finished_run / "run.json", run_dir)
    status = json.loads((finished_run / "status.json").read_text())
    failed = status | {"state": "failed", "epochs_done": 0, "message": "training diverged: try a lower --lr"}
    (run_dir / "status.json").write_text(json.dumps(failed))
    with pytest.raises(
        UserError, match=r"the run failed before an epoch finished: training diverged: try a lower --lr$"
    ):
        load_run(run_dir)


def test_a_run_that_failed_in_its_first_epoch_replays_the_losses_it_recorded(finished_run, tmp_path):
    """A run that diverged in epoch 1 had 50 batch losses in batches.jsonl, and its replay was
    refused (its follower had drawn them): the curve, its settings and its reason are shown now."""
    run_dir = tmp_path / "diverged"
    run_dir.mkdir()
    for name in ("run.json", "batches.jsonl"):
        shutil.copy(finished_run / name, run_dir)
    status = json.loads((finished_run / "status.json").read_text())
    failed = status | {"state": "failed", "epochs_done": 0, "message": "training diverged: try a lower --lr"}
    (run_dir / "status.json").write_text(json.dumps(failed))
    events = _replay(run_dir)
    assert _kinds(events) == [DataReady, BatchEnd, StateChanged]
    recorded = [b for b in read_batches(run_dir).records if b.epoch == 1]
    assert _batches(events) == recorded and recorded
    assert events[0].history == () and events[0].dataset == "synthetic digits" and events[0].train_size == 500
    assert events[-1] == StateChanged("failed", "training diverged: try a lower --lr")


def test_a_run_that_failed_in_an_epoch_added_after_its_checkpoint_shows_that_plan(finished_run, tmp_path):
    """`--resume --epochs 3` (or `a`) over a 1-epoch checkpoint, failed in epoch 2: its replay
    showed epoch 2's batches under the checkpoint's plan, "epoch 2/1, run 100 %"."""
    run_dir = tmp_path / "failed-later"
    shutil.copytree(finished_run, run_dir)
    rows = (run_dir / "batches.jsonl").read_text().splitlines()
    later = [json.dumps(json.loads(line) | {"epoch": 2}) for line in rows[:2]]
    (run_dir / "batches.jsonl").write_text("\n".join(rows + later) + "\n")
    status = json.loads((run_dir / "status.json").read_text())
    failed = status | {"state": "failed", "epochs": 3, "epochs_done": 1, "message": "training diverged"}
    (run_dir / "status.json").write_text(json.dumps(failed))
    events = _replay(run_dir)
    assert events[0].epochs == 3  # status.json's plan, not the checkpoint's 1
    assert [b.epoch for b in _batches(events)].count(2) == len(later) > 0  # the epoch it failed in
    assert events[-1] == StateChanged("failed", "training diverged")


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (
            {"state": "failed", "message": "training diverged at epoch 1"},
            "training diverged at epoch 1",
        ),
        ({"state": "training", "pid": 2**22 + 1, "heartbeat": 1.0}, "killed or crashed): it was lost, not stopped"),
    ],
)
def test_a_failed_or_lost_run_is_not_replayed_as_merely_stopped(finished_run, tmp_path, change, said):
    run_dir = tmp_path / "ended"
    shutil.copytree(finished_run, run_dir)
    status = json.loads((run_dir / "status.json").read_text())
    (run_dir / "status.json").write_text(json.dumps(status | change))  # a dead pid, an old heartbeat: lost
    events = _replay(run_dir)
    # said as the run's end state, as a follower says it, and not also "stopped" (a replay alone had
    # said "stopped after 1 epoch(s)", the failure gone; then both, a note and "stopped")
    from mnist_tui.training.events import Finished, StateChanged

    assert not any(isinstance(e, Finished) for e in events) and said not in (events[0].notice or "")
    end = events[-1]
    ended = "failed" if change["state"] == "failed" else "lost"  # lost: a "training" writer long gone
    assert isinstance(end, StateChanged) and end.state == ended and said in end.detail


def test_a_fifo_in_the_layer_logs_place_is_a_note_and_the_run_still_replays(finished_run, tmp_path):
    """A FIFO named layers.jsonl made --replay block forever (the log was read with read_bytes)."""
    import os

    run_dir = tmp_path / "fifo-layers"
    shutil.copytree(finished_run, run_dir)
    (run_dir / "layers.jsonl").unlink()
    os.mkfifo(run_dir / "layers.jsonl")
    events = _replay(run_dir)
    assert "not used: " in events[0].notice
    assert "layers.jsonl: it is a FIFO (named pipe), not a regular file" in events[0].notice
    assert [row.epoch for row in events[0].history] == list(range(1, len(events[0].history) + 1))
    assert events[0].history and isinstance(events[-1], Finished)


def test_a_run_that_evaluates_a_weight_average_replays_with_it(tmp_path):
    """--recipe sprint evaluates (and saves for drawing) an EMA of the weights; its replay showed
    the plain weights' predictions: 91 wrong digits beside a recorded 99.13 % (87 wrong)."""
    run_dir = tmp_path / "ema"
    process = _headless(run_dir, "--recipe", "sprint", "--epochs", "2", "--batch-size", "32")
    _, err = process.communicate(timeout=180)
    assert process.returncode == 0, err.decode()
    events = _replay(run_dir)
    ready, predictions = events[0], next(e for e in events if isinstance(e, Predictions))
    accuracy = float((predictions.probabilities.argmax(1) == predictions.labels).mean())
    assert accuracy == pytest.approx(ready.history[-1].test_acc, abs=1e-6)


def test_a_replay_names_the_processes_that_trained_the_run(finished_run, tmp_path):
    """`--headless --replay` of a torchrun run left out "· 2 processes", which --follow says."""
    run_dir = tmp_path / "ddp"
    shutil.copytree(finished_run, run_dir)
    info = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps(info | {"world_size": 2}))
    assert _replay(run_dir, dataset="synthetic")[0].world_size == 2


def test_a_replay_says_what_a_dead_nets_run_said(tmp_path):
    """The note that the loss sat at chance (a dead net) came from the trainer and a follower only:
    a replay of the same folder said nothing."""
    run_dir = tmp_path / "dead"
    process = _headless(run_dir, "--epochs", "2")
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err.decode()
    log = run_dir / "batches.jsonl"
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    first = [r for r in rows if r["epoch"] == 1]
    at_chance = {**first[-1], "epoch": 2, "batch": 25, "batches_per_epoch": 25, "losses": [2.3026] * 25}
    at_chance["lrs"] = first[-1]["lrs"][:1] * 25
    log.write_text("".join(json.dumps(r) + "\n" for r in [*first, at_chance]))
    notices = [e.text for e in _replay(run_dir) if isinstance(e, Notice)]
    assert len(notices) == 1 and "the network is not learning" in notices[0]


def test_a_checkpoint_of_float64_weights_replays(finished_run, tmp_path):
    """The checks took it and --resume trained on from it, but the replay's first forward failed
    ("Input type (torch.FloatTensor) and weight type (torch.DoubleTensor) should be the same")."""
    import torch

    run_dir = tmp_path / "doubles"
    shutil.copytree(finished_run, run_dir)
    state = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    state["model"] = {k: v.double() for k, v in state["model"].items()}
    torch.save(state, run_dir / "checkpoint.pt")
    events = _replay(run_dir)
    assert any(isinstance(e, Predictions) for e in events)


def test_rows_that_skip_epochs_or_pass_the_count_are_a_note_in_the_replay_and_the_workspace(finished_run, tmp_path):
    """Rows of epochs 1 and 7 of a 2-epoch run replayed as "epoch 7/7 … finished after 7 epochs",
    and were exported so, without a word."""
    from mnist_tui.workspace.index import RunIndex

    run_dir = tmp_path / "runs" / "gap"
    shutil.copytree(finished_run, run_dir)
    (run_dir / "checkpoint.pt").unlink()  # its history would stand in for the rows
    (first,) = (run_dir / "metrics.jsonl").read_text().splitlines()  # a 1-epoch run's
    (run_dir / "metrics.jsonl").write_text(first + "\n" + json.dumps(json.loads(first) | {"epoch": 7}) + "\n")
    said = "metrics.jsonl holds no row of epochs 2-6 and a row of epoch 7, past the 1 epoch status.json counts"
    assert said in _replay(run_dir)[0].notice
    (summary,) = RunIndex(tmp_path / "runs").scan()
    assert summary.note == said
    assert not (_replay(finished_run)[0].notice or "")  # a whole run's rows say nothing


def test_a_torn_last_metrics_line_is_said_and_the_checkpoints_rows_are_shown(finished_run, tmp_path):
    """A cut metrics.jsonl (its last row torn, its writer gone) replayed in silence from the checkpoint."""
    run_dir = tmp_path / "torn"
    shutil.copytree(finished_run, run_dir)
    metrics = run_dir / "metrics.jsonl"
    metrics.write_text(metrics.read_text()[:-40])  # the last row, cut with no newline
    events = _replay(run_dir)
    assert "metrics.jsonl: its last line is torn; the checkpoint's rows are shown" in events[0].notice
    assert [row.epoch for row in events[0].history] == [1]
