"""The folder given to ``--replay`` or ``--follow``, checked before any face opens (no torch, no
Textual): what cannot be shown is one line and exit 2, the same for the dashboard and --headless."""

from __future__ import annotations

from pathlib import Path

from mnist_tui.errors import UserError
from mnist_tui.files import shown, unreadable_file
from mnist_tui.runfolder.layout import METRICS_NAME


def check_watched(replay: Path | None, follow: Path | None) -> None:
    """Refuse a replay or follow of a folder that holds no run, or whose metrics cannot be read."""
    if replay is not None:
        from mnist_tui.sources.run_record import check_run_dir  # and numpy: only a replay's first frame waits for it

        check_run_dir(replay, "--replay")
        check_metrics_readable(replay, "--replay")
    elif follow is not None and follow.exists() and not follow.is_dir():
        raise UserError(f"--follow {follow}: not a folder")
    elif follow is not None:
        from mnist_tui.runfolder.places import check_not_a_workspace

        check_not_a_workspace(follow, "--follow")  # it waited forever for a run to start there
        check_metrics_readable(follow, "--follow")


def check_metrics_readable(run_dir: Path, option: str) -> None:
    """A metrics.jsonl that is there and cannot be read (a folder, a FIFO in its place) leaves
    nothing to show: the folder is unreadable to us. Opened, the dashboard called the run "failed"
    (a replay's and a follower's reading error became the run's failure), which it is not."""
    why = unreadable_file(Path(run_dir) / METRICS_NAME)
    if why is not None:
        raise UserError(f"{option} {shown(run_dir)}: its {METRICS_NAME} cannot be read ({why})")
