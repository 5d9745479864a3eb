"""Where runs are: which of some folders holds a run, and whether a folder holds runs below it.

Kept free of torch, like ``rundir``: the command line asks before the heavy imports.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path

from mnist_tui.errors import UserError
from mnist_tui.files import shown
from mnist_tui.runfolder.names import INFO_NAME


def first_run_folder(folders: Iterable[Path]) -> Path | None:
    """The first of ``folders`` that holds a run (its run.json), or None."""
    for folder in folders:
        with contextlib.suppress(OSError):
            if (folder / INFO_NAME).is_file():
                return folder
    return None


def check_not_a_workspace(folder: Path, option: str) -> None:
    """A folder that holds runs and is none itself (``--follow runs``) is refused with one line."""
    folder = Path(folder)
    with contextlib.suppress(OSError):
        if (folder / INFO_NAME).is_file() or not folder.is_dir():
            return
        inner = a_run_inside(folder.resolve())
        if inner is not None:
            raise UserError(
                f"{option} {shown(folder)} holds runs ({shown(inner)}) and is not one: give one of them, "
                f"or open them all with --runs {shown(folder)}"
            )


def a_run_inside(folder: Path, depth: int = 2, budget: int = 2000) -> Path | None:
    """A run folder within ``depth`` levels under ``folder``, or None (at most ``budget`` entries looked at)."""
    level = [folder]
    for _ in range(depth):
        below = []
        for parent in level:
            with contextlib.suppress(OSError):
                for entry in parent.iterdir():
                    budget -= 1
                    if budget < 0:
                        return None
                    if entry.is_dir() and not entry.is_symlink():
                        if (entry / INFO_NAME).is_file():
                            return entry
                        below.append(entry)
        level = below
    return None


def same_folder(a: Path, b: Path | None) -> bool:
    if b is None:
        return False
    with contextlib.suppress(OSError):
        return Path(a).resolve() == Path(b).resolve()
    return False
