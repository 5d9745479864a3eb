"""``--runs DIR --export FILE.csv|FILE.json``: one row per run per epoch, the run's name and
settings as columns, then every field of its :class:`EpochRecord` (the ``metrics.jsonl`` row).

JSON is a list of those rows (objects); CSV has one header line. A run without epochs still
gets one row (its epoch fields empty), so a run that failed early is not silently missing.
Broken folders are left out and counted in the returned :class:`ExportResult`.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnist_tui.errors import UserError
from mnist_tui.runfolder.atomic import write_text_atomically
from mnist_tui.training.events import EpochRecord
from mnist_tui.workspace.index import SETTINGS, RunIndex, RunSummary, summaries_of
from mnist_tui.workspace.tensorboard_events import TensorBoardListener, export_tensorboard, require_tensorboardx

RUN_FIELDS = ("run", "state", *SETTINGS, "epochs_planned")
EPOCH_FIELDS = tuple(f.name for f in dataclasses.fields(EpochRecord))
# The settings' dataset/device/world_size are the run's; an epoch row's own are kept as epoch_*.
FIELDS = RUN_FIELDS + tuple(f"epoch_{n}" if n in RUN_FIELDS else n for n in EPOCH_FIELDS)
FORMATS = (".csv", ".json")


def export_path(root: Path, now: dt.datetime | None = None) -> Path:
    """``runs/`` → ``runs-20260101-120000.csv`` beside it (never inside: it would be no run)."""
    root = Path(root).resolve()
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    return root.parent / f"{root.name}-{stamp}.csv"


__all__ = ["export_runs", "export_workspace", "export_tensorboard", "TensorBoardListener", "require_tensorboardx"]


@dataclass(frozen=True)
class ExportResult:
    path: Path
    runs: int
    rows: int
    skipped: tuple[str, ...] = ()  # names of broken folders left out


def export_rows(summaries: Iterable[RunSummary], index: RunIndex | None = None) -> tuple[list[dict[str, Any]], list]:
    """The rows (in the summaries' order) and the names of the broken runs left out."""
    rows: list[dict[str, Any]] = []
    skipped = []
    for summary in summaries:
        if summary.problem:
            skipped.append(summary.name)
            continue
        history = (index or RunIndex(summary.path)).history(summary.path)
        run = {"run": summary.name, "state": summary.state, **summary.settings}
        run["epochs_planned"] = summary.epochs_planned
        if not history:
            rows.append(run | dict.fromkeys(FIELDS[len(RUN_FIELDS) :]))
        for record in history:
            epoch = {(f"epoch_{k}" if k in RUN_FIELDS else k): v for k, v in record.to_json().items()}
            rows.append(run | epoch)
    return rows, skipped


def export_runs(
    items: Iterable[RunSummary | Path | str], path: Path | str, index: RunIndex | None = None
) -> ExportResult:
    """Write CSV or JSON (told by the suffix) atomically; a bad path is a :class:`UserError`."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise UserError(f"--export {path}: the file must end in .csv or .json")
    rows, skipped = export_rows(summaries_of(items), index)
    if suffix == ".json":
        text = json.dumps(rows, indent=1) + "\n"
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows)
        text = buffer.getvalue()
    try:
        write_text_atomically(path, text)
    except OSError as exc:
        raise UserError(f"--export {path}: cannot write it: {exc.strerror or exc}") from None
    runs = len({row["run"] for row in rows})
    return ExportResult(path, runs, len(rows), tuple(skipped))


def export_workspace(root: Path | str, path: Path | str) -> ExportResult:
    """Every run under ``root`` (the command line's ``--runs DIR --export FILE``)."""
    index = RunIndex(Path(root))
    return export_runs(index.scan(), path, index)
