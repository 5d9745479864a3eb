"""A small thread-safe control the training loop obeys: pause, resume, stop."""

from __future__ import annotations

import threading


class TrainingControl:
    """Shared between the thread that trains and the one that steers.

    The loop calls :meth:`checkpoint` once per batch: it returns at once while running,
    blocks without spinning while paused, and returns ``False`` once stop is asked.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._paused = False
        self._stopped = False

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def stopped(self) -> bool:
        return self._stopped

    def pause(self) -> None:
        with self._cond:
            self._paused = True

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def toggle(self) -> bool:
        """Pause if running, resume if paused; return the new paused state."""
        with self._cond:
            self._paused = not self._paused
            self._cond.notify_all()
            return self._paused

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def wait_while_paused(self, on_pause=None, on_resume=None) -> bool:
        """Block while paused. Return False if stop was asked (before or while paused)."""
        if not self._paused:  # fast path: no lock per batch while running
            return not self._stopped
        with self._cond:
            if self._paused and not self._stopped and on_pause is not None:
                on_pause()
            waited = False
            while self._paused and not self._stopped:
                waited = True
                self._cond.wait()
            if waited and not self._stopped and on_resume is not None:
                on_resume()
            return not self._stopped
