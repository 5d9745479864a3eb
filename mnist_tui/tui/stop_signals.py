"""The signals that quit the app like q, and the end of the process after a closed terminal.

SIGTERM, SIGHUP (a closed terminal) and SIGINT quit like q: the run stops within a batch, the
terminal is restored, finished epochs stay saved. Exit codes match the headless run.

After SIGHUP the process ends even where Textual's shutdown hangs.
Textual's output thread dies at the first write that fails, and a terminal that has gone fails
every write (EIO). Its shutdown then hands that dead thread its last writes through a bounded
queue that nothing drains, and waits for ever (Textualize/textual#6692 is the same hang after a
failed ``suspend``). Seen 2 times in 9 tmux sessions killed mid-run: status.json said "stopped",
the process stayed, idle, holding the run folder's lock, and ``--resume`` was refused as "in use
by another mnist-tui process". Once every source has stopped (its epochs saved), Textual gets a
few seconds to close as usual; after that the process ends with the signal's exit code.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
from collections.abc import Callable

STOP_SIGNALS = {signal.SIGTERM: 143, signal.SIGHUP: 129, signal.SIGINT: 130}
GRACE_S = 5.0  # Textual's own shutdown takes well under a second


def watch(on_signal: Callable[[int], None]) -> None:
    """``on_signal(exit code)`` on the running loop for each stop signal (where the loop can)."""
    loop = asyncio.get_running_loop()
    for signum, code in STOP_SIGNALS.items():
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, on_signal, code)


def unwatch() -> None:
    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(signum)


def is_hangup(code: int) -> bool:
    return code == STOP_SIGNALS[signal.SIGHUP]


def end_after_hangup(code: int, wait_for_sources: Callable[[], None], grace_s: float = GRACE_S) -> threading.Thread:
    """A daemon thread that waits for the sources, then ``grace_s``, then ends the process."""

    def end() -> None:
        wait_for_sources()
        threading.Event().wait(grace_s)  # a process that closed as usual is gone by now
        _end_process(code)

    thread = threading.Thread(target=end, name="mnist-tui-hangup", daemon=True)
    thread.start()
    return thread


def _end_process(code: int) -> None:
    os._exit(code)  # every file is written and fsync'd; the lock goes with the process
