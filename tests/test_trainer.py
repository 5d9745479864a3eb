import threading

import numpy as np
import pytest
import torch
from waiting import wait_until as wait_for

from mnist_tui.insight.layer_records import LayerStatsRecord
from mnist_tui.training.control import TrainingControl
from mnist_tui.training.events import (
    BatchEnd,
    DataReady,
    EpochRecord,
    Failed,
    Finished,
    ModelWeights,
    Predictions,
    StateChanged,
)
from mnist_tui.training.loop import Trainer
from mnist_tui.training.steps import take_batch


def collect(config, datasets, control=None):
    events = []
    result = Trainer(config, events.append, control, datasets=datasets).run()
    return result, events


def test_trainer_learns_synthetic_digits(tiny_config, small_synthetic):
    config = tiny_config.with_changes(epochs=3, run_dir=None)
    result, events = collect(config, small_synthetic)
    assert result.error is None
    epochs = [e for e in events if isinstance(e, EpochRecord)]
    assert [e.epoch for e in epochs] == [1, 2, 3]
    assert epochs[-1].train_loss < epochs[0].train_loss
    assert epochs[-1].test_acc > 0.8  # chance is 0.1
    losses = [loss for e in events if isinstance(e, BatchEnd) for loss in e.losses]
    assert np.mean(losses[-5:]) < np.mean(losses[:5])


def test_event_sequence_and_contents(tiny_config, small_synthetic):
    result, events = collect(tiny_config, small_synthetic)
    assert isinstance(events[0], StateChanged) and events[0].state == "loading"
    assert isinstance(events[1], DataReady) and isinstance(events[-1], Finished)
    assert events[2] == StateChanged("training")
    # the batches (with, on a slow machine, mid-epoch weight copies every few seconds), then per
    # epoch: layer stats (written before the checkpoint), record, weights, predictions
    steady = [e for e in events[3:-1] if not (isinstance(e, ModelWeights) and e.in_progress)]
    kinds = [type(e) for e in steady]
    assert kinds == [BatchEnd] * kinds.count(BatchEnd) + [LayerStatsRecord, EpochRecord, ModelWeights, Predictions]
    ready = events[1]
    assert ready.dataset == "synthetic digits" and ready.device == "cpu"
    assert ready.test_images.shape == (500, 28, 28) and ready.parameters == 21_840
    batches = [e for e in events if isinstance(e, BatchEnd)]
    assert sum(len(e.losses) for e in batches) == ready.batches_per_epoch == 32
    assert batches[-1].batch == 32 and batches[-1].samples_seen == 2000
    preds = next(e for e in events if isinstance(e, Predictions))
    assert preds.probabilities.shape == (500, 10)
    assert np.allclose(preds.probabilities.sum(1), 1, atol=1e-4)
    assert preds.confusion.sum() == 500
    epoch = next(e for e in events if isinstance(e, EpochRecord))
    predicted = preds.probabilities.argmax(1)
    assert epoch.test_acc == pytest.approx(float((predicted == preds.labels).mean()), abs=1e-6)
    assert events[-1].epochs_done == 1 and not events[-1].stopped


def test_test_loss_is_the_true_per_sample_mean(small_synthetic):
    import torch
    from torch.nn import functional as F

    from mnist_tui.data import normalise
    from mnist_tui.model import Net
    from mnist_tui.training.steps import evaluate

    torch.manual_seed(0)
    model = Net()
    x, y = normalise(small_synthetic.test_images), small_synthetic.test_labels
    stats = evaluate(model, x, y, batch_size=300)  # 500 = 300 + 200: unequal batches
    model.eval()
    with torch.no_grad():
        expected = F.cross_entropy(model(x), y).item()
    assert stats.loss == pytest.approx(expected, rel=1e-5)


class CountingCondition(threading.Condition):
    """The control's condition, recording each wait's timeout; ``entered`` is set on the first."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[float | None] = []
        self.entered = threading.Event()

    def wait(self, timeout=None):
        self.timeouts.append(timeout)
        self.entered.set()
        return super().wait(timeout)


def counted_control() -> tuple[TrainingControl, CountingCondition]:
    control = TrainingControl()
    control._cond = cond = CountingCondition()
    return control, cond


def test_pause_blocks_and_resume_continues(tiny_config, small_synthetic):
    """A paused run trains no batch until resumed, then finishes its plan (it once ran on, or
    never came back). Checked by where the thread is, not by a quiet spell: it blocks in the
    control's wait, and the event after "paused" is "training" again."""
    control, cond = counted_control()
    events = []

    def listen(event):
        events.append(event)
        if isinstance(event, BatchEnd) and sum(isinstance(e, BatchEnd) for e in events) == 1:
            control.pause()  # after the first report: a batch is still to come (two epochs)

    config = tiny_config.with_changes(epochs=2, run_dir=None, batch_size=16)
    trainer = Trainer(config, listen, control, datasets=small_synthetic)
    thread = threading.Thread(target=trainer.run)
    thread.start()
    try:
        assert cond.entered.wait(30), "the paused loop never waited on the control"  # at a batch boundary
        assert StateChanged("paused") in events and thread.is_alive()
        assert cond.timeouts == [None]  # blocked until told: no polling
    finally:
        control.resume()
        thread.join(60)
    assert not thread.is_alive()
    assert isinstance(events[-1], Finished) and events[-1].epochs_done == 2
    paused = events.index(StateChanged("paused"))
    assert events[paused + 1] == StateChanged("training"), "events came while paused"
    assert cond.timeouts == [None]  # one wait, woken once by resume


def test_a_paused_thread_blocks_without_spinning():
    """A paused thread must sleep in one untimed wait on the control's condition, woken by resume:
    a spinning or polling wait burns a core while paused. (The test first measured CPU seconds
    over a sleep, once of its own thread, which only slept.)"""
    control, cond = counted_control()
    control.pause()
    paused, returned = threading.Event(), []

    def wait() -> None:
        returned.append(control.wait_while_paused(on_pause=paused.set))

    thread = threading.Thread(target=wait)
    thread.start()
    try:
        assert paused.wait(10) and cond.entered.wait(10), "the paused thread never waited on the condition"
        assert cond.timeouts == [None] and thread.is_alive() and not returned  # blocked, no timeout to poll on
    finally:
        control.resume()
        thread.join(5)
    assert not thread.is_alive() and returned == [True]
    assert cond.timeouts == [None]  # resume woke it once; it did not wait again


def test_the_pause_is_said_outside_the_controls_lock():
    """The trainer said "paused" (status.json, the face) holding the control's lock: a stop, space
    or + from the UI thread waited for it, seconds on a slow disk."""
    control = TrainingControl()
    control.pause()
    saying, said_training, returned = threading.Event(), threading.Event(), []
    let_go = threading.Event()

    def slow_pause() -> None:  # a status.json write that hangs on a network disk
        saying.set()
        let_go.wait(10)

    thread = threading.Thread(
        target=lambda: returned.append(control.wait_while_paused(on_pause=slow_pause, on_resume=said_training.set))
    )
    thread.start()
    try:
        assert saying.wait(10)
        resumer = threading.Thread(target=control.resume)
        resumer.start()
        resumer.join(5)
        assert not resumer.is_alive(), "resume waited on the lock while the pause was said"
    finally:
        let_go.set()
        thread.join(10)
    assert returned == [True] and said_training.is_set()  # a pause that was said is followed by its resume


def test_stop_takes_effect_within_one_batch(tiny_config, small_synthetic):
    control = TrainingControl()
    events = []
    seen_at_stop = []

    def listener(event):
        events.append(event)
        if isinstance(event, BatchEnd) and not control.stopped:
            control.stop()
            seen_at_stop.append(event.batch)

    config = tiny_config.with_changes(run_dir=None, batch_size=16)
    result = Trainer(config, listener, control, datasets=small_synthetic).run()
    batches = [e for e in events if isinstance(e, BatchEnd)]
    assert batches[-1].batch == seen_at_stop[0], "a batch ran after stop"
    assert result.stopped and result.epochs_done == 0
    assert isinstance(events[-1], Finished) and events[-1].stopped


def test_stop_while_paused_ends_the_run(tiny_config, small_synthetic):
    control = TrainingControl()
    events = []
    trainer = Trainer(
        tiny_config.with_changes(run_dir=None, batch_size=16), events.append, control, datasets=small_synthetic
    )
    thread = threading.Thread(target=trainer.run)
    control.pause()
    thread.start()
    assert wait_for(lambda: any(isinstance(e, DataReady) for e in events))
    control.stop()
    thread.join(5)
    assert not thread.is_alive()
    assert isinstance(events[-1], Finished) and events[-1].stopped


def test_failure_becomes_a_failed_event(tiny_config, tmp_path):
    config = tiny_config.with_changes(dataset="mnist", data_dir=tmp_path / "empty")
    result, events = collect(config, None)
    assert isinstance(events[-1], Failed)
    assert "MNIST is not in" in events[-1].message
    assert result.error is not None


def test_run_folder_gets_checkpoint_and_metrics(tiny_config, small_synthetic):
    from mnist_tui.runfolder.reader import read_metrics
    from mnist_tui.training.checkpoint import load_checkpoint

    result, _ = collect(tiny_config.with_changes(epochs=2), small_synthetic)
    rows = read_metrics(tiny_config.run_dir)
    assert rows.skipped == 0
    assert [r.epoch for r in rows.records] == [1, 2]
    assert rows.records[-1].test_acc == result.history[-1].test_acc
    state = load_checkpoint(tiny_config.run_dir)
    assert state["epoch"] == 2 and len(state["history"]) == 2


def test_weights_are_copied_mid_epoch_for_the_model_view(tiny_config, small_synthetic, monkeypatch):
    from mnist_tui.training import reports

    monkeypatch.setattr(reports, "WEIGHTS_EVERY_S", 0.0)  # every report
    result, events = collect(tiny_config, small_synthetic)
    copies = [e for e in events if isinstance(e, ModelWeights) and e.in_progress]
    assert copies and all(e.epoch == 1 for e in copies)
    assert copies[0].weights["conv1.weight"].shape == (10, 1, 5, 5)


def test_take_batch_is_normalised_rows_in_index_order():
    images = torch.randint(0, 256, (50, 28, 28), dtype=torch.uint8)
    labels = torch.randint(0, 10, (50,))
    idx = torch.tensor([7, 3, 49, 3])
    x, y = take_batch(images, labels, idx)
    expected = (images[idx].float().unsqueeze(1) / 255 - 0.1307) / 0.3081
    assert x.shape == (4, 1, 28, 28) and torch.allclose(x, expected, atol=1e-5)
    assert torch.equal(y, labels[idx])


def test_the_weight_average_stays_out_of_autograd(tiny_config, small_synthetic):
    """An EMA update that autograd records chains every step's average to the weights' grad
    accumulators (the chain grows all run; a CUDA graph's capture then failed on an H200)."""
    config = tiny_config.with_changes(ema_decay=0.9, run_dir=None)
    trainer = Trainer(config, lambda event: None, datasets=small_synthetic)
    result = trainer.run()
    assert result.error is None and trainer.ema_steps > 10
    averaged = list(trainer.ema.parameters())
    assert all(p.grad_fn is None and not p.requires_grad for p in averaged)
    assert any((a - w).abs().max() > 0 for a, w in zip(averaged, trainer.model.parameters(), strict=True))


def _initial_conv1(config, datasets) -> torch.Tensor:
    control = TrainingControl()
    control.stop()  # asked before the run: it sets up (weights made) and stops before a batch
    events = []
    trainer = Trainer(config, events.append, control, datasets=datasets)
    result = trainer.run()
    assert result.error is None and result.stopped
    assert not any(isinstance(e, BatchEnd) for e in events)  # the weights are the initial ones
    return trainer.model.state_dict()["conv1.weight"].clone()


def test_the_seed_sets_the_initial_weights(tiny_config, small_synthetic):
    """--seed must decide the initial weights: a fixed seed there made every run start alike."""
    config = tiny_config.with_changes(run_dir=None)
    one = _initial_conv1(config.with_changes(seed=1), small_synthetic)
    assert torch.equal(one, _initial_conv1(config.with_changes(seed=1), small_synthetic))
    assert not torch.equal(one, _initial_conv1(config.with_changes(seed=2), small_synthetic))
