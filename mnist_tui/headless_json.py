"""``--log-format json``: one JSON object per event on stdout, in the order the run made them."""

from __future__ import annotations

import json
import sys

from mnist_tui.insight.layer_records import LayerStatsRecord
from mnist_tui.training.events import (
    BatchEnd,
    DataReady,
    EpochRecord,
    Event,
    Failed,
    Finished,
    ModelWeights,
    Notice,
    PlanChanged,
    Predictions,
    Rewound,
    StateChanged,
    Steered,
)


class JsonReporter:
    """One JSON object per event on stdout (``--log-format json``); arrays are left out."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stdout
        self.progress = None
        self.earlier: list[EpochRecord] = []  # the ready event's epochs, each written after its batches

    def __call__(self, event: Event) -> None:
        self.say_earlier(epochs_before(event))
        match event:
            case BatchEnd() | EpochRecord():
                row = {"event": "batch" if isinstance(event, BatchEnd) else "epoch", **event.to_json()}
            case DataReady() as e:
                row = {"event": "ready", "dataset": e.dataset, "device": e.device, "precision": e.precision}
                row |= {"train_size": e.train_size, "test_size": e.test_size, "epochs": e.epochs}
                row |= {"start_epoch": e.start_epoch, "world_size": e.world_size, "notice": e.notice}
                row |= {"settings": e.settings}  # the run's Config: what it trains with (also a replay's)
                self._write(row)
                self.earlier = list(e.history)  # epochs done before this process looked: lines as live ones,
                return  # in the order live ones come (a replay's or resume's saved batches follow)
            case StateChanged(state=state, detail=detail):
                row = {"event": "state", "state": state, "detail": detail}
            case PlanChanged(epochs=epochs):
                row = {"event": "plan", "epochs": epochs}
            case Rewound(epoch=epoch):
                row = {"event": "rewound", "epoch": epoch}
            case Notice(text=text):
                row = {"event": "note", "text": text}
            case Steered():
                row = {"event": "steered", **event.to_json()}
            case Finished() as e:
                row = {"event": "finished", "epochs_done": e.epochs_done, "best_test_acc": e.best_test_acc}
                row |= {"stopped": e.stopped} | ({"still": e.still} if e.still else {})
                reached = {"epoch": e.reached.epoch, "seconds": round(e.reached.seconds, 3)} if e.reached else None
                row |= {"reached_99": reached}  # the first test at 99 % (on the epoch axis: 2, 1.5013) and its time
            case Failed(message=message, epochs_done=done):
                row = {"event": "failed", "message": message, "epochs_done": done}
            case ModelWeights() | Predictions() | LayerStatsRecord():
                return
        self._write(row)

    def _write(self, row: dict) -> None:
        self.stream.write(json.dumps(row) + "\n")
        self.stream.flush()

    def say_earlier(self, before: float = float("inf")) -> None:
        """The earlier epochs' rows that come before an event at ``before`` (see
        :func:`epochs_before`); with no argument, all that are left."""
        while self.earlier and self.earlier[0].epoch < before:
            self._write({"event": "epoch", **self.earlier.pop(0).to_json()})


def epochs_before(event: Event) -> float:
    """Of a run's earlier epochs (a replay's, a resume's), the rows with a lower number come
    before ``event`` (in both the JSON and the text lines): a batch of epoch 3 follows row 2; a
    change at an epoch's end (batch 0) and an epoch's layer statistics follow its row; any other
    event follows every row."""
    match event:
        case BatchEnd(epoch=epoch):
            return epoch
        case Steered(epoch=epoch, batch=batch):
            return epoch if batch else epoch + 1
        case LayerStatsRecord(epoch=epoch):
            return epoch + 1
        case DataReady() | Notice():  # a note has no place among the epochs (a damaged log's: before them)
            return 0
    return float("inf")
