"""The trainer's listener for the dashboard: runs in the worker thread, posts messages.

It never touches a widget. Batch losses go into a locked inbox that the UI drains, so the
high-rate progress messages can coalesce (``can_replace``) without dropping data.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from textual.message import Message

from mnist_tui.tui import messages as msg


class LossInbox:
    """(epoch, batch, loss) triples from the worker, drained by the UI thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[tuple[int, int, float]] = []

    def put(self, epoch: int, last_batch: int, losses: tuple[float, ...]) -> None:
        first = last_batch - len(losses) + 1
        with self._lock:
            self._items.extend((epoch, first + i, loss) for i, loss in enumerate(losses))

    def drain(self) -> list[tuple[int, int, float]]:
        with self._lock:
            items, self._items = self._items, []
        return items


class TrainerBridge:
    """Callable listener: trainer event → inbox and/or Textual message."""

    def __init__(self, post: Callable[[Message], object], inbox: LossInbox) -> None:
        self.post = post
        self.inbox = inbox

    def __call__(self, event) -> None:
        kind = type(event).__name__
        if kind == "BatchEnd":
            self.inbox.put(event.epoch, event.batch, event.losses)
            self.post(msg.BatchProgress(event))
        elif kind == "DataReady":
            self.post(msg.TrainerLoaded(event))
        elif kind == "EpochEnd":
            self.post(msg.EpochDone(event))
        elif kind == "Predictions":
            self.post(msg.PredictionsReady(event))
        elif kind == "Finished":
            self.post(msg.TrainingFinished(event))
        elif kind == "Failed":
            self.post(msg.TrainingFailed(event))
        # Paused/Resumed: the UI already knows, it asked for them.
