"""The workspace's look at folder entries: each probe answers, where the file system refuses,
with what the index can list (a broken row, an absent file) instead of an OSError that ended the
whole scan."""

from __future__ import annotations

import os
from pathlib import Path

from mnist_tui.files import change_stamp

Stamp = tuple[int, int, int, int] | None  # files.change_stamp, None when absent
UNREADABLE: Stamp = (-1, -1, -1, -1)  # there, but stat fails (a symlink loop): read, to say why


def stamp_of(entry: os.DirEntry | None) -> Stamp:
    if entry is None:
        return None
    try:
        info = entry.stat()
    except FileNotFoundError:  # a dangling link, or deleted since it was listed: absent
        return None
    except OSError:
        return UNREADABLE
    return change_stamp(info)


def marks_a_run(entry: os.DirEntry) -> bool:
    """A marker file, or one that cannot be looked at (a symlink loop named run.json): listed as a
    broken row with its reason, where its OSError had ended the whole scan and export."""
    try:
        return entry.is_file()
    except OSError:
        return True


def is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None
