"""Messages from the training worker to the UI. Each wraps one trainer event.

The worker posts them (``post_message`` is thread-safe); handlers run on the UI thread.
Only the UI thread touches widgets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:  # events import numpy only, but keep this module as light as can be
    from mnist_tui.training.events import BatchEnd, DataReady, EpochEnd, Failed, Finished, Predictions


class TrainerLoaded(Message):
    """Torch, the data and the model are loaded (a resumed run's history included)."""

    def __init__(self, event: DataReady) -> None:
        super().__init__()
        self.event = event


class BatchProgress(Message):
    """Batches finished. Their losses wait in the app's :class:`LossInbox`, so a newer
    progress message may replace a pending one without losing any loss."""

    def __init__(self, event: BatchEnd) -> None:
        super().__init__()
        self.event = event

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, BatchProgress)


class EpochDone(Message):
    def __init__(self, event: EpochEnd) -> None:
        super().__init__()
        self.event = event


class PredictionsReady(Message):
    """Softmax over the whole test set after an epoch."""

    def __init__(self, event: Predictions) -> None:
        super().__init__()
        self.event = event


class TrainingFinished(Message):
    def __init__(self, event: Finished) -> None:
        super().__init__()
        self.event = event


class TrainingFailed(Message):
    def __init__(self, event: Failed) -> None:
        super().__init__()
        self.event = event
