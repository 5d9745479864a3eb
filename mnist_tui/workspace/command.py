"""``mnist-tui --runs DIR --export FILE`` and ``--export-tensorboard``: without the UI, one line
per result on stdout, problems on stderr; the command line returns what :func:`run_exports` returns."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from mnist_tui.words import counted
from mnist_tui.workspace.export import export_workspace
from mnist_tui.workspace.index import RunIndex


def run_exports(root: Path, export: Path | None = None, tensorboard: bool = False, out: TextIO | None = None) -> int:
    """Export every run under ``root``; 0 when done. Raises ``UserError`` (exit 2) for a missing
    folder, a bad or taken export path, a folder without a readable run (``--export``) or a
    missing tensorboard extra, before anything is written; ``--export-tensorboard`` that converts
    no run (an empty folder, only broken or live runs) is refused the same way."""
    out = out or sys.stdout
    root = Path(root)
    if tensorboard:
        from mnist_tui.workspace.tensorboard_events import require_tensorboardx

        require_tensorboardx("--export-tensorboard")
    RunIndex(root).find()  # a missing folder fails here, once
    told: set[tuple[str, str]] = set()  # both exports at once: each note said once
    if export is not None:
        result = export_workspace(root, export)
        print(f"wrote {counted(result.rows, 'row')} of {counted(result.runs, 'run')} to {result.path}", file=out)
        for name, why in result.left_out:
            print(f"left out {name}: {why}", file=sys.stderr)
        say_notes(result.noted, told)
    if tensorboard:
        from mnist_tui.workspace.export import nothing_to_export
        from mnist_tui.workspace.tensorboard_export import export_tensorboard

        converted = export_tensorboard([root])
        skipped = [(run.name, run.skipped) for run in converted if run.event_file is None]
        if len(skipped) == len(converted):  # as --export: one line and exit 2, no "tensorboard --logdir"
            raise nothing_to_export(skipped, f" under {root}")
        for run in converted:
            if run.event_file is not None:
                print(f"{run.name}: {run.event_file}", file=out)
        for name, why in skipped:
            print(f"{name}: skipped ({why})", file=sys.stderr)
        say_notes([(run.name, run.note) for run in converted if run.event_file is not None and run.note], told)
        print(f"tensorboard --logdir {root}", file=out)
    return 0


def say_notes(noted: list[tuple[str, str]] | tuple[tuple[str, str], ...], told: set[tuple[str, str]]) -> None:
    """``note RUN: …`` on stderr for each run exported with gaps (damaged rows skipped), not yet in
    ``told``: --export-tensorboard skipped them silently where --export named them."""
    for name, note in noted:
        if (name, note) not in told:
            told.add((name, note))
            print(f"note {name}: {note}", file=sys.stderr)
