"""Every message of the app, in one module.

Run messages each wrap one source event: the source's worker posts them (``post_message``
is thread-safe) and the dashboard screen handles them on the UI thread. Only the UI
thread touches widgets.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:  # events import numpy only, but keep this module as light as can be
    import numpy as np

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
        StateChanged,
    )
    from mnist_tui.tui.widgets.confusion import ConfusionMatrix
    from mnist_tui.tui.widgets.draw_canvas import DrawCanvas
    from mnist_tui.workspace.summary import RunSummary


class RunMessage(Message):
    """A source event, delivered on the UI thread."""

    def __init__(self, event) -> None:
        super().__init__()
        self.event = event


class RunLoaded(RunMessage):
    """The source is open: data, model and any history so far (a DataReady)."""

    event: DataReady


class BatchesArrived(RunMessage):
    """Batches finished. Their losses wait in the dashboard's :class:`LossInbox`, so a newer
    message may replace a pending one without losing any loss."""

    event: BatchEnd

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, BatchesArrived)


class EpochFinished(RunMessage):
    event: EpochRecord


class PredictionsArrived(RunMessage):
    """Softmax over the whole test set after an epoch."""

    event: Predictions


class ModelArrived(RunMessage):
    """New weights (the drawing snapshot is already updated, off the UI thread)."""

    event: ModelWeights


class LayerStatsArrived(RunMessage):
    """Per-layer statistics after an epoch (a LayerStatsRecord)."""


class SteeringReported(RunMessage):
    """The run was steered (a Steered: lr scaled, epochs added)."""


class StateReported(RunMessage):
    event: StateChanged


class PlanReported(RunMessage):
    event: PlanChanged


class RunRewound(RunMessage):
    """A followed run started again from the end of an epoch (a Rewound): what came after goes."""

    event: Rewound


class NoticeReported(RunMessage):
    event: Notice


class RunFinished(RunMessage):
    event: Finished


class RunFailed(RunMessage):
    event: Failed


class OpenRun(Message):
    """Open this run folder in the dashboard (replay when it ended, follow when it is live)."""

    def __init__(self, path: Path, summary: RunSummary) -> None:
        super().__init__()
        self.path = path
        self.summary = summary


class NewRunFrom(Message):
    """Start a new run from this run folder's settings (the app shows the new-run form)."""

    def __init__(self, path: Path, summary: RunSummary) -> None:
        super().__init__()
        self.path = path
        self.summary = summary


# -- the widgets' own messages (their handlers keep the widget's name: on_confusion_matrix_…) --------


class CellSelected(Message, namespace="confusion_matrix"):
    """The confusion matrix's cell (true, predicted) was chosen: show exactly those test digits."""

    def __init__(self, matrix: ConfusionMatrix, true: int, predicted: int, count: int) -> None:
        super().__init__()
        self.matrix = matrix
        self.true = true
        self.predicted = predicted
        self.count = count

    @property
    def control(self) -> ConfusionMatrix:
        return self.matrix


class Changed(Message, namespace="draw_canvas"):
    """The drawing on the canvas changed; ``grid`` is a copy (float32 28×28, 0 = paper, 1 = ink)."""

    def __init__(self, canvas: DrawCanvas, grid: np.ndarray) -> None:
        super().__init__()
        self.canvas = canvas
        self.grid = grid

    @property
    def control(self) -> DrawCanvas:
        return self.canvas


class MarksChanged(Message, namespace="runs_table"):
    """The runs marked in the runs table (for the compare plots), in marking order."""

    def __init__(self, names: tuple[str, ...]) -> None:
        super().__init__()
        self.names = names


class ColumnsShown(Message, namespace="runs_table"):
    """The runs table left out columns for want of room, or brought them back."""
