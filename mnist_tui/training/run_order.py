"""The order a run made its logged events in, for whoever tells them again from its folder: the
replayer, the follower, and a resumed trainer showing its earlier epochs (no torch here: the
follower imports it before the first frame)."""

from __future__ import annotations

from mnist_tui.training.events import BatchEnd, Steered


def in_run_order(batches: list[BatchEnd], layers: list, steering: list[Steered]) -> list:
    """A run's logged events in the order the run made them: a change of lr before the report
    holding the batch it took effect from, a change at an epoch's end (batch 0) and the epoch's
    layer statistics after its last batch. (A replay gave every change after every batch.)"""

    def position(event) -> tuple[int, float, int]:
        match event:
            case BatchEnd(epoch=epoch, batch=batch):
                return epoch, batch, 1
            case Steered(epoch=epoch, batch=batch) if batch:
                return epoch, batch, 0
            case Steered(epoch=epoch):
                return epoch, float("inf"), 1
        return event.epoch, float("inf"), 0  # a LayerStatsRecord

    return sorted([*batches, *layers, *steering], key=position)
