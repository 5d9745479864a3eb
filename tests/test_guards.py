"""What the trainer says of a loss that tells of trouble: chance level for good (a dead net)."""

from __future__ import annotations

import math
from types import SimpleNamespace

from mnist_tui.training.events import BatchEnd, Notice
from mnist_tui.training.guards import STALLED_BATCHES, DivergenceGuard


def report(epoch: int, first: int, losses: list[float]) -> BatchEnd:
    last = first + len(losses) - 1
    return BatchEnd(epoch, last, 469, tuple(losses), losses[-1], last * 128, (0.02,) * len(losses))


def test_a_loss_at_chance_for_200_batches_after_epoch_1_is_told_once():
    """`+` in epoch 3 of the fast recipe: the loss sat at 2.3018 to the end and the run said nothing."""
    guard, chance = DivergenceGuard(), math.log(10) - 0.0008
    assert guard.stalled(report(1, 1, [chance] * 300)) is None  # a fresh net starts there
    assert guard.stalled(report(2, 1, [chance] * (STALLED_BATCHES - 1))) is None
    said = guard.stalled(report(2, 200, [chance, chance]))
    said_start = (
        "the loss has sat at chance level (2.30) for 180 or more of the last 200 batches, up to epoch 2 batch 200"
    )
    assert said.startswith(said_start)
    assert guard.stalled(report(2, 202, [chance] * 500)) is None  # said once
    short = DivergenceGuard()  # batch 1024: 59 batches an epoch, and 200 would take 3.4 of them
    epoch = BatchEnd(3, 59, 59, (chance,) * 59, chance, 60_000, (0.02,) * 59)
    assert "for 54 or more of the last 59 batches, up to epoch 3 batch 59" in short.stalled(epoch)
    tiny = DivergenceGuard()  # one batch an epoch: a batch at chance on its way down is no sign
    assert [tiny.stalled(BatchEnd(e, 1, 1, (chance,), chance, 500, (0.02,))) for e in range(2, 21)] == [None] * 19
    last = BatchEnd(21, 1, 1, (chance,), chance, 500, (0.02,))
    assert "for 18 or more of the last 20 batches, up to epoch 21" in tiny.stalled(last)


def test_a_noisy_dead_net_is_told_and_a_learning_one_is_not():
    """Sprint steered ×4 in epoch 5 sat at 11.35 % for 3 epochs, its batch losses 2.28-2.34 with a
    spike or two an epoch: one batch off chance started the count again, and nothing was said."""
    noisy = [math.log(10) + 0.03 * math.sin(b) for b in range(469)]
    noisy[100], noisy[300] = 4.9, 1.2  # the spikes
    assert DivergenceGuard().stalled(report(6, 1, noisy)) is not None
    learning = [0.5 if b % 5 == 0 else math.log(10) for b in range(469)]  # one in five learns: 80 % there
    assert DivergenceGuard().stalled(report(6, 1, learning)) is None
    healthy = [0.05 + 0.02 * math.sin(b) for b in range(469)]
    assert DivergenceGuard().stalled(report(6, 1, healthy)) is None


def test_the_trainer_tells_it_as_a_notice(tiny_config):
    from mnist_tui.training.loop import Trainer

    events: list = []
    trainer = Trainer(tiny_config, events.append)
    trainer.reports = SimpleNamespace(on_batch=lambda event: None)
    trainer._emit_checked(report(2, 1, [math.log(10)] * STALLED_BATCHES))
    notices = [e for e in events if isinstance(e, Notice)]
    assert len(notices) == 1 and "the network is not learning" in notices[0].text


def test_a_follower_tells_it_too(tmp_path):
    """The follower's face heard nothing of what the writer's said."""
    from mnist_tui.sources.watch import RunWatch

    events: list = []
    watch = RunWatch(tmp_path, [], 3, model_views=False, writer_created=None)
    batches = [report(2, b, [math.log(10)]) for b in range(1, STALLED_BATCHES + 1)]
    watch._report_batches(events.append, batches)
    notices = [e for e in events if isinstance(e, Notice)]
    assert len(notices) == 1 and events.index(notices[0]) == len(events) - 1  # after the batch that made it


def test_a_steered_runs_divergence_names_the_steering_not_the_lr_it_was_given():
    """`+` twelve times (lr ×4096) diverged, and the run was told "try a lower --lr"."""
    import pytest

    from mnist_tui.errors import TrainingDiverged

    nan = BatchEnd(3, 5, 59, (float("nan"),), 1000.0, 1024, (0.1,), 1.7e9)
    with pytest.raises(TrainingDiverged, match=r"\(try a lower --lr\)$"):
        DivergenceGuard().check_batches(nan)
    with pytest.raises(TrainingDiverged, match=r"\(its lr was steered ×4096: steer it less, or try a lower --lr\)$"):
        DivergenceGuard(lambda: 4096.0).check_batches(nan)
    with pytest.raises(TrainingDiverged, match=r"\(its lr was steered ×0.5 and still diverged: try a lower --lr\)$"):
        DivergenceGuard(lambda: 0.5).check_batches(nan)
    with pytest.raises(TrainingDiverged, match="steered ×4096"):
        DivergenceGuard(lambda: 4096.0).check_epoch(3, 9.5)
