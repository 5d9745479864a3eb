"""Save now (the dashboard's `s`): any thread, any moment, always a whole finished epoch."""

from __future__ import annotations

import functools
import threading
import time

import torch

from mnist_tui.training import loop
from mnist_tui.training.checkpoint import load_checkpoint
from mnist_tui.training.control import TrainingControl
from mnist_tui.training.events import BatchEnd, EpochRecord
from mnist_tui.training.loop import Trainer
from mnist_tui.training.steps import EpochRun


def test_save_now_while_paused_mid_epoch_writes_the_last_finished_epoch(tiny_config, small_synthetic, monkeypatch):
    # Every batch reports, so the pause below lands one batch into epoch 2, whatever the
    # machine's speed (with 0.1 s reports a fast machine finished epoch 2 before pausing).
    monkeypatch.setattr(loop, "EpochRun", functools.partial(EpochRun, report_every=0.0))
    config = tiny_config.with_changes(epochs=3, limit_train=512, batch_size=32)
    control = TrainingControl()
    epoch_one: dict[str, torch.Tensor] = {}
    paused_in_epoch_two = threading.Event()
    trainer = None

    def listen(event):
        if isinstance(event, EpochRecord) and event.epoch == 1:
            epoch_one.update({k: v.detach().clone() for k, v in trainer.model.state_dict().items()})
        if isinstance(event, BatchEnd) and event.epoch == 2 and not paused_in_epoch_two.is_set():
            control.pause()  # the loop blocks at the next batch boundary, weights half an epoch on
            paused_in_epoch_two.set()

    trainer = Trainer(config, listen, control, datasets=small_synthetic)
    assert trainer.save_now() is None  # nothing finished yet: nothing to save
    worker = threading.Thread(target=trainer.run)
    worker.start()
    try:
        assert paused_in_epoch_two.wait(60)
        checkpoint = config.run_dir / "checkpoint.pt"
        checkpoint.unlink()  # e.g. removed by hand: `s` puts it back
        epoch, path = trainer.save_now()
        assert (epoch, path) == (1, checkpoint)
        state = load_checkpoint(path)
        assert state["epoch"] == 1 and len(state["history"]) == 1
        for name, tensor in epoch_one.items():  # epoch 1's weights, not the half-trained ones
            assert torch.equal(state["model"][name], tensor), name
        assert any(not torch.equal(trainer.model.state_dict()[n], t) for n, t in epoch_one.items())
    finally:
        control.stop()
        worker.join(60)
    assert not worker.is_alive()


def test_save_now_from_another_thread_during_training_never_goes_back(tiny_config, small_synthetic):
    config = tiny_config.with_changes(epochs=3, limit_train=256)
    trainer = Trainer(config, lambda event: None, datasets=small_synthetic)
    done = threading.Event()
    saves = []

    def press_s_repeatedly():
        while not done.is_set():
            saved = trainer.save_now()
            if saved is not None:
                saves.append(saved[0])
            time.sleep(0.005)

    presser = threading.Thread(target=press_s_repeatedly)
    presser.start()
    try:
        result = trainer.run()
    finally:
        done.set()
        presser.join(10)
    assert result.error is None and result.epochs_done == 3
    assert saves and saves == sorted(saves)  # each press wrote the newest finished epoch
    assert load_checkpoint(config.run_dir)["epoch"] == 3
    assert trainer.save_now()[0] == 3


def test_resumed_run_can_save_before_its_first_new_epoch(tiny_config, small_synthetic, tmp_path):
    first = tiny_config.with_changes(epochs=1, limit_train=128)
    Trainer(first, lambda event: None, datasets=small_synthetic).run()
    state = load_checkpoint(first.run_dir)

    elsewhere = first.with_changes(epochs=2, run_dir=tmp_path / "elsewhere")
    control = TrainingControl()
    control.stop()  # stop at the first batch: the resumed epoch 1 is all there is
    trainer = Trainer(elsewhere, lambda event: None, control, resume_state=state, datasets=small_synthetic)
    trainer.run()
    assert not (elsewhere.run_dir / "checkpoint.pt").exists()
    epoch, path = trainer.save_now()
    assert epoch == 1 and load_checkpoint(path)["epoch"] == 1
