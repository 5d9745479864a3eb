"""Replay a run folder without training: its history, batch losses, model and predictions.

A run folder (README, "The run folder") holds ``metrics.jsonl``, ``batches.jsonl`` and
``checkpoint.pt``, each written atomically or as whole appended lines. A killed run
therefore replays up to its last finished epoch; a folder with only metrics replays its
curves (no model: no predictions, confusion or drawing); a format-1 folder (no batch log)
replays with "batch losses not recorded". Rows that do not fit their schema are skipped
and counted in the notice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnist_tui.config import Config
from mnist_tui.errors import UserError
from mnist_tui.runfolder.layout import (
    CHECKPOINT_NAME,
    INFO_NAME,
)
from mnist_tui.sources.base import PassiveSource
from mnist_tui.sources.recorded import (
    dataset_option,
    load_test_data,
    model_events,
    ready_event,
    with_resolved,
)
from mnist_tui.sources.run_record import RunRecord, load_run
from mnist_tui.training.events import (
    LIVE,
    BatchEnd,
    Failed,
    Finished,
    Listener,
    Notice,
    RunResult,
    StateChanged,
)
from mnist_tui.training.guards import DivergenceGuard
from mnist_tui.training.run_order import in_run_order


@dataclass(frozen=True)
class ReplayRequest:
    """A folder, and how to make the Config from the run's saved one (the CLI's, so explicit
    options such as ``--data-dir`` still win)."""

    run_dir: Path
    make_config: Callable[[dict[str, Any] | None], Config]
    # the model's predictions and weights (the dashboard's browser, drawing and model view): a
    # headless replay shows none, and its test digits and their evaluation took 1-2 s of its 3.5
    model_views: bool = True


class ReplaySource(PassiveSource):
    """Reports a recorded run as events: DataReady (with the history), its batch reports, the
    model's weights and predictions, Finished. Loading (torch, the checkpoint) happens in
    :meth:`run`, so in the dashboard's worker, after the first frame."""

    title = "replay"

    def __init__(self, request: ReplayRequest, datasets: Any = None) -> None:
        self.request = request
        self.run_dir: Path | None = request.run_dir
        self.datasets = datasets

    def close(self) -> None:
        pass  # a replay reports once and ends by itself

    def run(self, listener: Listener) -> RunResult:
        result = RunResult()
        try:
            record = load_run(self.request.run_dir)
            config = dataset_option(self._config(record), record.dataset_name)
            result.epochs_done = record.epochs_done
            result.stopped = self._replay(record, config, listener)
        except Exception as exc:  # as in the trainer: every failure is an event, never a dead worker
            result.error = exc
            listener(Failed(str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}", 0))
        return result

    def _config(self, record: RunRecord) -> Config:
        """The run's saved config; a damaged one is a note, and the curves still replay."""
        try:
            return self.request.make_config(record.saved_config)
        except UserError as exc:
            source = CHECKPOINT_NAME if record.model_state is not None else INFO_NAME  # which one load_run kept
            record.notes.append(f"{exc} (read from {source}); shown with the default settings")
            return self.request.make_config(None)

    def _replay(self, record: RunRecord, config: Config, listener: Listener) -> bool:
        notes = list(record.notes)
        views = record.model_state is not None and self.request.model_views
        data, problem = load_test_data(config, self.datasets) if views else (None, None)
        notes += [problem] if problem else []
        planned = int((record.saved_config or {}).get("epochs") or record.epochs_done)
        # a run failed in an epoch its checkpoint did not plan (`a`, --resume --epochs) read "epoch 3/2"
        planned = max(planned, record.status_epochs, record.batches[-1].epoch if record.batches else 0)
        notice = "; ".join(notes) or None
        device = record.trained_with[0] or (record.history[-1].device if record.history else "") or "not recorded"
        ready = ready_event(data, config, record.history, planned, notice, device, world_size=record.world_size)
        ready = with_resolved(ready, *record.trained_with)
        if data is None and record.sizes:  # no model, so no digits loaded: the batches still have their place
            ready = dataclasses.replace(ready, **record.sizes, dataset=record.dataset_name or ready.dataset)
        listener(dataclasses.replace(ready, batches_recorded=record.batch_log))
        guard = DivergenceGuard()  # the note the run's own face gave (a dead net), said again here
        for logged in in_run_order(record.batches, record.layers, record.steering):
            listener(logged)
            if isinstance(logged, BatchEnd) and (stalled := guard.stalled(logged)):
                listener(Notice(stalled))
        if views:
            for event in model_events(record.model_state, record.epoch, data, config):
                listener(event)
        still = record.writer_state if record.writer_state in LIVE else ""  # not stopped: it goes on elsewhere
        stopped = record.epochs_done < planned and not still
        if record.writer_state in ("failed", "lost"):  # as a follower says it, not "stopped"
            listener(StateChanged(record.writer_state, record.end_detail))
        else:
            listener(Finished.of(record.history, record.epochs_done, stopped, still))
        return stopped
