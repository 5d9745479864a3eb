"""``--runs DIR --export-tensorboard``: finished run folders converted to TensorBoard event files
(:class:`~mnist_tui.workspace.tensorboard_events.EventLog`'s tags, the recorded wall times)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mnist_tui.errors import UserError, told
from mnist_tui.files import os_reason, shown
from mnist_tui.runfolder.names import EVENTS_GLOB
from mnist_tui.runfolder.reader import read_batches, read_info, read_metrics
from mnist_tui.schema import RecordError
from mnist_tui.training.events import LIVE
from mnist_tui.workspace.index import RunSummary, summaries_of
from mnist_tui.workspace.tensorboard_events import EventLog, require_tensorboardx


@dataclass(frozen=True)
class Converted:
    name: str
    path: Path
    event_file: Path | None = None
    skipped: str = ""  # why the folder was left alone
    note: str = ""  # converted with gaps (damaged rows skipped): the workspace's note, as --export says it


def convert_run(summary: RunSummary) -> Converted:
    """One finished (or stopped, failed, lost) run folder to an event file."""
    if summary.problem:
        return Converted(summary.name, summary.path, skipped=summary.problem)
    if summary.state in LIVE:  # it told a run trained with --tensorboard to train with it
        writes = any(summary.path.glob(EVENTS_GLOB))
        why = "it writes its own events (--tensorboard)" if writes else "export it once it ends"
        return Converted(summary.name, summary.path, skipped=f"still {summary.state}: {why}")
    run_dir = summary.path
    info = None
    with contextlib.suppress(RecordError, UserError):  # unusable: its settings are left out, as the index notes
        info = read_info(run_dir)
    history = read_metrics(run_dir).records
    batches = read_batches(run_dir).records
    settings = dict(info.config) if info is not None else {}
    resolved = ("dataset", "device", "precision", "world_size")
    settings.update({k: getattr(summary, k) for k in resolved if getattr(summary, k)})
    log = None
    try:
        log = EventLog(run_dir, atomic=True)
        log.hparams(settings)
        for report in batches:
            log.batch(report)
        clock = info.first_start if info is not None else (summary.started or time.time())
        # a whole epoch's samples; where run.json is not used, a whole epoch's row says it (or nothing does)
        whole = summary.train_size or max((r.samples or 0 for r in history), default=0) or None
        for record in history:
            clock += record.seconds + record.eval_seconds
            log.epoch(record, whole, walltime=clock)
        done = summary.epochs_planned is None or summary.epochs_done >= summary.epochs_planned
        log.end({"failed": "failure"}.get(summary.state, "success" if done else "unknown"))
        log.close()
    except OSError as exc:  # a full disk: the next run's would fail too, so the export ends here
        if log is not None:
            log.discard()
        where = shown(log.path if log is not None else run_dir)
        raise UserError(f"could not write {where}: {os_reason(exc)} (an earlier event file is kept)") from None
    except Exception as exc:  # this run's values: protobuf's "Value out of range" on a step past int64
        # ended the whole export in a traceback, other runs half done and the temporary file left
        if log is not None:
            log.discard()
        reason = " ".join(told(exc).split())[:200]
        return Converted(
            summary.name, run_dir, skipped=f"its events could not be written: {reason}; any earlier event file is kept"
        )
    return Converted(summary.name, run_dir, log.path, note=summary.note)


def export_tensorboard(items: Iterable[RunSummary | Path | str]) -> list[Converted]:
    """``--runs DIR --export-tensorboard``: run folders (or folders of runs) to event files."""
    require_tensorboardx("--export-tensorboard")
    return [convert_run(summary) for summary in summaries_of(items)]
