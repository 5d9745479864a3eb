"""``--runs DIR --export FILE.csv|FILE.json``: one row per run per epoch, the run's name and
settings as columns, then every field of its :class:`EpochRecord` (the ``metrics.jsonl`` row).

JSON is a list of those rows (objects); CSV has one header line. A run without epochs still
gets one row (its epoch fields empty), so a run that failed early is not silently missing.
Broken folders are left out, each with its reason, in the returned :class:`ExportResult`.

Nothing saved is overwritten: the export goes to a new file (an existing one is refused), never
into a run folder (``run.json`` there is the run's own, and any other file would be taken for
one of the run's) and never under the name ``run.json`` (its folder would look like a broken
run). An export with no run to write is refused too: it is almost surely the wrong folder, and
an empty file would look like a result.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime as dt
import io
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnist_tui.errors import UserError
from mnist_tui.files import shown
from mnist_tui.runfolder.atomic import write_text_atomically
from mnist_tui.runfolder.layout import INFO_NAME
from mnist_tui.runfolder.reader import holds_run
from mnist_tui.training.events import EpochRecord
from mnist_tui.workspace.index import SETTINGS, RunIndex, RunSummary, summaries_of
from mnist_tui.workspace.tensorboard_events import TensorBoardListener, require_tensorboardx
from mnist_tui.workspace.tensorboard_export import export_tensorboard

RUN_FIELDS = ("run", "state", *SETTINGS, "epochs_planned")
EPOCH_FIELDS = tuple(f.name for f in dataclasses.fields(EpochRecord))
# The settings' dataset/device/world_size are the run's; an epoch row's own are kept as epoch_*.
FIELDS = RUN_FIELDS + tuple(f"epoch_{n}" if n in RUN_FIELDS else n for n in EPOCH_FIELDS)
FORMATS = (".csv", ".json")


def export_path(root: Path, now: dt.datetime | None = None) -> Path:
    """``runs/`` → ``runs-20260101-120000.csv`` beside it (never inside: it would be no run);
    ``runs-20260101-120000-2.csv`` … when that name is taken (two exports in one second)."""
    root = Path(root).resolve()
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    path = root.parent / f"{root.name}-{stamp}.csv"
    number = 1
    while os.path.lexists(path):
        number += 1
        path = root.parent / f"{root.name}-{stamp}-{number}.csv"
    return path


__all__ = ["export_runs", "export_workspace", "export_tensorboard", "TensorBoardListener", "require_tensorboardx"]


@dataclass(frozen=True)
class ExportResult:
    path: Path
    runs: int
    rows: int
    left_out: tuple[tuple[str, str], ...] = ()  # (name, why) of each broken folder left out
    noted: tuple[tuple[str, str], ...] = ()  # (name, note) of each run exported with gaps (rows skipped)

    @property
    def skipped(self) -> tuple[str, ...]:
        """The names of the broken folders left out."""
        return tuple(name for name, _ in self.left_out)


def export_rows(
    summaries: Iterable[RunSummary], index: RunIndex | None = None
) -> tuple[list[dict[str, Any]], list[tuple[str, str]], list[tuple[str, str]]]:
    """The rows (in the summaries' order), the broken runs left out and the runs exported with
    gaps (damaged rows skipped), (name, why) each."""
    rows: list[dict[str, Any]] = []
    left_out, noted = [], []
    for summary in summaries:
        if summary.problem:
            left_out.append((summary.name, summary.problem))
            continue
        if summary.note:
            noted.append((summary.name, summary.note))
        history = (index or RunIndex(summary.path)).history(summary.path)
        run = {"run": summary.name, "state": summary.state, **summary.settings}
        run["epochs_planned"] = summary.epochs_length  # sprint's 2.5, as its replay says
        if not history:
            rows.append(run | dict.fromkeys(FIELDS[len(RUN_FIELDS) :]))
        for record in history:
            epoch = {(f"epoch_{k}" if k in RUN_FIELDS else k): v for k, v in record.to_json().items()}
            rows.append(run | epoch)
    return rows, left_out, noted


class ExportTaken(UserError):
    """The export's file exists (or appeared while the runs were read, or before the write)."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"--export {shown(path)}: it already exists; choose another name or remove it")


def _cell(value: Any) -> Any:
    """A CSV cell: blank for none, a list (an epoch's ``inner_evals``) as its JSON text."""
    if value is None:
        return ""
    return json.dumps(value) if isinstance(value, list) else value


def check_export_path(path: Path) -> None:
    """A new .csv or .json file outside every run folder, or one :class:`UserError` line."""
    option = f"--export {shown(path)}"
    if path.suffix.lower() not in FORMATS:
        raise UserError(f"{option}: the file must end in .csv or .json")
    folder = path.parent
    try:
        in_run = holds_run(folder)
    except OSError:  # a folder that cannot be searched: writing will say why, in one line
        in_run = False
    if in_run:
        raise UserError(f"{option}: {shown(folder)} is a run folder; write the export outside it")
    if os.path.lexists(path):
        raise ExportTaken(path)
    if path.name == INFO_NAME:
        raise UserError(f"{option}: {INFO_NAME} is a run folder's own file name; choose another name")


def nothing_to_export(left_out: list[tuple[str, str]], where: str = "") -> UserError:
    """No run to write: one line, with the first broken folder's reason when there are some."""
    if not left_out:
        return UserError(f"no runs{where}: nothing to export")
    name, why = left_out[0]
    more = f" (and {len(left_out) - 1} more)" if len(left_out) > 1 else ""
    return UserError(f"no readable runs{where}: nothing to export; left out {name}: {why}{more}")


def export_runs(
    items: Iterable[RunSummary | Path | str], path: Path | str, index: RunIndex | None = None
) -> ExportResult:
    """Write CSV or JSON (told by the suffix) atomically into a new file; a bad or taken path,
    or nothing to write, is a :class:`UserError` (and nothing is written)."""
    path = Path(path)
    check_export_path(path)
    rows, left_out, noted = export_rows(summaries_of(items), index)
    if not rows:
        raise nothing_to_export(left_out)
    if path.suffix.lower() == ".json":
        text = json.dumps(rows, indent=1) + "\n"
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: _cell(v) for k, v in row.items()} for row in rows)
        text = buffer.getvalue()
    check_export_path(path)  # once more: reading many runs takes a while
    try:
        write_text_atomically(path, text, new=True)
    except FileExistsError:  # written meanwhile (another export): never replaced
        raise ExportTaken(path) from None
    except OSError as exc:
        raise UserError(f"--export {shown(path)}: cannot write it: {exc.strerror or exc}") from None
    runs = len({row["run"] for row in rows})
    return ExportResult(path, runs, len(rows), tuple(left_out), tuple(noted))


def export_beside(runs: list[RunSummary], root: Path, index: RunIndex | None = None) -> ExportResult:
    """``runs`` to a new file beside ``root`` (:func:`export_path`), taking the next name where
    another export took this one meanwhile: E twice in a second said "exported … to X" twice."""
    for _ in range(100):
        with contextlib.suppress(ExportTaken):
            return export_runs(runs, export_path(root), index)
    raise UserError(f"no free export name beside {shown(root)}")


def export_workspace(root: Path | str, path: Path | str) -> ExportResult:
    """Every run under ``root`` (the command line's ``--runs DIR --export FILE``); no run folder
    under it, or none that can be read, is a :class:`UserError` (an empty export is almost
    surely the wrong folder)."""
    check_export_path(Path(path))
    index = RunIndex(Path(root))
    summaries = index.scan()
    if all(summary.problem for summary in summaries):
        raise nothing_to_export([(s.name, s.problem) for s in summaries], f" under {root}")
    return export_runs(summaries, path, index)
