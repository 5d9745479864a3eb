"""The epoch loop's own arithmetic: training time without pauses, the weight average's update."""

from __future__ import annotations

import threading
import time
import types

import torch
from waiting import wait_until

from mnist_tui.training import steps
from mnist_tui.training.control import TrainingControl
from mnist_tui.training.events import BatchEnd, EpochRecord, Finished, StateChanged
from mnist_tui.training.loop import Trainer
from mnist_tui.training.steps import EpochRun


def test_a_pause_is_not_counted_as_training_time(tiny_config, small_synthetic, monkeypatch):
    """An epoch's seconds exclude the time it stood paused (a pause once counted as training,
    and the samples/s of a paused epoch fell). The training loop's clock jumps 1000 s while
    paused: no real waiting, and an epoch that counted the pause would take over 1000 s."""
    offset = [0.0]
    clock = types.SimpleNamespace(perf_counter=lambda: time.perf_counter() + offset[0], time=time.time)
    monkeypatch.setattr(steps, "time", clock)
    control, events = TrainingControl(), []

    def listen(event):
        events.append(event)
        if isinstance(event, BatchEnd) and sum(isinstance(e, BatchEnd) for e in events) == 1:
            control.pause()  # the next batch waits (in this epoch or, after its last batch, the next)
        elif event == StateChanged("paused"):
            offset[0] += 1000.0  # on the training thread, as it starts to wait

    config = tiny_config.with_changes(epochs=2, run_dir=None, batch_size=16, limit_train=256)
    trainer = Trainer(config, listen, control, datasets=small_synthetic)
    thread = threading.Thread(target=trainer.run)
    thread.start()
    try:
        assert wait_until(lambda: StateChanged("paused") in events), "the run never paused"
    finally:
        control.resume()  # from this thread, as the dashboard's would
        thread.join(60)
    assert not thread.is_alive()
    assert isinstance(events[-1], Finished) and events[-1].epochs_done == 2
    assert events.count(StateChanged("paused")) == 1 and offset[0] == 1000.0
    records = [e for e in events if isinstance(e, EpochRecord)]
    assert [r.epoch for r in records] == [1, 2]
    assert all(0 < r.seconds < 1000 for r in records), [r.seconds for r in records]


def _ema_run(averaged, live, decay: float, steps_done: int) -> EpochRun:
    """An epoch run holding only what the average's update reads."""
    return EpochRun(
        model=None,
        optimizer=None,
        scheduler=None,
        images=None,
        labels=None,
        batch_size=1,
        precision="fp32",
        control=TrainingControl(),
        emit=lambda event: None,
        ema=(averaged, live),
        ema_decay=decay,
        ema_steps=steps_done,
    )


def test_the_weight_average_moves_a_decay_weighted_step_toward_the_weights():
    """ema ← d·ema + (1 − d)·w, with d warming up as (1 + n)/(10 + n) to the asked decay: the
    average must lean on its past (a step weighted the other way tracked the weights instead)."""
    decay = 0.9
    for steps_done in (0, 3, 200):  # warming up, still warming, at the asked decay
        averaged = [torch.zeros(3), torch.full((2, 2), 4.0)]
        live = [torch.tensor([1.0, -2.0, 10.0]), torch.full((2, 2), 2.0)]
        before = [a.clone() for a in averaged]
        run = _ema_run(averaged, live, decay, steps_done)
        steps.update_ema(run)
        n = steps_done + 1  # the update counts its own step first
        d = min(decay, (1 + n) / (10 + n))
        assert run.ema_steps == n
        for got, old, w in zip(averaged, before, live, strict=True):
            assert torch.allclose(got, d * old + (1 - d) * w), (steps_done, got)
        assert [w.tolist() for w in live] == [[1.0, -2.0, 10.0], [[2.0, 2.0], [2.0, 2.0]]]  # weights untouched
