"""The folders this process made for its runs, and their removal when a run leaves nothing in
them (a dashboard opened and quit, a served page closed, a start that failed): a folder that was
there before is never removed."""

from __future__ import annotations

import contextlib
from pathlib import Path

from mnist_tui.runfolder.names import CONTROL_NAME, EVENTS_GLOB, LOCK_NAME, WRITTEN_FILES
from mnist_tui.runfolder.reader import holds_results

_made: set[Path] = set()  # run folders this process created
_made_above: set[Path] = set()  # the folders it created above them (`--run-dir new/sub/run`)


def remember_made(run_dir: Path) -> None:
    _made.add(Path(run_dir).absolute())


def make_parents(folder: Path) -> None:
    """``folder.mkdir(parents=True, exist_ok=True)``, remembering the folders it made."""
    missing = []
    for path in (folder, *folder.parents):
        if path.exists():
            break
        missing.append(path.absolute())
    folder.mkdir(parents=True, exist_ok=True)
    _made_above.update(missing)


def _remove_made_above(run_dir: Path) -> None:
    """After a run folder this process made went: the empty folders it made above it go too."""
    for parent in Path(run_dir).absolute().parents:
        if parent not in _made_above:
            return
        try:
            parent.rmdir()
        except OSError:  # something else is in it: it stays
            return


def remove_if_unused(run_dir: Path, held_results: bool = True) -> bool:
    """After a run that opened its folder and trained nothing (a dashboard opened and quit, a
    served page closed): its run files go, and the folder too if this process made it and nothing
    else is in it. Never a folder holding results from before this run (``held_results``: False
    where its writer found none, so the epochs a `--resume RUN --run-dir NEW` copied in go too).
    True if the folder went."""
    run_dir = Path(run_dir)
    with contextlib.suppress(OSError):
        if held_results and holds_results(run_dir):
            return False
        written = [run_dir / name for name in (*WRITTEN_FILES, CONTROL_NAME, LOCK_NAME)]
        for path in [*written, *run_dir.glob(EVENTS_GLOB)]:  # --tensorboard's too
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        if run_dir.absolute() not in _made:  # a folder that was there before stays, as it was
            return False
        run_dir.rmdir()  # refused, and kept, if anything else is in it
        _remove_made_above(run_dir)
        return True
    return False


def remove_unopened(run_dir: Path) -> bool:
    """After a run that failed before it opened its folder (no data, a bad checkpoint): a folder
    this process made for it goes, with the lock file put there, if nothing else is in it (a
    failed start had left a new folder holding only ``.lock``). A folder that was there stays as
    it was. True if the folder went."""
    run_dir = Path(run_dir)
    if run_dir.absolute() not in _made:
        return False
    with contextlib.suppress(OSError):
        if any(path.name != LOCK_NAME for path in run_dir.iterdir()):
            return False
        (run_dir / LOCK_NAME).unlink(missing_ok=True)
        run_dir.rmdir()
        _remove_made_above(run_dir)
        return True
    return False


def remove_every_unopened() -> None:
    """At the end of the process: every folder it made that no run opened (a served page closed
    while its session still started up quit before its trainer ran, and left an empty folder)."""
    for run_dir in sorted(_made, reverse=True):
        remove_unopened(run_dir)
