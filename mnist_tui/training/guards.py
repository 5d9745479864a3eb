"""When training has diverged: checked on the losses the loop already reads back (no extra sync)."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

from mnist_tui.errors import TrainingDiverged
from mnist_tui.training.events import BatchEnd
from mnist_tui.words import counted

# A loss that stays above twice chance level (ln 10 ≈ 2.30) for this many batches in a row is
# not learning: --lr 10 sits at ~1e8 with 11 % accuracy. A fresh net starts at ~2.3, and no
# measured recipe (fast, seed, sprint) ever had a single batch above 4.6.
DIVERGED_LOSS = 2 * math.log(10)
DIVERGED_BATCHES = 50
# A net whose ReLUs all died (fast's lr steered ×2 in epoch 3 did it: loss 2.3018 from there on)
# predicts one distribution for every digit, and trains on uselessly unless told; an lr far too low
# leaves the loss there too. Every recipe's batch losses are far below chance after epoch 1 (~0.1;
# sprint's epochs 2-4: none within 0.1 of it). Told when most of the last STALLED_BATCHES (or an
# epoch's) are within STALLED_WITHIN of chance: sprint steered ×4 in epoch 5 sat there at
# 11.35 % for 3 epochs, 1,403 of 1,407 batches within 0.05 but 9 % of them further than 0.01 and a
# spike or two an epoch, so "200 in a row within 0.01" was never met.
CHANCE_LOSS, STALLED_BATCHES, STALLED_WITHIN, STALLED_SHARE = math.log(10), 200, 0.05, 0.9
# ... or for an epoch, but not fewer batches than this: a run of one batch an epoch (500 samples,
# batch 1024) sat at 2.30 for its single batch of epoch 2 on its way down, and was told it was dead.
STALLED_AT_LEAST = 20


class DivergenceGuard:
    def __init__(self, lr_scale: Callable[[], float] = lambda: 1.0) -> None:
        """``lr_scale``: the steering's scale now (a run steered ×4096 into divergence was told to
        try a lower --lr, which it had not given)."""
        self.lr_scale = lr_scale
        self.high_losses = 0  # batches in a row above DIVERGED_LOSS
        self.near_chance: deque[bool] = deque()  # the last batches after epoch 1: within STALLED_WITHIN?
        self.stall_told = False

    def stalled(self, event: BatchEnd) -> str | None:
        """A line, once, when most of the last STALLED_BATCHES batches (or an epoch's) sat at chance level."""
        enough = min(STALLED_BATCHES, max(event.batches_per_epoch, STALLED_AT_LEAST))  # batch 1024: 59
        if event.epoch == 1 or self.stall_told:  # a fresh net starts there
            return None
        if self.near_chance.maxlen != enough:
            self.near_chance = deque(self.near_chance, maxlen=enough)
        needed = math.ceil(STALLED_SHARE * enough)
        for i, loss in enumerate(event.losses):
            self.near_chance.append(abs(loss - CHANCE_LOSS) < STALLED_WITHIN)
            if len(self.near_chance) == enough and sum(self.near_chance) >= needed:
                self.stall_told = True
                return (
                    f"the loss has sat at chance level (2.30) for {needed} or more of the last "
                    f"{counted(enough, 'batch', 'batches')}, "
                    f"up to epoch {event.epoch} batch {event.first_batch + i}: the network is not learning (an lr "
                    "too high kills its ReLUs, and it rarely recovers; one too low barely moves it)"
                )
        return None

    def what_to_try(self) -> str:
        scale = self.lr_scale()
        if scale > 1:
            return f"its lr was steered ×{scale:g}: steer it less, or try a lower --lr"
        if scale < 1:  # steered down to save it: "steer it less" would undo that
            return f"its lr was steered ×{scale:g} and still diverged: try a lower --lr"
        return "try a lower --lr"

    def check_batches(self, event: BatchEnd) -> None:
        for i, loss in enumerate(event.losses):
            where = f"in epoch {event.epoch} by batch {event.first_batch + i}"
            if not math.isfinite(loss):
                raise TrainingDiverged(f"training diverged: the loss became {loss} {where} ({self.what_to_try()})")
            self.high_losses = self.high_losses + 1 if loss > DIVERGED_LOSS else 0
            if self.high_losses >= DIVERGED_BATCHES:
                raise TrainingDiverged(
                    f"training diverged: the loss stayed above {DIVERGED_LOSS:.1f} (chance level is 2.30) "
                    f"for {DIVERGED_BATCHES} batches, {loss:.3g} {where} ({self.what_to_try()})"
                )

    def check_epoch(self, epoch: int, train_loss: float) -> None:
        if train_loss > DIVERGED_LOSS:  # spikes that never lasted 50 batches, but no epoch learns like this
            raise TrainingDiverged(
                f"training diverged: epoch {epoch}'s mean loss was {train_loss:.3g}, far above chance level "
                f"(2.30), so it was not saved ({self.what_to_try()})"
            )

    @staticmethod
    def check_test_loss(epoch: int, test_loss: float) -> None:
        if not math.isfinite(test_loss):  # a last step can break the weights after its loss was read
            raise TrainingDiverged(f"training diverged: the test loss became {test_loss} after epoch {epoch}")
