"""A run folder read once for a replay: :class:`RunRecord` and :func:`load_run`.

What a replay shows and what it leaves out is decided here, before any event: rows past the
last kept epoch (a kill, a stop), the writer's state from ``status.json`` (a run still written
elsewhere, failed or lost), and every damaged row or file as a note. No torch until the
checkpoint is read (:func:`check_run_dir` is the command line's cheap check).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mnist_tui.errors import UserError
from mnist_tui.insight.layer_records import LayerStatsRecord
from mnist_tui.runfolder.layers_log import read_layer_stats
from mnist_tui.runfolder.layout import (
    BATCHES_NAME,
    CHECKPOINT_NAME,
    LAYERS_NAME,
    METRICS_NAME,
    STEERING_NAME,
    RunStatus,
)
from mnist_tui.runfolder.reader import (
    effective_state,
    holds_run,
    read_batches,
    read_info,
    read_metrics,
    read_rows,
    read_status,
)
from mnist_tui.schema import RecordError
from mnist_tui.training.events import LIVE, BatchEnd, EpochRecord, Steered


@dataclass
class RunRecord:
    """What a run folder holds, read once."""

    run_dir: Path
    history: list[EpochRecord]
    epoch: int  # epochs the model saw (0 without a checkpoint)
    batches: list[BatchEnd] = field(default_factory=list)
    model_state: dict[str, Any] | None = field(default=None, repr=False)
    saved_config: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    batch_log: bool = False  # the folder has a batch log (format 2)
    trained_with: tuple[str, str] = ("", "")  # run.json's device and precision ("" when not recorded)
    layers: list[LayerStatsRecord] = field(default_factory=list)
    steering: list[Steered] = field(default_factory=list)
    writer_state: str | None = None  # status.json's state, as its writer left it (None: no status)
    end_detail: str = ""  # a failed or lost writer's: said with the run's end state, not as a note
    sizes: dict[str, int] = field(default_factory=dict)  # run.json's train/test sizes, batches per epoch
    world_size: int = 1  # processes that trained it (torchrun)
    written_dataset: str = ""  # run.json's name for the data ("MNIST"), for a run without epochs
    status_epochs: int = 0  # status.json's plan: steered or resumed longer than the checkpoint's

    @property
    def epochs_done(self) -> int:  # the last row's epoch, as a follower counts (of rows 1 and 7, "2" where it said 7)
        return self.history[-1].epoch if self.history else 0

    @property
    def dataset_name(self) -> str | None:
        return self.history[-1].dataset if self.history else (self.written_dataset or None)


def check_run_dir(run_dir: Path, option: str = "--replay") -> Path:
    """Cheap checks for the command line (no torch): a folder holding a run."""
    run_dir = Path(run_dir)
    try:
        if not run_dir.is_dir():
            raise UserError(f"{option} {run_dir}: no such run folder")
        if not holds_run(run_dir):
            from mnist_tui.runfolder.places import check_not_a_workspace

            check_not_a_workspace(run_dir, option)  # a folder of runs: name one, or --runs (as --follow says)
            raise UserError(f"{option} {run_dir}: no run.json, metrics.jsonl or checkpoint.pt there, nothing to show")
    except OSError as exc:
        raise UserError(f"{option} {run_dir}: {exc.strerror or exc}") from None
    return run_dir


def _read_logs(record: RunRecord) -> None:
    """The layer statistics and the steering log, each damaged row counted in a note as for the metrics."""
    try:
        layers = read_layer_stats(record.run_dir)
        record.layers = layers.records
        record.notes += [n for n in [layers.skipped_note(LAYERS_NAME)] if n]
    except UserError as exc:  # a folder or a FIFO in a log's place: the curves still replay
        record.notes.append(f"not used: {exc}")
    try:  # apart: one log's trouble costs the other nothing
        steering = read_rows(record.run_dir / STEERING_NAME, Steered.from_json)
        record.steering = steering.records
        record.notes += [n for n in [steering.skipped_note(STEERING_NAME)] if n]
    except UserError as exc:
        record.notes.append(f"not used: {exc}")


def readable_status(run_dir: Path) -> RunStatus | None:
    """status.json, or None where it is absent or damaged (a replay shows the run without it)."""
    try:
        return read_status(run_dir)
    except (RecordError, UserError):
        return None


def writer_state(run_dir: Path, status: RunStatus | None) -> tuple[str | None, str | None]:
    """(state, note) from ``status``: a note when another process still writes the run (a replay
    shows it so far) or when it ended failed or lost (a replay alone called it stopped)."""
    state = effective_state(status, time.time()) if status is not None else None
    if state == "failed":
        return state, status.message or "no reason was recorded"
    if state == "lost":
        return state, "the run's writer stopped without a word (killed or crashed): it was lost, not stopped"
    if state in LIVE:
        return state, f"this run is still being written ({state}); --follow {run_dir} shows it live"
    return state, None


def load_run(run_dir: Path) -> RunRecord:
    """Read a run folder; a missing or broken checkpoint leaves a metrics-only record."""
    from mnist_tui.training.checkpoint import CheckpointError, evaluated_weights, load_checkpoint

    run_dir = check_run_dir(run_dir)
    metrics = read_metrics(run_dir)
    batches = read_batches(run_dir)
    record = RunRecord(run_dir, metrics.records, 0, batches.records, batch_log=(run_dir / BATCHES_NAME).exists())
    record.notes += [n for n in (metrics.skipped_note(METRICS_NAME), batches.skipped_note(BATCHES_NAME)) if n]
    status = readable_status(run_dir)
    record.writer_state, note = writer_state(run_dir, status)
    record.status_epochs = status.epochs if status is not None else 0
    if record.writer_state in ("failed", "lost"):
        record.end_detail = note or ""
    elif note:
        record.notes.append(note)
    _read_logs(record)
    try:
        info = read_info(run_dir)
        record.saved_config = info.config if info is not None else None
        record.trained_with = (info.device, info.precision) if info is not None else ("", "")
        record.world_size = info.world_size if info is not None else 1
        record.written_dataset = info.dataset if info is not None else ""
        if info is not None and info.train_size:  # the writer's own account, for a replay without digits
            record.sizes = dict(
                train_size=info.train_size, test_size=info.test_size, batches_per_epoch=info.batches_per_epoch
            )
    except (RecordError, UserError) as exc:
        record.notes.append(f"run.json not used: {exc}")
    refused = None
    if (run_dir / CHECKPOINT_NAME).exists():
        try:
            state = load_checkpoint(run_dir)
            record.epoch = int(state["epoch"])
            record.model_state = evaluated_weights(state)
            record.saved_config = state.get("config") or record.saved_config
            from mnist_tui.training.resume import history_from_checkpoint

            saved_history = history_from_checkpoint(state.get("history", []))
            if len(saved_history) > len(record.history):  # killed between the checkpoint and the metrics
                record.history = saved_history
        except (CheckpointError, KeyError, TypeError, ValueError) as exc:
            record.notes.append(f"checkpoint not used: {exc}")
            refused = str(exc) if isinstance(exc, CheckpointError) else f"{CHECKPOINT_NAME} was refused: {exc}"
    else:
        record.notes.append("no checkpoint in this folder: curves only (no model to predict with)")
    done = record.epochs_done or record.epoch
    # A failed run's last epoch is what it failed in: a diverging curve is what its replay is for
    # (one that failed in epoch 1 was refused, its 50 recorded losses never shown). Another
    # unfinished epoch's batches are not kept, as a resume does not keep them.
    failed = record.writer_state == "failed"
    shown = done + 1 if failed else done
    record.batches = [b for b in record.batches if b.epoch <= shown]
    # nor its steering (a stopped epoch's change set "× 2 (steered)" where all kept trained at × 4),
    # nor a layers row written before a checkpoint a kill never wrote
    record.steering = [change for change in record.steering if change.epoch <= shown]
    record.layers = [row for row in record.layers if row.epoch <= shown]
    if not record.history and record.model_state is None and not (failed and record.batches):
        if record.writer_state in LIVE:
            raise UserError(f"--replay {run_dir}: no epoch has finished yet; --follow {run_dir} shows it live")
        if failed:  # its own reason, which "no finished epoch" left unsaid
            raise UserError(f"--replay {run_dir}: the run failed before an epoch finished: {record.end_detail}")
        if record.notes and metrics.skipped:
            raise UserError(f"--replay {run_dir}: nothing to show: {record.notes[0]}")
        if refused is not None:  # say why the checkpoint did not count, not that there is none
            raise UserError(f"--replay {run_dir}: no finished epoch in {METRICS_NAME}, and {refused}")
        raise UserError(
            f"--replay {run_dir}: no finished epoch in {METRICS_NAME} or {CHECKPOINT_NAME}, nothing to replay"
        )
    if metrics.torn and record.writer_state not in LIVE:  # a write in progress only while a writer lives
        whole = "; the checkpoint's rows are shown" if len(record.history) > len(metrics.records) else ""
        record.notes.append(f"{METRICS_NAME}: its last line is torn{whole}")  # said by a follower, not here
    if status is not None and (cut := status.cut_note(len(record.history))):  # a torn last row went unsaid
        record.notes.append(f"{cut} (cut or removed): shown as far as they go")
    record.notes += [n for n in [status and status.epochs_note([r.epoch for r in metrics.records])] if n]
    return record
