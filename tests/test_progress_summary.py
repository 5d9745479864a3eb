"""The finished or stopped run's summary: what happened, and only advice that works."""

from __future__ import annotations

from types import SimpleNamespace

from mnist_tui.tui.progress import RunProgress, run_summary


def progress(epochs_done: int, epochs: int = 10, last_fraction: float = 1.0) -> RunProgress:
    p = RunProgress(epochs)
    settings = {"last_epoch_fraction": last_fraction}
    loaded = dict(epochs=epochs, batches_per_epoch=59, train_size=60_000, start_epoch=1, settings=settings)
    p.on_loaded(SimpleNamespace(**loaded, history=()))
    for epoch in range(1, epochs_done + 1):
        p.on_epoch(epoch, 0.98 + epoch / 1000, 0.05, seconds=1.5)
    return p


def test_a_run_stopped_mid_first_epoch_offers_neither_replay_nor_more_epochs_and_counts_its_time():
    """It said "0:00 of training", "replay: …" (which fails: no finished epoch) and "a: train 5 more"
    (a key the stopped run does not take)."""
    p = progress(0)
    p.on_batch(SimpleNamespace(epoch=1, batch=46, batches_per_epoch=59, samples_seen=46 * 1024, samples_per_s=11_776.0))
    text = run_summary(p, 0, "runs/c", can_extend=False, long=True)
    assert "0:04 of training" in text
    assert "replay" not in text and "a: train" not in text and "nothing kept" in text


def test_a_stopped_run_says_how_to_continue_and_a_finished_one_how_to_train_more():
    stopped = run_summary(progress(3), 3, "runs/c", can_extend=False, long=True)
    assert "replay: mnist-tui --replay runs/c" in stopped and "continue: mnist-tui --resume runs/c" in stopped
    assert "0:04 of training" in stopped  # three epochs of 1.5 s
    finished = run_summary(progress(10), 10, "runs/c", can_extend=True, long=True)
    assert "a: train 5 more epochs here" in finished and "--resume" not in finished
    # said over the drawing or inside the network, where `a` does nothing
    over = run_summary(progress(10), 10, "runs/c", can_extend=True, long=True, elsewhere=True)
    assert "a on the dashboard (esc): train 5 more epochs" in over and " here" not in over


def test_a_run_whose_last_epoch_fell_says_its_best_weights_are_not_kept():
    """Steered into a dead net: "best 99.11% at epoch 4 … saved in runs/d1", and the checkpoint held 11.35 %."""
    p = progress(4, epochs=8)
    for epoch in range(5, 9):
        p.on_epoch(epoch, 0.1135, 2.301, seconds=1.5)
    text = run_summary(p, 8, "runs/d1", can_extend=True, long=True)
    assert "best 98.40% at epoch 4" in text
    assert "its checkpoint is epoch 8's (11.35%): each epoch's replaced the one before" in text
    assert "so the weights at epoch 4 are not kept" in text
    assert "not kept" not in run_summary(progress(10), 10, "runs/c", can_extend=True, long=True)


def test_the_state_lines_summary_is_its_few_words():
    """At 80×24 "finished  13 epochs, best 99.24% at epoch 8" wrapped and pushed the panel's lines
    down; the best is on the results line under it."""
    assert run_summary(progress(10), 10, "runs/c", can_extend=True) == "10 epochs"
    assert run_summary(progress(1), 1, "runs/c", can_extend=True) == "1 epoch"
    assert run_summary(progress(0), 0, "runs/c", can_extend=False) == "no epoch finished"


def test_sprints_half_last_epoch_is_said_as_a_half_and_counted_in_the_eta():
    """``--recipe sprint`` plans 2.5 epochs (3, the last one half): the dashboard said "epoch 3/3",
    "3 epochs" at the end, and its ETA counted a whole third epoch."""
    p = progress(0, epochs=3, last_fraction=0.5)
    p.on_batch(SimpleNamespace(epoch=1, batch=30, batches_per_epoch=59, samples_seen=30_000, samples_per_s=10_000.0))
    assert p.eta_seconds() == (30_000 + 60_000 + 30_000) / 10_000  # the rest of 1, all of 2, half of 3
    assert p.epoch_part == ""
    p.on_epoch(1, 0.98, 0.05, seconds=6.0)
    p.on_epoch(2, 0.99, 0.04, seconds=6.0)
    p.on_batch(SimpleNamespace(epoch=3, batch=10, batches_per_epoch=30, samples_seen=10_000, samples_per_s=10_000.0))
    assert p.epoch_part == " (half)"
    assert (p.run_batches, p.run_batches_done) == (round(2.5 * 59), 2 * 59 + 10)  # it read 3 × 30 and 2 × 30 + 10
    assert p.eta_seconds() == 20_000 / 10_000  # half an epoch is 30,000 samples
    p.on_epoch(3, 0.991, 0.04, seconds=3.0)
    assert p.eta_seconds() is None  # nothing left: `a` showed "ETA 0:00" while its new plan loaded
    assert run_summary(p, 3, "runs/s", can_extend=True) == "2.5 epochs"
    assert run_summary(p, 2, "runs/s", can_extend=False) == "2 epochs"
    p.on_plan(5)  # `a` after the half epoch: it stays half (it read "5 epochs", bar 3/5, for 4.5 and 2.5/4.5)
    assert p.epoch_part == " (half)" and run_summary(p, 5, "runs/s", can_extend=True) == "4.5 epochs"
    assert (p.run_batches, p.run_batches_done) == (round(4.5 * 59), round(2.5 * 59))
    p.on_batch(SimpleNamespace(epoch=4, batch=59, batches_per_epoch=59, samples_seen=60_000, samples_per_s=10_000.0))
    assert p.epoch_part == "" and p.eta_seconds() == 60_000 / 10_000  # epoch 5, whole


def test_epochs_added_before_sprints_half_epoch_make_it_whole():
    """The trainer takes a new plan at an epoch's end: `a` during epoch 2 makes epoch 3 whole."""
    p = progress(1, epochs=3, last_fraction=0.5)
    p.on_plan(5)
    assert (str(p.plan), p.run_batches) == ("5 epochs", 5 * 59)
    p.on_batch(SimpleNamespace(epoch=3, batch=10, batches_per_epoch=59, samples_seen=10_000, samples_per_s=10_000.0))
    assert p.epoch_part == "" and p.eta_seconds() == (50_000 + 2 * 60_000) / 10_000


def test_a_run_that_trained_past_the_plan_known_here_plans_what_it_trained():
    """A follower that missed a PlanChanged still says the run's whole length once it ends."""
    p = progress(5, epochs=3)
    p.on_finished(5)
    assert p.epochs == 5 and run_summary(p, 5, "runs/f", can_extend=False) == "5 epochs"
    p.on_finished(4)  # fewer than planned: a stop, the plan stays
    assert p.epochs == 5


def test_a_stop_asked_while_the_epoch_is_tested_keeps_it_and_says_nothing_is_lost():
    """It said "epoch 3's 30 batches so far are not kept" while epoch 3 was being tested; the
    trainer then kept epoch 3 (it looks for a stop at each batch's start, then after the checkpoint)."""
    from mnist_tui.tui.progress import not_kept

    p = progress(2)
    batch = dict(epoch=3, batches_per_epoch=59, samples_per_s=11_776.0)
    p.on_batch(SimpleNamespace(batch=30, samples_seen=30 * 1024, **batch))
    assert not_kept(p) == ": epoch 3's 30 batches so far are not kept"
    p.on_batch(SimpleNamespace(batch=1, samples_seen=1024, **batch))
    assert not_kept(p) == ": epoch 3's 1 batch so far is not kept"
    p.on_batch(SimpleNamespace(batch=59, samples_seen=60_000, **batch))  # the last: "testing…"
    assert not_kept(p) == ""
    p.on_epoch(3, 0.99, 0.04)
    assert not_kept(p) == ""


def test_a_stopped_run_shows_the_position_its_folder_keeps():
    """After S S in epoch 4 the stats still said "epoch 4/8 batch 41/59 … run 46 %" of batches
    the stop had just said are not kept; a run stopped in its first epoch keeps none."""
    p = progress(3, epochs=8)
    p.on_batch(SimpleNamespace(epoch=4, batch=41, batches_per_epoch=59, samples_seen=41_000, samples_per_s=9_000.0))
    assert p.run_batches_done == 3 * 59 + 41
    p.show_kept(3)
    assert (p.epoch, p.batch, p.run_batches_done) == (3, 59, 3 * 59)
    assert not p.testing
    half = progress(2, epochs=3, last_fraction=0.5)  # a sprint stopped in its half epoch read "batch 59/30"
    half.on_batch(SimpleNamespace(epoch=3, batch=12, batches_per_epoch=30, samples_seen=12_000, samples_per_s=9e3))
    half.show_kept(2)
    assert (half.epoch, half.batch, half.batches_per_epoch) == (2, 59, 59)
    first = progress(0, epochs=8)
    first.on_batch(SimpleNamespace(epoch=1, batch=7, batches_per_epoch=59, samples_seen=7_000, samples_per_s=9_000.0))
    first.show_kept(0)
    assert (first.epoch, first.batch, first.run_batches_done) == (1, 0, 0)


def test_the_eta_counts_each_epochs_test_set_as_long_as_the_last_one_took():
    """The ETA counted training alone: it read 0:00 through the last epoch's 5 s of testing."""
    p = progress(0, epochs=3)
    p.on_batch(SimpleNamespace(epoch=1, batch=59, batches_per_epoch=59, samples_seen=60_000, samples_per_s=10_000.0))
    assert p.eta_seconds() == 2 * 60_000 / 10_000  # no test set timed yet
    p.on_epoch(1, 0.98, 0.05, seconds=6.0, eval_seconds=1.5)
    p.on_batch(SimpleNamespace(epoch=2, batch=59, batches_per_epoch=59, samples_seen=60_000, samples_per_s=10_000.0))
    assert p.eta_seconds() == 60_000 / 10_000 + 2 * 1.5  # epoch 3's training, the test sets of 2 and 3
    p.on_epoch(2, 0.99, 0.04, seconds=6.0, eval_seconds=0.0)  # a row without the figure keeps the last one
    p.on_batch(SimpleNamespace(epoch=3, batch=59, batches_per_epoch=59, samples_seen=60_000, samples_per_s=10_000.0))
    assert p.testing and p.eta_seconds() == 1.5


def test_a_run_that_reached_99_says_at_which_epoch_and_after_how_long():
    from mnist_tui.training.reached import Reached

    text = run_summary(progress(10), 10, "runs/c", can_extend=True, long=True, reached=Reached(4, 6.0))
    assert text.splitlines()[1] == "99 % at epoch 4, after 6.0 s of training"
    assert "99 %" not in run_summary(progress(10), 10, "runs/c", can_extend=True, long=True)
    assert run_summary(progress(10), 10, "runs/c", can_extend=True, reached=Reached(4, 6.0)) == "10 epochs"


def test_the_best_counts_the_tests_inside_epochs_and_names_their_place():
    """The dashboard said "best 99.14% (ep 3)" where the end line and the runs table, counting sprint's
    tests inside epochs, said 99.18 % (at 2.25)."""
    p = progress(1, epochs=3)
    p.on_epoch(2, 0.9895, 0.03, seconds=4.0, inner=((1.5013, 0.9903),))
    p.on_epoch(3, 0.9901, 0.03, seconds=2.0, inner=((2.2517, 0.9918),))
    assert (p.best_acc, p.best_epoch) == (0.9918, 2.2517)
    assert "best 99.18% at epoch 2.25" in run_summary(p, 3, "runs/s", can_extend=True, long=True)
