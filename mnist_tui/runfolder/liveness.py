"""Whether a run's writer is still there where its ``status.json`` cannot say (absent, damaged, a
folder in its place), so without its pid and heartbeat (no torch, no Textual).

The writer holds the folder's ``.lock`` (``flock``) for as long as it lives and rewrites
``status.json`` every second: a folder whose lock no process holds and where nothing was written
for a while has no writer. A follower of such a folder waited for one for good.
"""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

from mnist_tui.runfolder.layout import STALE_REMOTE_S, STALE_S
from mnist_tui.runfolder.names import LOCK_NAME, WRITTEN_FILES


def lock_held(run_dir: Path) -> bool | None:
    """True while a process holds the folder's ``.lock``; False when none does (or there is none,
    or it is no file: no writer can hold it, the writer refuses such a folder); None where it
    cannot be told (no advisory locks, a lock file that cannot be opened).

    The probe takes a shared lock for a moment and never waits: a writer starting in that moment
    would be refused as if another were there (it says so, and writes nothing), so
    :func:`writer_gone` asks only about a folder nothing has been written to for a while."""
    try:
        import fcntl
    except ImportError:  # Windows
        return None
    try:  # read-only and non-blocking: never create it, never hang on a FIFO
        fd = os.open(Path(run_dir) / LOCK_NAME, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False  # closing the file below lets go of it
    except BlockingIOError:
        return True
    except OSError:  # ENOLCK, EOPNOTSUPP: a file system without locks
        return None
    finally:
        os.close(fd)


def last_written(run_dir: Path) -> float:
    """The newest modification time (Unix seconds) of the files a writer writes; 0 when none is there."""
    times = [0.0]
    for name in WRITTEN_FILES:
        try:
            times.append(os.stat(Path(run_dir) / name).st_mtime)
        except OSError:
            continue
    return max(times)


def writer_gone(run_dir: Path, host: str, now: float) -> bool:
    """True once the folder surely has no writer, judged without its status: no process holds its
    lock and nothing was written for ``STALE_S`` (a live writer rewrites status.json every second).
    A writer on another host (``run.json``'s ``host``), whose lock a shared file system may not
    show here, or a lock that cannot be checked: nothing written for ``STALE_REMOTE_S``."""
    quiet = now - last_written(run_dir)
    if quiet <= STALE_S:  # before the lock: its probe is taken only where no writer has written
        return False
    held = lock_held(run_dir)
    if held:
        return False
    here = held is False and (not host or host == socket.gethostname())
    return quiet > (STALE_S if here else STALE_REMOTE_S)
