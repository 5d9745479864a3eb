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
    assert guard.stalled(report(2, 200, [0.5])) is None  # one learning batch starts the count again
    assert guard.stalled(report(2, 201, [chance] * (STALLED_BATCHES - 1))) is None
    said = guard.stalled(report(2, 400, [chance, chance]))
    assert said.startswith("the loss has sat at chance level (2.30) for 200 batches, up to epoch 2 batch 400")
    assert guard.stalled(report(2, 402, [chance] * 500)) is None  # said once
    short = DivergenceGuard()  # batch 1024: 59 batches an epoch, and 200 would take 3.4 of them
    epoch = BatchEnd(3, 59, 59, (chance,) * 59, chance, 60_000, (0.02,) * 59)
    assert "for 59 batches, up to epoch 3 batch 59" in short.stalled(epoch)
    tiny = DivergenceGuard()  # one batch an epoch: a batch at chance on its way down is no sign
    assert [tiny.stalled(BatchEnd(e, 1, 1, (chance,), chance, 500, (0.02,))) for e in range(2, 21)] == [None] * 19
    assert "for 20 batches, up to epoch 21 batch 1" in tiny.stalled(BatchEnd(21, 1, 1, (chance,), chance, 500, (0.02,)))


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
