"""The source's listener for the dashboard: runs in the source's worker thread, posts messages.

It never touches a widget. Batch losses go into a locked inbox that the UI drains, so the
high-rate progress messages can coalesce (``can_replace``) without dropping data; new
weights are copied into the drawing snapshot here, off the UI thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from textual.message import Message

from mnist_tui.errors import told
from mnist_tui.insight.layer_records import LayerStatsRecord
from mnist_tui.model_snapshot import ModelSnapshot
from mnist_tui.training.events import (
    BatchEnd,
    DataReady,
    EpochRecord,
    Failed,
    Finished,
    ModelWeights,
    Notice,
    PlanChanged,
    Predictions,
    Rewound,
    RunResult,
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
    Notice: msg.NoticeReported,
    Finished: msg.RunFinished,
    Failed: msg.RunFailed,
}


class LossInbox:
    """(x in epochs, loss, lr) from the worker, drained by the UI thread.

    x is placed with the report's own ``batches_per_epoch``, or a whole epoch's where that is more
    (a partial last epoch): the bridge sets ``whole_epoch_batches`` from the run's DataReady, in the
    worker's order. Reports can arrive before the screen has handled that DataReady (a followed run
    opened from the workspace), and placed with the screen's count, still 0, they were drawn one
    epoch per batch."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[tuple[float, float, float] | Rewound] = []  # a Rewound: drop points past it
        self.whole_epoch_batches = 0

    def put(self, event: BatchEnd) -> None:
        lrs = event.lrs or (float("nan"),) * len(event.losses)
        items = zip(event.positions(self.whole_epoch_batches), event.losses, lrs, strict=True)
        with self._lock:
            self._items.extend(items)

    def rewind(self, epoch: int) -> None:
        """A followed run goes on from the end of ``epoch``: the plot drops what it drew past it
        when it reaches this point of the queue, after the earlier batches, before the new ones
        (dropped on the message instead, the new attempt's first batches, drawn by a timer
        that ran first, were dropped too)."""
        with self._lock:
            self._items.append(Rewound(epoch))

    def drain(self) -> list[tuple[float, float, float] | Rewound]:
        with self._lock:
            items, self._items = self._items, []
        return items


class SourceBridge:
    """Callable listener: source event → inbox, snapshot, and a Textual message (by type)."""

    def __init__(self, post: Callable[[Message], object], inbox: LossInbox, snapshot: ModelSnapshot) -> None:
        self.post = post
        self.inbox = inbox
        self.snapshot = snapshot
        self.drawing_failed = False  # told once

    def run(self, source) -> RunResult:
        """``source``'s run with this bridge as its listener: a source that breaks (a broken torch
        import) is a failure too, said as every run's failure is."""
        try:
            return source.run(self)
        except Exception as exc:  # noqa: BLE001 - said in the run's own failure message
            self(Failed(f"cannot open the run: {type(exc).__name__}: {exc}", 0))
            return RunResult(error=exc)

    def __call__(self, event) -> None:
        match event:
            case BatchEnd():
                self.inbox.put(event)
            case Rewound(epoch=epoch):
                self.inbox.rewind(epoch)
            case DataReady(batches_per_epoch=whole):  # every source sends a run's recorded batches after it:
                self.inbox.rewind(0)  # a run continued here (`a` on a finished one) drew them twice
                self.inbox.whole_epoch_batches = whole
            case ModelWeights(weights=weights, epoch=epoch, in_progress=in_progress):
                try:
                    self.snapshot.update_arrays(weights, epoch, in_progress)
                except Exception as exc:  # drawing is a bonus: it must never fail the run, but say so once
                    if not self.drawing_failed:
                        self.drawing_failed = True
                        self.post(msg.NoticeReported(Notice(f"drawing keeps older weights: {told(exc)}")))
        self.post(MESSAGES[type(event)](event))
