"""Kill and hang-up before a face has its own handlers: the command ends as Ctrl-C ends it."""

from __future__ import annotations

import signal
import threading
from typing import Any


class StoppedEarly(KeyboardInterrupt):
    """SIGTERM or SIGHUP while torch loads or the folder is claimed, as Ctrl-C is: the process died
    there without a word, leaving a new run folder holding only its .lock."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def stop_early_on_signals() -> dict[int, Any]:
    """Until a face installs its own (headless: StopOnSignal), kill and hang-up end the command
    the way Ctrl-C does; returns the handlers they replaced."""

    def stop(signum: int, frame: object) -> None:
        raise StoppedEarly(signum)

    if threading.current_thread() is not threading.main_thread():
        return {}
    names = ("SIGTERM", "SIGHUP")
    return {sig: signal.signal(sig, stop) for sig in (getattr(signal, n) for n in names if hasattr(signal, n))}


def restore_signals(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)
