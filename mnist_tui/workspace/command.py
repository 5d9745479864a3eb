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
    missing tensorboard extra, before anything is written."""
    out = out or sys.stdout
    root = Path(root)
    if tensorboard:
        from mnist_tui.workspace.tensorboard_events import require_tensorboardx

        require_tensorboardx("--export-tensorboard")
    RunIndex(root).find()  # a missing folder fails here, once
    if export is not None:
        result = export_workspace(root, export)
        print(f"wrote {counted(result.rows, 'row')} of {counted(result.runs, 'run')} to {result.path}", file=out)
        for name, why in result.left_out:
            print(f"left out {name}: {why}", file=sys.stderr)
        for name, note in result.noted:  # exported, but without its damaged rows
            print(f"note {name}: {note}", file=sys.stderr)
    if tensorboard:
        from mnist_tui.workspace.tensorboard_events import export_tensorboard

        for converted in export_tensorboard([root]):
            if converted.event_file is not None:
                print(f"{converted.name}: {converted.event_file}", file=out)
            else:
                print(f"{converted.name}: skipped ({converted.skipped})", file=sys.stderr)
        print(f"tensorboard --logdir {root}", file=out)
    return 0
