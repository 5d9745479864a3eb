"""The source's listener for the dashboard: runs in the source's worker thread, posts messages.

It never touches a widget. Batch losses go into a locked inbox that the UI drains, so the
high-rate progress messages can coalesce (``can_replace``) without dropping data; new
weights are copied into the drawing snapshot here, off the UI thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from textual.message import Message

from mnist_tui.drawing import ModelSnapshot
from mnist_tui.insight.layer_stats import LayerStatsRecord
from mnist_tui.training.events import (
    BatchEnd,
    DataReady,
    EpochRecord,
    Failed,
    Finished,
    ModelWeights,
    PlanChanged,
    Predictions,
    Rewound,
    StateChanged,
    Steered,
)
from mnist_tui.tui import messages as msg

MESSAGES: dict[type, type[msg.RunMessage]] = {
    DataReady: msg.RunLoaded,
    BatchEnd: msg.BatchesArrived,
    EpochRecord: msg.EpochFinished,
    Predictions: msg.PredictionsArrived,
    ModelWeights: msg.ModelArrived,
    LayerStatsRecord: msg.LayerStatsArrived,
    StateChanged: msg.StateReported,
    PlanChanged: msg.PlanReported,
    Steered: msg.SteeringReported,
    Rewound: msg.RunRewound,
    Finished: msg.RunFinished,
    Failed: msg.RunFailed,
}


class LossInbox:
    """(x in epochs, loss, lr) from the worker, drained by the UI thread.

    x is placed with the report's own ``batches_per_epoch``: reports can arrive before the screen
    has handled the run's DataReady (a followed run opened from the workspace), and placed with
    the screen's count, still 0, they were drawn one epoch per batch."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[tuple[float, float, float]] = []

    def put(self, event: BatchEnd) -> None:
        lrs = event.lrs or (float("nan"),) * len(event.losses)
        items = zip(event.positions(), event.losses, lrs, strict=True)
        with self._lock:
            self._items.extend(items)

    def drop_after(self, x: float) -> None:
        """Forget the waiting items past ``x`` epochs (a followed run resumed from there)."""
        with self._lock:
            self._items = [item for item in self._items if item[0] <= x]

    def drain(self) -> list[tuple[float, float, float]]:
        with self._lock:
            items, self._items = self._items, []
        return items


class SourceBridge:
    """Callable listener: source event → inbox, snapshot, and a Textual message (by type)."""

    def __init__(self, post: Callable[[Message], object], inbox: LossInbox, snapshot: ModelSnapshot) -> None:
        self.post = post
        self.inbox = inbox
        self.snapshot = snapshot

    def __call__(self, event) -> None:
        if isinstance(event, BatchEnd):
            self.inbox.put(event)
        elif isinstance(event, Rewound):  # before the message: no older batch may be drawn after it
            self.inbox.drop_after(event.epoch)
        elif isinstance(event, ModelWeights):
            try:
                self.snapshot.update_arrays(event.weights, event.epoch)
            except Exception:  # drawing is a bonus: it must never fail the run
                pass
        self.post(MESSAGES[type(event)](event))
