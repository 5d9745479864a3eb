"""`a` pressed the moment a run finishes: Finished is told before the trainer has closed its run
folder, and the next run must not be set up (nor the worker's trainer dropped) until it has."""

from __future__ import annotations

import threading

from mnist_tui.runfolder.reader import read_metrics
from mnist_tui.sources.training import TrainingSource
from mnist_tui.training.events import Finished


def test_more_epochs_asked_as_finished_is_told_wait_for_the_run_to_end(tiny_config, small_synthetic):
    config = tiny_config.with_changes(schedule="constant", lr=1e-3, batch_size=64, epochs=1)
    source = TrainingSource(config, datasets=small_synthetic)
    asked = threading.Thread(target=source.add_epochs, args=(1,))
    waiting_when_told: list[bool] = []

    def press_a_at_finished(event) -> None:
        if isinstance(event, Finished):  # the dashboard's `a` runs on its request thread
            asked.start()
            asked.join(timeout=0.5)  # it may not go on while this run still holds its folder
            waiting_when_told.append(asked.is_alive())

    result = source.run(press_a_at_finished)  # the worker dropped its trainer mid-cleanup: AttributeError
    asked.join(timeout=30)
    assert result.error is None and result.epochs_done == 1
    assert waiting_when_told == [True] and not asked.is_alive()
    assert source.trainer is None and source.resume_state is not None  # set up to continue
    assert source.run(lambda event: None).error is None
    assert [r.epoch for r in read_metrics(config.run_dir).records] == [1, 2]


def test_more_epochs_asked_after_the_source_closed_train_nothing(tiny_config, small_synthetic):
    """A quit that landed while `a` waited for the run to let go: `a` put a fresh control in place
    of the stopped one, and the next run would have trained on."""
    config = tiny_config.with_changes(schedule="constant", lr=1e-3, batch_size=64, epochs=1)
    source = TrainingSource(config, datasets=small_synthetic)
    assert source.run(lambda event: None).error is None
    source.close()
    source.add_epochs(1)
    assert source.control.stopped and source.resume_state is None and source.trainer is not None
