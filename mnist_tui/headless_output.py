"""Where the headless face writes: a console whose closed pipe is ours to handle, the live
progress display stopped cleanly, and output dropped once nobody reads it."""

from __future__ import annotations

import contextlib
import os
import sys

from rich.console import Console
from rich.progress import Progress


class PipeConsole(Console):
    """Rich's console, but a closed pipe is the caller's to handle: Rich's own answer is
    ``SystemExit(1)`` from inside the trainer's listener, which ended the run as a failure with
    no word and left its folder saying "training"."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError


def stop_live(progress: Progress | None) -> None:
    if progress is not None and progress.live.is_started:  # stopping one never started prints a stray blank line
        progress.stop()


def one_terminal(first, second) -> bool:
    """Whether two streams write to one terminal: a line said on the one is read on the other."""
    try:
        a, b = first.fileno(), second.fileno()
        return os.isatty(a) and os.isatty(b) and os.path.samestat(os.fstat(a), os.fstat(b))
    except (AttributeError, OSError, ValueError):  # a StringIO, a closed file
        return False


def drop_output(terminal: bool) -> None:
    """Point stdout (and, for a closed terminal, stderr) at /dev/null: what is still buffered for
    it, and the interpreter's flush at exit, must not raise again ("Exception ignored …")."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr) if terminal else (sys.stdout,):
        with contextlib.suppress(OSError, ValueError):
            os.dup2(devnull, stream.fileno())
    os.close(devnull)
