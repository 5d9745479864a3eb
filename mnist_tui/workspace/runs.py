"""Starting the next run from an earlier one: its saved settings and a fresh folder (no Textual
here: the workspace and the new-run form use it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from mnist_tui.config import Config, config_from_saved
from mnist_tui.errors import UserError
from mnist_tui.runfolder.layout import CHECKPOINT_NAME
from mnist_tui.runfolder.reader import read_info
from mnist_tui.schema import RecordError
from mnist_tui.training.events import LIVE


def config_of_run(run_dir: Path) -> Config:
    """The run's own settings, validated: run.json's config, else (format 1) the checkpoint's,
    which loads torch. A folder that has neither is a :class:`UserError`."""
    run_dir = Path(run_dir)
    try:
        info = read_info(run_dir)
    except RecordError as exc:
        raise UserError(f"{run_dir}: {exc}") from None
    if info is not None:
        return config_from_saved(info.config, f"{run_dir / 'run.json'}")
    if (run_dir / CHECKPOINT_NAME).is_file():
        from mnist_tui.training.checkpoint import load_checkpoint

        return config_from_saved(load_checkpoint(run_dir)["config"], f"{run_dir / CHECKPOINT_NAME}")
    raise UserError(f"{run_dir} keeps no settings (no run.json or checkpoint.pt)")


def new_run_base(run_dir: Path, make_config: Callable[[dict | None], Config]) -> Config:
    """The settings a new run from ``run_dir`` starts with: every one of the run's own (its data
    folder, train limit, device …: the form shows only some), under the recipe and options given
    on this command line (``make_config`` is ``cli.build_config``'s rule; a run opened to be
    replayed or followed takes none of them)."""
    return make_config(config_of_run(run_dir).to_dict())


def new_run_dir(parent: Path, now: dt.datetime | None = None) -> Path:
    """``parent/<YYYYmmdd-HHMMSS>``, the command line's default name (``rundir.claim_run_dir``
    then claims it, picking ``-2``, ``-3`` … when taken)."""
    return Path(parent) / (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")


def opens_as(state: str) -> str:
    """``"follow"`` for a run whose writer is alive, ``"replay"`` for one that ended (finished,
    stopped, failed, lost) or whose state cannot be told (format 1)."""
    return "follow" if state in LIVE else "replay"


def nothing_to_open(summary) -> str:
    """Why a run that ended keeps nothing to replay, or "": one stopped or killed in its first
    epoch (its dashboard said "failed" and "The run failed" of a run that had not). One that
    failed in its first epoch shows the batches it failed in."""
    if summary.state in ("stopped", "lost") and summary.epochs_done == 0:
        return f"no finished epoch to replay (it was {summary.state} in its first epoch)"
    return ""
