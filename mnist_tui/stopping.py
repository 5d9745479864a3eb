"""Stopping a headless run by signal: Ctrl-C, kill and a closed terminal stop it at a batch
boundary, keeping the last finished epoch; a second signal exits at once."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from typing import Any

from mnist_tui.sources.base import RunSource
from mnist_tui.training.events import DataReady, StateChanged

# Ctrl-C, kill, and a closed terminal (SIGHUP) all stop at a batch boundary, keeping the last epoch.
_STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class StopOnSignal:
    """A stop signal closes the source (a trainer stops within one batch, a follower stops
    following); a second one exits at once. Before anything is loaded nothing is at stake,
    so the first signal exits at once too. The checkpoint on disk stays whole either way:
    it is only ever replaced atomically."""

    def __init__(self, source: RunSource, quiet: bool = False) -> None:
        self.source = source
        self.quiet = quiet  # torchrun's other ranks: rank 0 alone says what happened
        self.signum: int | None = None
        self.loaded = False  # once the DataReady event came: from then on a signal stops the run
        self.waiting_for = "loading"  # what a signal before then interrupts, as the last state said
        self._previous: dict[int, Any] = {}

    def observe(self, event: object) -> None:
        """Each event the source reports, before the face shows it: what a signal would interrupt."""
        match event:
            case DataReady():
                self.loaded = True
            case StateChanged(state="waiting"):
                self.waiting_for = "waiting for the run"
            case StateChanged(state="loading"):
                self.waiting_for = "loading"

    def __enter__(self) -> StopOnSignal:
        if threading.current_thread() is threading.main_thread():
            for signum in _STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: object) -> None:
        if self.signum is not None or not self.loaded:
            if self.signum is None and not self.quiet:  # the trainer opens its folder once loaded: nothing written
                lost = "; nothing was trained or saved" if self.source.capabilities.save else ""
                with contextlib.suppress(OSError):  # a closed terminal (SIGHUP): its EIO failed the follower
                    print(f"mnist-tui: stopped while {self.waiting_for}{lost}", file=sys.stderr)
            elif not self.quiet and self.source.capabilities.save:  # it exited without a word: os.write, as a
                # print here may land inside the face's own write to the terminal (a reentrant call)
                with contextlib.suppress(OSError):
                    os.write(2, b"\nmnist-tui: stopped at once; the epoch in progress is not kept\n")
            self.signum = signum
            raise SystemExit(128 + signum)
        self.signum = signum
        self.source.close()

    @property
    def exit_code(self) -> int | None:
        return None if self.signum is None else 128 + self.signum
