"""Errors that reach the user as one clear line (the CLI turns them into exit code 2)."""

import contextlib
import os
import tempfile
import traceback


class UserError(Exception):
    """Bad input from the user: an option, a file, a folder. The message is the whole story."""


class DataError(UserError):
    """The data set could not be read or had the wrong shape."""


class DataUnavailable(DataError):
    """MNIST is neither on disk nor downloadable (offline)."""


class GraphCaptureFailed(RuntimeError):
    """The step could not be captured or its first replay failed. The run stops with this one
    line rather than train on eagerly: after a failed capture torch 2.11 left the CUDA generator
    in capture mode, and the next eager dropout failed ("Offset increment outside graph capture")."""


class TrainingDiverged(RuntimeError):
    """The loss stopped being a finite number (NaN or infinity): training cannot go on."""


def one_line(text: str) -> str:
    """A message as one line a terminal shows as written: a path holding a newline or an escape
    sequence (``--replay $'no\\nsuch'``) split the error in two, or coloured the terminal."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def told(exc: BaseException) -> str:
    """An exception as the user reads it: a user's or the OS's own words; else with its type
    (a bare "0" from a KeyError says nothing)."""
    return str(exc) if isinstance(exc, (UserError, OSError)) else f"{type(exc).__name__}: {exc}"


def crash_line(what: str, error: BaseException) -> str:
    """An internal error as one line (its type, its words, where it was raised), with the whole
    traceback written to a file the line names: a screenful of locals hid the one line that mattered."""
    where = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
    place = f" at {os.path.basename(where.filename)}:{where.lineno}" if where else ""
    line = f"{what} failed: {type(error).__name__}: {error}{place}"
    with contextlib.suppress(OSError):
        fd, path = tempfile.mkstemp(prefix="mnist-tui-crash-", suffix=".txt")
        with os.fdopen(fd, "w") as f:
            f.write("".join(traceback.format_exception(error)))
        line += f" (traceback in {path})"
    return line
