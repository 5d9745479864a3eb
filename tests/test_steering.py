"""Steering a run while it trains: + and - scale the learning rate from the next batch, a adds
epochs (also to a finished run), every change is recorded, and resume honours the record."""

from __future__ import annotations

import json
import time

import pytest
import torch
from waiting import notified, wait_until
from waiting import pilot_wait as wait_for

from mnist_tui.runfolder.layout import CONTROL_NAME, STEERING_NAME
from mnist_tui.runfolder.reader import read_metrics, read_rows, read_status
from mnist_tui.runfolder.writer import RunFolderWriter
from mnist_tui.sources.follow import FollowSource
from mnist_tui.sources.training import TrainingSource
from mnist_tui.training.control import TrainingControl
from mnist_tui.training.events import BatchEnd, EpochRecord, PlanChanged, Steered
from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.widgets.loss_plot import BatchLossPlot
from mnist_tui.tui.widgets.settings_panel import SettingsPanel


def constant(tiny_config, **changes):
    return tiny_config.with_changes(schedule="constant", lr=1e-3, batch_size=64, **changes)


def batch_lrs(events) -> dict[tuple[int, int], float]:
    lrs = {}
    for e in events:
        if isinstance(e, BatchEnd):
            for i, lr in enumerate(e.lrs):
                lrs[(e.epoch, e.first_batch + i)] = lr
    return lrs


def test_plus_doubles_the_lr_from_the_next_batch_and_is_recorded(tiny_config, small_synthetic):
    source = TrainingSource(constant(tiny_config, epochs=2), datasets=small_synthetic)
    events: list = []
    asked: list[int] = []

    def listen(event) -> None:
        events.append(event)
        if isinstance(event, BatchEnd) and event.epoch == 1 and event.batch >= 5 and not asked:
            asked.append((event.batch, event.batches_per_epoch))
            source.steer_lr(2)  # asked after this report: the next batch takes it

    assert source.run(listen).error is None
    lrs = batch_lrs(events)
    first_doubled = min(k for k, lr in lrs.items() if lr == pytest.approx(2e-3))
    batch, per_epoch = asked[0]  # a fast machine reports once an epoch: then the next batch is epoch 2's first
    assert first_doubled == ((1, batch + 1) if batch < per_epoch else (2, 1))
    assert all(lr == pytest.approx(1e-3) for k, lr in lrs.items() if k < first_doubled)
    assert all(lr == pytest.approx(2e-3) for k, lr in lrs.items() if k >= first_doubled)
    steered = [e for e in events if isinstance(e, Steered)]
    assert [(s.epoch, s.batch, s.lr_scale, s.epochs) for s in steered] == [(*first_doubled, 2.0, 2)]  # plan: 2
    recorded = read_rows(tiny_config.run_dir / STEERING_NAME, Steered.from_json).records
    assert recorded == steered
    assert read_status(tiny_config.run_dir).lr_scale == 2.0
    assert read_metrics(tiny_config.run_dir).records[-1].lr == pytest.approx(2e-3)


def test_steering_rides_on_top_of_the_one_cycle_schedule(tiny_config, small_synthetic):
    plain: list = []
    TrainingSource(tiny_config.with_changes(epochs=1, run_dir=None), datasets=small_synthetic).run(plain.append)
    source = TrainingSource(tiny_config.with_changes(epochs=1, run_dir=None), datasets=small_synthetic)
    source.steer_lr(0.5)  # before the first batch
    steered: list = []
    source.run(steered.append)
    base, halved = batch_lrs(plain), batch_lrs(steered)
    assert base.keys() == halved.keys() and len(base) > 5
    assert all(halved[k] == pytest.approx(base[k] / 2) for k in base)
    # the epoch's row says the lr it trained at, steering included (it gave the schedule's alone)
    epoch_lr = [event.lr for event in steered if isinstance(event, EpochRecord)]
    assert epoch_lr == [pytest.approx(halved[max(halved)])]


def test_a_plus_during_an_epochs_test_set_is_not_saved_in_that_epochs_checkpoint(tiny_config, small_synthetic):
    """A `+` while epoch 1's test set ran went into epoch 1's checkpoint, its steering row into
    epoch 2: quit in epoch 2, the resume cut the row and trained on at ×2, marked nowhere."""
    from mnist_tui.insight.layer_records import LayerStatsRecord
    from mnist_tui.training.checkpoint import load_checkpoint

    source = TrainingSource(constant(tiny_config, epochs=3), datasets=small_synthetic)

    def listen(event) -> None:
        if isinstance(event, LayerStatsRecord) and event.epoch == 1:  # the epoch's end, before its checkpoint
            source.steer_lr(2)
        if isinstance(event, BatchEnd) and event.epoch == 2:
            source.stop()  # epoch 2 is not kept, nor the `+` it took

    assert source.run(listen).error is None
    assert load_checkpoint(tiny_config.run_dir)["lr_scale"] == 1.0  # the scale epoch 1 trained with
    resumed = TrainingSource(
        constant(tiny_config, epochs=3), datasets=small_synthetic, resume_state=load_checkpoint(tiny_config.run_dir)
    )
    events: list = []
    assert resumed.run(events.append).error is None
    assert all(lr == pytest.approx(1e-3) for lr in batch_lrs(events).values())
    assert read_rows(tiny_config.run_dir / STEERING_NAME, Steered.from_json).records == []


def test_a_plus_during_a_finished_runs_last_test_set_trains_the_epochs_added_after(tiny_config, small_synthetic):
    """The scale asked after the last batch is not in the checkpoint: `a` takes it on top."""
    from mnist_tui.insight.layer_records import LayerStatsRecord

    source = TrainingSource(constant(tiny_config, epochs=1), datasets=small_synthetic)

    def listen(event) -> None:
        if isinstance(event, LayerStatsRecord) and event.epoch == 1:
            source.steer_lr(2)

    assert source.run(listen).error is None
    source.add_epochs(1)
    more: list = []
    assert source.run(more.append).error is None
    added = {k: lr for k, lr in batch_lrs(more).items() if k[0] == 2}
    assert added and all(lr == pytest.approx(2e-3) for lr in added.values())


def test_epochs_added_to_a_finished_run_paused_before_its_first_batch_are_said_before_the_pause(
    tiny_config, small_synthetic
):
    """`a` on a finished run, then space while it loaded: paused, it showed "epoch 1/1" at 100 %
    and its old plan until resumed."""
    from mnist_tui.training.events import StateChanged

    source = TrainingSource(constant(tiny_config, epochs=1), datasets=small_synthetic)
    assert source.run(lambda event: None).error is None
    source.add_epochs(2)
    source.pause()
    events: list = []

    def listen(event) -> None:
        events.append(event)
        if event == StateChanged("paused"):
            source.resume()

    assert source.run(listen).error is None
    paused = events.index(StateChanged("paused"))
    assert PlanChanged(3) in events[:paused]
    assert [e.epoch for e in events if isinstance(e, EpochRecord)] == [2, 3]


def test_epochs_added_while_training_and_to_a_finished_run_and_resume_honours_the_record(tiny_config, small_synthetic):
    source = TrainingSource(constant(tiny_config, epochs=1), datasets=small_synthetic)
    events: list = []

    def listen(event) -> None:
        events.append(event)
        if isinstance(event, BatchEnd) and event.epoch == 1 and source.control.lr_scale == 1.0:
            source.steer_lr(4)
            source.add_epochs(1)  # taken at the end of epoch 1

    assert source.run(listen).error is None
    assert [e.epoch for e in events if isinstance(e, EpochRecord)] == [1, 2]
    assert [e.epochs for e in events if isinstance(e, PlanChanged)] == [2]
    assert read_status(tiny_config.run_dir).epochs == 2
    # the run ended; a adds epochs and the same source trains them from its last checkpoint
    source.add_epochs(1)
    more: list = []
    assert source.run(more.append).error is None
    assert [e.epoch for e in more if isinstance(e, EpochRecord)] == [3]
    assert [r.epoch for r in read_metrics(tiny_config.run_dir).records] == [1, 2, 3]
    new = {k: lr for k, lr in batch_lrs(more).items() if k[0] == 3}
    assert new and all(lr == pytest.approx(4e-3) for lr in new.values())  # ×4 still in force
    saved = torch.load(tiny_config.run_dir / "checkpoint.pt", weights_only=True)
    assert saved["lr_scale"] == 4.0 and saved["config"]["epochs"] == 3
    kinds = [s.what for s in read_rows(tiny_config.run_dir / STEERING_NAME, Steered.from_json).records]
    # both, in the order they took effect (a fast machine reports once an epoch: the plan changes first)
    assert sorted(kinds) == ["epochs 1 → 2", "epochs 2 → 3", "lr ×4"]  # the finished run's extension too


def test_more_epochs_stopped_before_a_batch_leave_the_finished_run_as_it_was_and_can_be_asked_again(
    tiny_config, small_synthetic
):
    """`a` on a finished 1/1 run, then S S before its first batch: the folder went back to
    "finished 1/1" while the dashboard said "stopped, epoch 1/6" and offered to continue it."""
    from mnist_tui.training.events import Finished, StateChanged

    source = TrainingSource(constant(tiny_config, epochs=1), datasets=small_synthetic)
    assert source.run(lambda event: None).error is None
    source.add_epochs(5)
    events: list = []

    def stop_at_once(event) -> None:
        events.append(event)
        if event == StateChanged("loading", "loading torch and the data"):
            source.stop()

    result = source.run(stop_at_once)
    assert result.error is None and not result.stopped and result.epochs_done == 1
    assert [e.stopped for e in events if isinstance(e, Finished)] == [False]
    assert [e.epochs for e in events if isinstance(e, PlanChanged)][-1] == 1
    assert not [e for e in events if isinstance(e, Steered)]  # its mark stayed on the dashboard's plot
    status = read_status(tiny_config.run_dir)
    assert (status.state, status.epochs, status.epochs_done) == ("finished", 1, 1)
    source.add_epochs(1)  # asked again: it trains (the stop that ended nothing is not kept)
    assert source.run(lambda event: None).error is None
    assert [r.epoch for r in read_metrics(tiny_config.run_dir).records] == [1, 2]


def _writer_and_follower(run_dir, control: TrainingControl, epochs_done: int = 0):
    """A run folder's writer, open, steered by ``control``; and a follower of that folder."""
    writer = RunFolderWriter(run_dir, {"epochs": 3}, control, lambda e: None)
    writer.open(epochs_done=epochs_done)
    return writer, FollowSource(run_dir, lambda saved: None)


def test_a_followers_quick_requests_all_count_however_the_writer_polls(tmp_path):
    """The writer reads control.json 4 times a second: "space +" in that time lost the pause, "+ +"
    doubled once, "a a" added 5 epochs and "S -" lost the stop. Whenever it reads, all now count."""
    control = TrainingControl()
    writer, follower = _writer_and_follower(tmp_path, control)
    try:
        follower.pause()
        follower.steer_lr(2.0)
        assert wait_until(lambda: control.lr_scale == 2.0, 10), "the lr was not taken"
        assert control.paused  # the pause asked just before is not lost
        follower.steer_lr(2.0)
        follower.steer_lr(2.0)
        follower.add_epochs(5)
        follower.add_epochs(5)
        assert wait_until(lambda: control.target_epochs == 13, 10), "3 + 5 + 5 epochs were not taken"
        assert control.lr_scale == 8.0
        assert wait_until(lambda: read_status(tmp_path).lr_scale == 8.0, 10), "the status kept an old scale"
        follower.stop()
        follower.steer_lr(0.5)
        assert wait_until(lambda: control.lr_scale == 4.0, 10), "the last lr was not taken"
        assert control.stopped
    finally:
        writer.close()


def test_two_followers_asking_at_once_both_count(tmp_path, monkeypatch):
    """Two follower processes that each read request N and wrote N + 1 lost one request (the
    writer takes each seq once). The second now waits while the first reads and writes: here it
    asks exactly while the first holds what it read."""
    import threading

    import mnist_tui.sources.follow as follow

    control = TrainingControl()
    writer, first = _writer_and_follower(tmp_path, control)
    second = FollowSource(tmp_path, lambda saved: None)  # its own open of the folder, as another process has
    real_read_status, racers = follow.read_status, []

    def read_status_while_another_asks(run_dir):
        if not racers:
            racers.append(threading.Thread(target=second.steer_lr, args=(2.0,)))
            racers[0].start()
            racers[0].join(0.5)  # it should still be waiting: the first holds the folder's lock
            racers.append(racers[0].is_alive())
        return real_read_status(run_dir)

    monkeypatch.setattr(follow, "read_status", read_status_while_another_asks)
    try:
        first.pause()
        racers[0].join(10)
        assert racers[1], "the second follower wrote while the first held what it had read"
        assert wait_until(lambda: control.lr_scale == 2.0, 10), "the second follower's lr was lost"
        assert control.paused, "the first follower's pause was lost"
    finally:
        writer.close()


def test_steering_never_hangs_behind_a_follower_that_stopped_holding_the_lock(tmp_path, monkeypatch):
    import fcntl
    import os

    import mnist_tui.sources.follow as follow

    monkeypatch.setattr(follow, "STEERING_WAIT_S", 0.2)
    control = TrainingControl()
    writer, follower = _writer_and_follower(tmp_path, control)
    stalled = os.open(tmp_path, os.O_RDONLY)
    fcntl.flock(stalled, fcntl.LOCK_EX)  # a peer stopped (SIGSTOP, a hung mount) while it held the lock
    try:
        follower.steer_lr(2.0)  # on the UI thread: it must return
        assert wait_until(lambda: control.lr_scale == 2.0, 10), "the request was not written"
    finally:
        os.close(stalled)
        writer.close()


def test_a_follower_request_steers_the_writer(tmp_path):
    control = TrainingControl()
    writer = RunFolderWriter(tmp_path, {"epochs": 3}, control, lambda e: None)
    writer.open()
    try:
        control.pause()
        (tmp_path / CONTROL_NAME).write_text(json.dumps({"seq": 1, "lr_scale": 0.25, "epochs": 7}))
        deadline = time.monotonic() + 10
        while control.lr_scale != 0.25:
            assert time.monotonic() < deadline, "the lr request was not taken"
            time.sleep(0.02)
        assert control.target_epochs == 7
        assert control.paused, "a steering request must leave the pause as it is"
    finally:
        writer.close()


async def test_dashboard_plus_plus_gives_four_times_the_lr_and_a_finished_run_trains_more(tiny_config, small_synthetic):
    config = constant(tiny_config, epochs=2)
    source = TrainingSource(config, datasets=small_synthetic, hold=True)
    app = MnistApp(source)
    async with app.run_test(size=(120, 40)) as pilot:
        dashboard = app.dashboard
        await wait_for(pilot, lambda: dashboard.state == "ready", "the data")
        await pilot.press("plus", "plus")  # held at its first batch: the run cannot end between the presses
        await wait_for(pilot, lambda: source.control.lr_scale == 4.0, "both presses to reach the run")
        # not "from the first batch once the run goes on"
        await notified(pilot, lambda text: text == "lr × 2 from the first batch, once training starts", "lr × 2")
        await pilot.press("space")
        await wait_for(pilot, lambda: dashboard.state == "finished", "the run to finish")
        rows = read_metrics(config.run_dir).records
        assert [r.lr for r in rows] == pytest.approx([4e-3, 4e-3])
        assert dashboard.query_one("#loss-plot", BatchLossPlot).marks, "the change is not marked on the plot"
        lr_line = [line for line in dashboard.settings_lines() if line.startswith("lr")]
        assert lr_line and lr_line[0].endswith("constant × 4 (steered)"), lr_line  # it said "lr 0.001 constant"
        assert dashboard.detail == "2 epochs"  # the state line; the whole summary is the notice
        await notified(pilot, lambda text: "best" in text and "a: train 5 more" in text, "the run's summary")
        await pilot.press("a")
        await wait_for(pilot, lambda: dashboard.progress.epochs_done == 7, "the 5 more epochs", timeout=180)
        await wait_for(pilot, lambda: dashboard.state == "finished", "the longer run to finish")
        settings = str(dashboard.query_one("#settings", SettingsPanel).content)
        assert settings.endswith("epochs 7"), settings  # the plan in force, not the one launched
        assert any(line.split() == ["epochs", "7"] for line in dashboard.settings_lines())
    assert [r.epoch for r in read_metrics(config.run_dir).records] == list(range(1, 8))


def test_a_request_an_earlier_writer_took_is_not_merged_into_the_next_runs(tmp_path):
    """A follower stopped run 1; run 2 in the same folder (a resume) was stopped again by the
    follower's next pause, which merged the old stop: the new writer had not said it was taken."""
    first = TrainingControl()
    writer, follower = _writer_and_follower(tmp_path, first)
    try:
        follower.stop()
        assert wait_until(lambda: first.stopped, 10), "the stop was not taken"
    finally:
        writer.close()
    second = TrainingControl()
    writer, _ = _writer_and_follower(tmp_path, second, epochs_done=1)
    try:
        follower.pause()
        assert wait_until(lambda: second.paused, 10), "the pause was not taken"
        assert not second.stopped
    finally:
        writer.close()


def test_a_follower_still_stops_a_writer_whose_status_it_cannot_read(tmp_path):
    from mnist_tui.runfolder.layout import STATUS_NAME

    (tmp_path / STATUS_NAME).write_text('{"state": "compiling"}')  # a newer writer's state, say
    FollowSource(tmp_path, lambda saved: None).stop()  # it raised RecordError from the dashboard's key
    assert json.loads((tmp_path / CONTROL_NAME).read_text())["stop"] is True


def test_a_resumed_writer_keeps_the_steering_of_its_checkpoints_and_says_where_it_starts(tmp_path):
    """A plan change at epoch 1's end (batch 0) came after checkpoint 1: resumed from it, the run
    trains the checkpoint's plan, so the change goes with the unfinished epoch's steering."""
    from mnist_tui.runfolder.atomic import jsonl, write_text_atomically
    from mnist_tui.runfolder.reader import read_info

    rows = [Steered(1, 3, "lr ×2", 2.0, 3, 10.0), Steered(1, 0, "epochs 3 → 5", 2.0, 5, 11.0)]
    rows.append(Steered(2, 1, "lr ×0.5", 1.0, 5, 12.0))
    write_text_atomically(tmp_path / STEERING_NAME, jsonl([s.to_json() for s in rows]))
    writer, _ = _writer_and_follower(tmp_path, TrainingControl(), epochs_done=1)
    try:
        kept = read_rows(tmp_path / STEERING_NAME, Steered.from_json).records
        assert [s.what for s in kept] == ["lr ×2"]
        assert read_info(tmp_path).epochs_kept == 1  # where a follower sees this writer start
    finally:
        writer.close()


def test_a_follower_that_steered_the_lr_to_its_bound_can_still_stop_the_run(tmp_path):
    """21 presses of + wrote lr_scale 2**21, which control.json's schema refuses: the writer then
    ignored that request, the stop merged into it, and (its count restarted at 1) every later one."""
    control = TrainingControl()
    writer, follower = _writer_and_follower(tmp_path, control)
    try:
        for _ in range(21):
            follower.steer_lr(2.0)
        follower.stop()
        assert wait_until(lambda: control.stopped, 10), "the stop was not taken"
        assert control.lr_scale == 2.0**20
    finally:
        writer.close()


def test_a_plan_change_records_the_lr_scale_in_force_not_one_asked_after_it(tiny_config, small_synthetic):
    """`a`, then `+`, then space: the plan's row said lr_scale 2.0, where the doubled lr came only
    with the first batch (its own row): the README says each row holds what is in force after it."""
    from mnist_tui.training.events import StateChanged

    source = TrainingSource(constant(tiny_config, epochs=1), datasets=small_synthetic, hold=True)

    def listen(event) -> None:
        if event == StateChanged("paused"):  # loaded, held for space: the keys, in order
            source.add_epochs(1)
            source.steer_lr(2)
            source.start()

    assert source.run(listen).error is None
    recorded = read_rows(tiny_config.run_dir / STEERING_NAME, Steered.from_json).records
    assert [(s.what, s.epoch, s.batch, s.lr_scale, s.epochs) for s in recorded] == [
        ("epochs 1 → 2", 0, 0, 1.0, 2), ("lr ×2", 1, 1, 2.0, 2)]  # fmt: skip


def test_changes_after_a_plan_change_wait_with_it_for_the_first_batch(tiny_config):
    """`a`, `+`, space, S S before the first report: the plan change was held, the lr change was
    not, and its mark stayed on the plot beside a folder that was put back."""
    from types import SimpleNamespace

    from mnist_tui.training.loop import Trainer

    events: list = []
    trainer = Trainer(tiny_config, events.append)
    trainer.reports = SimpleNamespace(on_batch=lambda event: None)
    plan = Steered(2, 0, "epochs 2 → 7", 1.0, 7, 0.0)
    trainer.held.append(plan)
    doubled = Steered(3, 1, "lr ×2", 2.0, 0, 0.0)
    trainer._emit_checked(doubled)
    assert events == []  # held with the plan change: no batch has trained under either
    report = BatchEnd(3, 2, 10, (0.5, 0.4), 0.45, 2, (0.01, 0.01))
    trainer._emit_checked(report)
    assert events == [plan, Steered(3, 1, "lr ×2", 2.0, tiny_config.epochs, 0.0), report]
    trainer._emit_checked(doubled)  # nothing held: told at once
    assert events[-1].what == "lr ×2" and len(events) == 4


def test_a_change_asked_while_more_epochs_load_is_kept(tiny_config, small_synthetic):
    """`a` then `+` on a finished run: the + came while the checkpoint loaded, and the checkpoint's
    scale was put over it (the added epochs trained at ×1, without a word)."""
    source = TrainingSource(constant(tiny_config, epochs=1), datasets=small_synthetic)
    assert source.run(lambda event: None).error is None
    source.add_epochs(1)
    source.steer_lr(2.0)  # before the resumed trainer has read its checkpoint
    assert source.run(lambda event: None).error is None
    first, second = read_metrics(tiny_config.run_dir).records
    assert second.lr == pytest.approx(2 * first.lr)
    assert read_status(tiny_config.run_dir).lr_scale == 2.0


def test_resume_with_another_plan_is_recorded_as_a_plan_change(tmp_path):
    """A run steered to 13 epochs and resumed with --epochs 6 replayed "epochs 3 → 13", then
    "6 → 11": the resume's own change of plan was in no record."""
    from workspace_helpers import headless

    from mnist_tui.sources.run_record import load_run

    run_dir = tmp_path / "run"
    for extra in ([], ["--resume", str(run_dir)]):
        job = headless(run_dir, *extra, epochs=1 if not extra else 2)
        out, _ = job.communicate(timeout=300)
        assert job.returncode == 0, out
    rows = read_rows(run_dir / STEERING_NAME, Steered.from_json).records
    assert [(s.epoch, s.batch, s.what, s.epochs) for s in rows] == [(1, 0, "epochs 1 → 2 (--resume)", 2)]
    assert [s.what for s in load_run(run_dir).steering] == ["epochs 1 → 2 (--resume)"]


def test_epochs_asked_mid_epoch_are_the_plan_shown_at_once_and_train_from_its_end(tiny_config, small_synthetic):
    """status.json (what followers read) said the new plan as soon as it was asked, the run's own
    faces only at the epoch's end: "epoch 1/9" beside "epoch 1/4" for a whole epoch."""
    source = TrainingSource(constant(tiny_config, epochs=1), datasets=small_synthetic)
    events: list = []

    def listen(event) -> None:
        events.append(event)
        if isinstance(event, BatchEnd) and event.epoch == 1 and source.control.target_epochs is None:
            source.add_epochs(1)

    assert source.run(listen).error is None
    first_epoch = next(i for i, e in enumerate(events) if isinstance(e, EpochRecord))
    plans = [(i, e.epochs) for i, e in enumerate(events) if isinstance(e, PlanChanged)]
    assert [epochs for _, epochs in plans] == [2]  # told once, while epoch 1 trained
    assert plans[0][0] < first_epoch
    assert [e.epoch for e in events if isinstance(e, EpochRecord)] == [1, 2]
    steered = [e for e in events if isinstance(e, Steered)]
    assert [(s.epoch, s.batch, s.what) for s in steered] == [(1, 0, "epochs 1 → 2")]  # trained from its end
