"""Resume gives the uninterrupted result; failures inside training stop the run and keep the checkpoint."""

from __future__ import annotations

import json

import pytest
import torch

from mnist_tui import cli
from mnist_tui.errors import TrainingDiverged
from mnist_tui.runfolder.reader import read_metrics
from mnist_tui.training.checkpoint import load_checkpoint
from mnist_tui.training.control import TrainingControl
from mnist_tui.training.events import BatchEnd, DataReady, EpochRecord, Failed, Finished, Notice, PlanChanged, Steered
from mnist_tui.training.loop import Trainer


def _epochs_logged(run_dir) -> list[int]:
    rows = read_metrics(run_dir)
    assert rows.skipped == 0, rows.first_problem
    return [row.epoch for row in rows.records]


def _run(config, datasets, listener=None, control=None, resume_from=None):
    events = []

    def listen(event):
        events.append(event)
        if listener is not None:
            listener(event)

    state = load_checkpoint(resume_from) if resume_from is not None else None
    trainer = Trainer(config, listen, control, resume_state=state, datasets=datasets)
    return trainer, trainer.run(), events


def _stop_after_epoch(control, epoch):
    def listener(event):
        if isinstance(event, EpochRecord) and event.epoch == epoch:
            control.stop()

    return listener


@pytest.mark.parametrize(("schedule", "ema_decay"), [("onecycle", 0.0), ("constant", 0.0), ("constant", 0.9)])
def test_one_epoch_plus_resume_equals_two_straight(tiny_config, small_synthetic, tmp_path, schedule, ema_decay):
    """A resumed run must continue bit-identically: weights, history and the weight average.
    With an EMA, resume once restarted the average from the saved weights (discarding it)."""
    config = tiny_config.with_changes(epochs=2, schedule=schedule, limit_train=256, ema_decay=ema_decay)
    straight, result, _ = _run(config.with_changes(run_dir=tmp_path / "straight"), small_synthetic)
    assert result.error is None and result.epochs_done == 2

    split_dir = tmp_path / "split"
    control = TrainingControl()
    _, first, _ = _run(config.with_changes(run_dir=split_dir), small_synthetic, _stop_after_epoch(control, 1), control)
    assert first.epochs_done == 1 and load_checkpoint(split_dir)["epoch"] == 1
    resumed, second, events = _run(config.with_changes(run_dir=split_dir), small_synthetic, resume_from=split_dir)
    assert second.error is None
    assert [e.epoch for e in events if isinstance(e, EpochRecord)] == [2]  # continues from the next epoch

    a, b = load_checkpoint(tmp_path / "straight"), load_checkpoint(split_dir)
    assert a["epoch"] == b["epoch"] == 2
    for name, tensor in a["model"].items():  # CPU, saved RNG and shuffle state: bit-identical
        assert torch.equal(tensor, b["model"][name]), name
    if ema_decay:
        assert a["ema"].keys() == b["ema"].keys() and a["ema_steps"] == b["ema_steps"] > 0
        for name, tensor in a["ema"].items():
            assert torch.equal(tensor, b["ema"][name]), name
        assert not torch.equal(a["ema"]["conv1.weight"], a["model"]["conv1.weight"])  # an average, not the weights
    assert [r["test_acc"] for r in a["history"]] == [r["test_acc"] for r in b["history"]]
    assert _epochs_logged(split_dir) == [1, 2]  # metrics rewritten, not duplicated


def test_resume_with_a_new_lr_uses_it(tiny_config, small_synthetic, tmp_path):
    config = tiny_config.with_changes(epochs=2, schedule="constant", limit_train=320)
    control = TrainingControl()
    _run(config, small_synthetic, _stop_after_epoch(control, 1), control)
    trainer, result, _ = _run(config.with_changes(lr=1e-4), small_synthetic, resume_from=config.run_dir)
    assert result.error is None
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(1e-4)
    assert load_checkpoint(config.run_dir)["config"]["lr"] == pytest.approx(1e-4)


def test_a_resume_with_other_settings_says_which_and_one_with_the_saved_ones_says_nothing(tiny_config, small_synthetic):
    config = tiny_config.with_changes(epochs=2, schedule="constant", limit_train=320, conv_dropout=0.1)
    control = TrainingControl()
    _run(config, small_synthetic, _stop_after_epoch(control, 1), control)
    changed = config.with_changes(lr=1e-4, conv_dropout=0.2, fc_dropout=0.2, tests_per_epoch=2)
    *_, events = _run(changed, small_synthetic, resume_from=config.run_dir)
    notices = [e.text for e in events if isinstance(e, Notice)]
    was_fc = f"{config.fc_dropout:g}"
    assert notices == [f"resumed with --lr 0.0001 (was {config.lr:g}), --dropout 0.2 (was 0.1/{was_fc}), "
                       "--tests-per-epoch 2 (was 1)"]  # fmt: skip
    _, result, events = _run(changed.with_changes(epochs=3), small_synthetic, resume_from=config.run_dir)
    assert result.epochs_done == 3 and not any(isinstance(e, Notice) for e in events)  # the saved ones now


def test_a_resume_of_an_older_checkpoint_compares_with_the_defaults_it_was_trained_with():
    from mnist_tui.config import Config
    from mnist_tui.training.resume import settings_changed

    saved = Config().to_dict()
    del saved["tests_per_epoch"]  # written before the option existed: it tested once an epoch
    assert settings_changed(saved, Config()) is None
    assert settings_changed(saved, Config(tests_per_epoch=3)) == "resumed with --tests-per-epoch 3 (was 1)"
    assert settings_changed(saved | {"limit_train": 500}, Config()) == "resumed with --limit-train not set (was 500)"
    close = settings_changed(saved | {"lr": 0.0012345671}, Config(lr=0.0012345674))  # the same in 6 digits
    assert close == "resumed with --lr 0.0012345674 (was 0.0012345671)"


def test_resume_with_another_batch_size_starts_a_fitting_cycle(tiny_config, small_synthetic, tmp_path):
    """The saved one-cycle schedule counts steps of the old batch size: reusing it would overrun."""
    config = tiny_config.with_changes(epochs=2, schedule="onecycle", limit_train=256)
    control = TrainingControl()
    _run(config, small_synthetic, _stop_after_epoch(control, 1), control)
    _, result, _ = _run(config.with_changes(batch_size=16), small_synthetic, resume_from=config.run_dir)
    assert result.error is None, result.error
    assert result.epochs_done == 2


def test_resume_whose_new_plan_has_the_saved_cycles_length_starts_a_fitting_cycle(tiny_config, small_synthetic):
    """2 epochs of 4 batches stopped after one, resumed for 4 epochs of 2 batches: 8 steps both,
    so the saved cycle (4 steps taken) was loaded, and the run failed past its 8th step ("Tried
    to step 9 times")."""
    config = tiny_config.with_changes(epochs=2, schedule="onecycle", limit_train=256)
    control = TrainingControl()
    _run(config, small_synthetic, _stop_after_epoch(control, 1), control)
    longer = config.with_changes(epochs=4, batch_size=128)
    trainer, result, _ = _run(longer, small_synthetic, resume_from=config.run_dir)
    assert result.error is None, result.error
    assert result.epochs_done == 4


def _headless(*args: str) -> int:
    return cli.main(["--headless", "--dataset", "synthetic", "--device", "cpu", "--precision", "fp32", *args])


def test_cli_refusal_of_a_finished_resumed_sprint_counts_its_half_epoch(tmp_path, capsys):
    """A finished sprint resumed with --epochs 4 trained 3.5 epochs of data; refused again, it
    read "already finished epoch 4 of 4", as if all four were whole."""
    run = tmp_path / "run"
    assert _headless("--recipe", "sprint", "--limit-train", "256", "--batch-size", "64", "--run-dir", str(run)) == 0
    assert cli.main(["--headless", "--resume", str(run), "--epochs", "4"]) == 0
    capsys.readouterr()
    assert [row["samples"] for row in load_checkpoint(run)["history"]] == [256, 256, 128, 256]

    assert cli.main(["--headless", "--resume", str(run)]) == 2
    err = capsys.readouterr().err
    assert "already finished epoch 4 of 4 (3.5 epochs);" in err


def test_cli_resume_of_a_finished_run_says_so_and_trains_further_on_request(tmp_path, capsys):
    run = tmp_path / "run"
    assert _headless("--epochs", "1", "--limit-train", "256", "--run-dir", str(run)) == 0
    capsys.readouterr()

    assert cli.main(["--headless", "--resume", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already finished epoch 1 of 1" in err and "--epochs" in err

    assert cli.main(["--headless", "--resume", str(run / "checkpoint.pt"), "--epochs", "2"]) == 0
    out = capsys.readouterr().out
    assert "epoch 1, trained earlier:" in out  # resumed after epoch 1
    state = load_checkpoint(run)
    assert state["epoch"] == 2
    assert state["config"]["limit_train"] == 256 and state["config"]["epochs"] == 2  # saved config kept
    assert _epochs_logged(run) == [1, 2]


@pytest.mark.parametrize("when", ["mid-training", "after the last step"])
def test_nan_stops_the_run_and_keeps_the_last_checkpoint(tiny_config, small_synthetic, when):
    """Real arithmetic makes the NaN: every weight of conv1 becomes NaN, either before epoch 2's
    first batch (its loss is NaN) or after epoch 2's last step (only the evaluation sees it)."""
    config = tiny_config.with_changes(epochs=3, limit_train=640)
    trainer = None

    def poison_now(event) -> bool:
        if when == "mid-training":
            return isinstance(event, EpochRecord) and event.epoch == 1
        return isinstance(event, BatchEnd) and event.epoch == 2 and event.batch == event.batches_per_epoch

    events = []

    def listen(event):
        events.append(event)
        if poison_now(event):
            with torch.no_grad():
                trainer.model.conv1.weight.fill_(float("nan"))

    trainer = Trainer(config, listen, datasets=small_synthetic)
    result = trainer.run()
    assert isinstance(result.error, TrainingDiverged)
    failed = events[-1]
    assert isinstance(failed, Failed) and failed.epochs_done == 1
    assert "diverged" in failed.message and "nan" in failed.message.lower() and "epoch 2" in failed.message
    assert "checkpoint of epoch 1" in failed.message
    assert not any(isinstance(e, Finished) for e in events)
    assert [e.epoch for e in events if isinstance(e, EpochRecord)] == [1]
    state = load_checkpoint(config.run_dir)
    assert state["epoch"] == 1
    assert all(torch.isfinite(t).all() for t in state["model"].values())
    assert _epochs_logged(config.run_dir) == [1]


def test_out_of_memory_mid_epoch_is_a_clear_failure(tiny_config, small_synthetic):
    config = tiny_config.with_changes(epochs=2, limit_train=640)

    def listen(event):
        if isinstance(event, BatchEnd) and event.epoch == 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    events = []
    trainer = Trainer(config, lambda e: (events.append(e), listen(e)), datasets=small_synthetic)
    result = trainer.run()
    assert isinstance(result.error, torch.cuda.OutOfMemoryError)
    assert events[-1].message.startswith("CUDA ran out of memory (try a smaller --batch-size")
    assert load_checkpoint(config.run_dir)["epoch"] == 1


def test_headless_failure_is_one_line_on_stderr_and_exit_1(tmp_path, capsys, monkeypatch):
    from mnist_tui.training import loop

    def broken_evaluate(*args, **kwargs):
        raise RuntimeError("something broke\nwith a second line")

    monkeypatch.setattr(loop, "evaluate", broken_evaluate)
    code = _headless("--epochs", "1", "--limit-train", "128", "--run-dir", str(tmp_path / "run"))
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("mnist-tui: error: RuntimeError: something broke") and err.count("\n") == 1


def test_trainer_keeps_nothing_per_batch_across_epochs(tiny_config, small_synthetic):
    """History grows by one row per epoch; the checkpoint by that row, never by batches."""
    sizes = {}

    def listen(event):
        if isinstance(event, EpochRecord):
            sizes[event.epoch] = (tiny_config.run_dir / "checkpoint.pt").stat().st_size

    config = tiny_config.with_changes(epochs=3, batch_size=8, limit_train=160)  # 20 batches an epoch
    trainer, result, _ = _run(config, small_synthetic, listen)
    assert result.epochs_done == 3 and len(trainer.history) == 3
    assert sizes[3] - sizes[1] < 2_000  # two metrics rows, not 40 batch losses
    for name, value in vars(trainer).items():
        if isinstance(value, (list, tuple, dict)):
            assert len(value) <= 3 or name in ("resume_state",), (name, len(value))
    for name, value in vars(trainer.writer).items():  # the run folder's writer sees every batch report too
        if isinstance(value, (list, tuple, dict)):
            assert len(value) <= 3 or name == "_status", (name, len(value))  # _status: the status file's fields
    rows = [json.loads(line) for line in (config.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 3


def test_disk_full_at_a_save_fails_clearly_and_keeps_the_previous_checkpoint(tiny_config, small_synthetic, monkeypatch):
    import errno

    from mnist_tui.training import checkpoint as ckpt

    real_write = ckpt.write_checkpoint_bytes
    writes = []

    def write_until_full(path, data):
        writes.append(1)
        if len(writes) >= 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(path, data)

    monkeypatch.setattr(ckpt, "write_checkpoint_bytes", write_until_full)
    config = tiny_config.with_changes(epochs=3, limit_train=256)
    trainer, result, events = _run(config, small_synthetic)
    assert isinstance(result.error, OSError)
    message = events[-1].message
    assert "cannot write the checkpoint" in message and "No space left on device" in message
    assert "the checkpoint of epoch 1" in message  # what is on disk, not the epoch that failed to save
    assert events[-1].epochs_done == 1  # as status.json and metrics.jsonl count them (it said 2)
    assert load_checkpoint(config.run_dir)["epoch"] == 1
    monkeypatch.setattr(ckpt, "write_checkpoint_bytes", real_write)  # space freed: `s` writes epoch 2
    assert trainer.save_now()[0] == 2 and load_checkpoint(config.run_dir)["epoch"] == 2


def test_a_kill_just_after_an_epochs_checkpoint_keeps_its_layer_row_through_the_resume(
    tiny_config, small_synthetic, monkeypatch
):
    """Killed between epoch 2's checkpoint and its logs, the resume went on from epoch 3 and the
    inside view's layer statistics had no epoch 2, for good (metrics.jsonl is rebuilt from the
    checkpoint's history)."""
    from mnist_tui.runfolder.layers_log import read_layer_stats
    from mnist_tui.training.saving import CheckpointKeeper

    class Killed(BaseException):  # not an Exception: nothing in the trainer reports it
        pass

    real_keep = CheckpointKeeper.keep

    def keep_then_die(keeper, epoch, state):
        real_keep(keeper, epoch, state)
        if epoch == 2:
            raise Killed

    monkeypatch.setattr(CheckpointKeeper, "keep", keep_then_die)
    config = tiny_config.with_changes(epochs=3, limit_train=256)
    with pytest.raises(Killed):
        _run(config, small_synthetic)
    assert load_checkpoint(config.run_dir)["epoch"] == 2
    assert [r.epoch for r in read_layer_stats(config.run_dir).records] == [1, 2]
    monkeypatch.setattr(CheckpointKeeper, "keep", real_keep)
    _run(config, small_synthetic, resume_from=config.run_dir)
    assert [r.epoch for r in read_layer_stats(config.run_dir).records] == [1, 2, 3]
    assert _epochs_logged(config.run_dir) == [1, 2, 3]


def test_a_kill_before_an_epochs_checkpoint_leaves_its_layer_row_to_the_resume(
    tiny_config, small_synthetic, monkeypatch
):
    """Epoch 2's layers.jsonl row is written before its checkpoint: killed between them, the
    replay showed a row for an epoch it does not keep, and a follower that had shown it never
    passed on the resumed run's own epoch 2 (a review found both)."""
    from mnist_tui.insight.layer_records import LayerStatsRecord
    from mnist_tui.runfolder.layers_log import read_layer_stats
    from mnist_tui.runfolder.reader import read_info
    from mnist_tui.sources.replay import ReplayRequest, ReplaySource
    from mnist_tui.sources.watch import RunWatch
    from mnist_tui.training.saving import CheckpointKeeper

    class Killed(BaseException):
        pass

    real_keep = CheckpointKeeper.keep

    def die_at_2(keeper, epoch, state):
        if epoch == 2:
            raise Killed
        real_keep(keeper, epoch, state)

    monkeypatch.setattr(CheckpointKeeper, "keep", die_at_2)
    config = tiny_config.with_changes(epochs=3, limit_train=256)
    with pytest.raises(Killed):
        _run(config, small_synthetic)
    assert [r.epoch for r in read_layer_stats(config.run_dir).records] == [1, 2]
    assert _epochs_logged(config.run_dir) == [1]
    replayed: list = []
    ReplaySource(ReplayRequest(config.run_dir, lambda saved: config)).run(replayed.append)
    assert [e.epoch for e in replayed if isinstance(e, LayerStatsRecord)] == [1]
    watch = RunWatch(config.run_dir, [], 3, model_views=False, writer_created=read_info(config.run_dir).created)
    seen: list = []
    watch.step(seen.append, None, None)
    assert [e.epoch for e in seen if isinstance(e, LayerStatsRecord)] == [1, 2]  # the killed attempt's
    monkeypatch.setattr(CheckpointKeeper, "keep", real_keep)
    _run(config, small_synthetic, resume_from=config.run_dir)
    seen.clear()
    watch.step(seen.append, None, None)
    rows = [e for e in seen if isinstance(e, LayerStatsRecord)]
    assert [e.epoch for e in rows] == [2, 3] and rows == read_layer_stats(config.run_dir).records[1:]


def test_checkpoint_from_other_optimizer_kernels_resumes_with_this_devices(tiny_config, small_synthetic):
    config = tiny_config.with_changes(epochs=2, limit_train=128)
    control = TrainingControl()
    _run(config, small_synthetic, _stop_after_epoch(control, 1), control)
    state = load_checkpoint(config.run_dir)
    for group in state["optimizer"]["param_groups"]:
        group.update(fused=None, foreach=True)  # as saved by 0.x (foreach Adam on the CPU)
        group.update(amsgrad=None)  # damaged: the foreach kernel took it, the fused one raised
    trainer = Trainer(config, lambda event: None, resume_state=state, datasets=small_synthetic)
    result = trainer.run()
    assert result.error is None and result.epochs_done == 2
    assert all(g["fused"] and not g["foreach"] for g in trainer.optimizer.param_groups)  # this CPU's fused kernel
    assert all(g["amsgrad"] is False for g in trainer.optimizer.param_groups)


def test_a_resumed_run_shows_its_kept_steering_again(tmp_path):
    """Resumed, a steered run trained at its steered lr while the dashboard said "lr 0.001" with no
    "× 0.5 (steered)" and drew no steering marks: the face is sent the steering it keeps."""
    from mnist_tui.runfolder.atomic import jsonl, write_text_atomically
    from mnist_tui.runfolder.names import STEERING_NAME
    from mnist_tui.training.events import Steered
    from mnist_tui.training.resume import saved_reports

    rows = [Steered(1, 3, "lr ×2", 2.0, 3, 10.0), Steered(2, 5, "lr ×0.25", 0.5, 3, 11.0)]
    rows.append(Steered(2, 0, "epochs 3 → 8", 0.5, 8, 12.0))  # after epoch 2's checkpoint: not kept
    rows.append(Steered(3, 1, "lr ×2", 1.0, 3, 13.0))  # the unfinished epoch: trained again
    write_text_atomically(tmp_path / STEERING_NAME, jsonl([s.to_json() for s in rows]))
    shown = [event for event in saved_reports(tmp_path, 2) if isinstance(event, Steered)]
    assert shown == rows[:2] and shown[-1].lr_scale == 0.5


def test_a_resumed_run_that_trains_nothing_leaves_its_folder_as_it_was(tiny_config, small_synthetic):
    """`--resume RUN --epochs 4` in the dashboard, then q before space: the finished 1/1 run read
    "stopped 1/4" for good (its run.json and status.json had been rewritten with the new plan)."""
    from mnist_tui.runfolder.reader import read_info, read_status

    config = tiny_config.with_changes(epochs=1, limit_train=256)
    _run(config, small_synthetic)
    before = (read_info(config.run_dir), read_status(config.run_dir))
    assert before[1].state == "finished"
    control = TrainingControl()
    control.stop()  # quit before the first batch
    _, result, events = _run(
        config.with_changes(epochs=4), small_synthetic, control=control, resume_from=config.run_dir
    )
    assert (read_info(config.run_dir), read_status(config.run_dir)) == before
    # and the faces are told the same: finished 1/1 (the dashboard said "stopped 1/4", and offered to continue)
    assert not result.stopped and result.epochs_done == 1
    plans = [e.epochs for e in events if isinstance(e, PlanChanged)]
    assert plans and plans[-1] == 1
    assert [e.stopped for e in events if isinstance(e, Finished)] == [False]


def test_a_resume_that_trains_nothing_puts_back_the_logs_it_cut(tiny_config, small_synthetic):
    """A run killed in epoch 2, resumed and quit before space: run.json and status.json came
    back, but epoch 2's batch losses, and the steering of that epoch, were gone for good."""
    from mnist_tui.runfolder.names import BATCHES_NAME, LAYERS_NAME, STEERING_NAME
    from mnist_tui.training.events import Steered

    config = tiny_config.with_changes(epochs=3, limit_train=256)
    control = TrainingControl()
    _, first, events = _run(config, small_synthetic, _stop_after_epoch(control, 1), control)
    assert first.stopped and first.epochs_done == 1
    # what a writer killed in epoch 2 had added: its batches, and a follower's "+" in that epoch
    batch = next(e for e in events if isinstance(e, BatchEnd))
    with open(config.run_dir / BATCHES_NAME, "a") as log:
        log.write(json.dumps({**batch.to_json(), "epoch": 2}) + "\n")
    with open(config.run_dir / STEERING_NAME, "a") as log:
        log.write(
            json.dumps(Steered(epoch=2, batch=2, what="lr × 2", lr_scale=2.0, epochs=3, time=1.0).to_json()) + "\n"
        )
    names = (BATCHES_NAME, LAYERS_NAME, STEERING_NAME, "run.json", "status.json")
    before = {name: (config.run_dir / name).read_bytes() for name in names}
    held = TrainingControl()
    held.stop()  # quit before the first batch
    _, result, _ = _run(config, small_synthetic, control=held, resume_from=config.run_dir)
    assert result.stopped and result.epochs_done == 1
    assert {name: (config.run_dir / name).read_bytes() for name in names} == before


def test_a_resume_that_trains_nothing_removes_a_log_it_started(tiny_config, small_synthetic):
    """`a` before space, then quit: the plan change was logged in a new steering.jsonl, which
    stayed beside the status put back (a replay then drew a change that never took effect)."""
    from mnist_tui.runfolder.names import STEERING_NAME

    config = tiny_config.with_changes(epochs=2, limit_train=256)
    _run(config, small_synthetic)
    assert not (config.run_dir / STEERING_NAME).exists()
    before = {p.name: p.read_bytes() for p in config.run_dir.iterdir() if p.is_file()}
    held = TrainingControl()
    held.set_epochs(6)  # `a` (+5 … here to 6) before the first batch
    held.stop()
    _, result, _ = _run(config, small_synthetic, control=held, resume_from=config.run_dir)
    assert not result.stopped and result.epochs_done == 2  # finished 2/2, as it was
    assert {p.name: p.read_bytes() for p in config.run_dir.iterdir() if p.is_file()} == before


def test_a_sprint_resume_that_trains_nothing_keeps_its_half_last_epoch(tiny_config, small_synthetic):
    """The plan put back after `a` then S S was 2 whole epochs where the sprint planned 1.5."""
    config = tiny_config.with_changes(epochs=2, last_epoch_fraction=0.5, limit_train=256)
    _run(config, small_synthetic)
    held = TrainingControl()
    held.stop()
    trainer, result, _ = _run(config.with_epochs(6), small_synthetic, control=held, resume_from=config.run_dir)
    assert not result.stopped and (trainer.config.epochs, trainer.config.last_epoch_fraction) == (2, 0.5)


def test_a_sprint_resumed_for_more_epochs_is_said_with_its_half_epoch(tiny_config, small_synthetic):
    """Resumed with --epochs 4, a 1.5-epoch plan's folder has a whole last epoch in its settings:
    only the epoch rows say that epoch 2 trained half the data (it read "finished after 4 epochs")."""
    from mnist_tui.plan import Plan

    config = tiny_config.with_changes(epochs=2, last_epoch_fraction=0.5, limit_train=256)
    first, _, _ = _run(config, small_synthetic)
    assert [row.samples for row in first.history] == [256, 128]
    trainer, result, events = _run(config.with_epochs(3), small_synthetic, resume_from=config.run_dir)
    assert result.epochs_done == 3 and [row.samples for row in trainer.history] == [256, 128, 256]
    ready = next(e for e in events if isinstance(e, DataReady))
    plan = Plan.of(ready.epochs, ready.settings, ready.history, ready.train_size)
    assert (str(plan), plan.of_epoch(2), plan.of_epoch(3)) == ("2.5 epochs", "3 (half)", "3")
    replayed = read_metrics(config.run_dir).records
    assert Plan.of(3, {}, replayed, 256).trained(3) == "2.5 epochs"


def test_a_plan_change_after_a_resumed_sprint_is_said_as_the_faces_read_the_plan(tiny_config, small_synthetic):
    """The trainer said "epochs 3 → 4" for a resumed 1.5-epoch plan where the faces read 2.5 → 3.5:
    it took the plan from its config, whose last epoch is whole, and not from the epoch rows."""
    config = tiny_config.with_changes(epochs=2, last_epoch_fraction=0.5, limit_train=256)
    _run(config, small_synthetic)
    more = TrainingControl()
    more.set_epochs(4)  # `a` on the resumed run before its first batch
    _, result, events = _run(config.with_epochs(3), small_synthetic, control=more, resume_from=config.run_dir)
    assert result.epochs_done == 4
    # the resume's own change of plan is recorded too, as `a`'s is
    assert [e.what for e in events if isinstance(e, Steered)] == ["epochs 1.5 → 2.5 (--resume)", "epochs 2.5 → 3.5"]


def test_a_resume_into_a_new_folder_quit_before_a_batch_leaves_no_folder(tiny_config, small_synthetic, tmp_path):
    """It kept the copied epochs' metrics.jsonl and no checkpoint: `--resume NEW` found no
    checkpoint, and a new run in NEW was refused as "already holds a run"."""
    from mnist_tui.made_folders import remember_made

    source = tiny_config.with_changes(epochs=2, limit_train=256)
    control = TrainingControl()
    _, first, _ = _run(source, small_synthetic, _stop_after_epoch(control, 1), control)
    assert first.epochs_done == 1
    before = {p.name: p.read_bytes() for p in source.run_dir.iterdir() if p.is_file()}
    new = source.with_changes(run_dir=tmp_path / "new")
    remember_made(new.run_dir)  # as the CLI does for the folder it makes
    quit_at_once = TrainingControl()
    quit_at_once.stop()  # the dashboard opened (its data loaded, the logs copied), then q
    trainer = Trainer(new, lambda e: None, quit_at_once, resume_state=load_checkpoint(source.run_dir),
                      datasets=small_synthetic, logs_from=source.run_dir)  # fmt: skip
    assert trainer.run().error is None
    assert not new.run_dir.exists()
    assert {p.name: p.read_bytes() for p in source.run_dir.iterdir() if p.is_file()} == before


def test_a_resume_into_a_new_folder_brings_the_earlier_epochs_logs(tiny_config, small_synthetic, tmp_path):
    """`--resume RUN --run-dir NEW`: NEW held no batch losses, layer statistics or steering of the
    epochs it continued (a replay of it showed an empty loss plot up to there)."""
    from mnist_tui.runfolder.layers_log import read_layer_stats
    from mnist_tui.runfolder.names import STEERING_NAME
    from mnist_tui.runfolder.reader import read_batches, read_rows
    from mnist_tui.training.events import Steered

    source = tiny_config.with_changes(epochs=2, limit_train=256)
    control = TrainingControl()
    _, first, _ = _run(source, small_synthetic, _stop_after_epoch(control, 1), control)
    assert first.epochs_done == 1
    with open(source.run_dir / STEERING_NAME, "a") as log:
        log.write(json.dumps(Steered(1, 2, "lr ×2", 2.0, 2, 1.0).to_json()) + "\n")
    before = {p.name: p.read_bytes() for p in source.run_dir.iterdir() if p.is_file()}
    new = source.with_changes(run_dir=tmp_path / "new")
    trainer = Trainer(new, lambda e: None, resume_state=load_checkpoint(source.run_dir), datasets=small_synthetic,
                      logs_from=source.run_dir)  # fmt: skip
    assert trainer.run().error is None
    batches = read_batches(new.run_dir).records
    assert [b for b in batches if b.epoch == 1] == [b for b in read_batches(source.run_dir).records if b.epoch == 1]
    assert {b.epoch for b in batches} == {1, 2}
    assert [r.epoch for r in read_layer_stats(new.run_dir).records] == [1, 2]
    assert [s.what for s in read_rows(new.run_dir / STEERING_NAME, Steered.from_json).records] == ["lr ×2"]
    assert {p.name: p.read_bytes() for p in source.run_dir.iterdir() if p.is_file()} == before  # left as it was
    from mnist_tui.runfolder.reader import read_info

    # the run's first start (the workspace listed NEW as started at the resume)
    assert read_info(new.run_dir).first_start == read_info(source.run_dir).first_start


def test_the_exit_line_names_a_folder_only_where_it_holds_the_run(tiny_config, small_synthetic, tmp_path):
    """`--resume RUN --run-dir NEW`, q before space: "3 epochs kept in NEW; replay: …" for a NEW
    that had just gone (its replay: "it does not exist")."""
    from types import SimpleNamespace

    from mnist_tui.plan import Plan
    from mnist_tui.sources.kept import kept_line
    from mnist_tui.training.events import RunResult

    _run(tiny_config.with_changes(epochs=2, limit_train=256), small_synthetic)
    saves = SimpleNamespace(save=True)
    here = SimpleNamespace(run_dir=tiny_config.run_dir, capabilities=saves)
    gone = SimpleNamespace(run_dir=tmp_path / "new", capabilities=saves)
    stopped = RunResult(epochs_done=2, stopped=True)
    line = kept_line(here, stopped, Plan(4))
    assert line.startswith(f"mnist-tui: 2 epochs kept in {tiny_config.run_dir}; replay: ") and "continue:" in line
    assert kept_line(gone, stopped, Plan(4)) is None
    assert kept_line(SimpleNamespace(run_dir=tiny_config.run_dir, capabilities=SimpleNamespace(save=False)),
                     stopped, Plan(4)) is None  # a replay or a follower: not trained here  # fmt: skip
    sprint = kept_line(here, RunResult(epochs_done=3), Plan(3, share=0.5, partial_epoch=3))
    assert sprint.startswith("mnist-tui: 2.5 epochs kept in ")  # a quit sprint said "3 epochs kept"


def test_a_sprint_resumed_with_whole_epochs_records_the_change_of_plan(tiny_config, small_synthetic):
    """`--resume --epochs 3` of a sprint stopped at epoch 1 trains 3 whole epochs where it planned
    2.5: the same 3 in its config, so the record said nothing."""
    config = tiny_config.with_changes(epochs=3, last_epoch_fraction=0.5, limit_train=256)
    control = TrainingControl()
    _, first, _ = _run(config, small_synthetic, _stop_after_epoch(control, 1), control)
    assert first.epochs_done == 1
    _, result, events = _run(config.with_epochs(3), small_synthetic, resume_from=config.run_dir)
    assert result.epochs_done == 3
    assert [e.what for e in events if isinstance(e, Steered)] == ["epochs 2.5 → 3 (--resume)"]
