"""Explicit waits on state, with deadlines: the tests' only way to wait for another thread.

(A bare ``pilot.pause()`` waits for idle, which a training worker never gives.)
"""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(predicate: Callable[[], object], timeout: float = 30.0) -> bool:
    """Poll ``predicate`` until it is true (→ True) or ``timeout`` seconds pass (→ False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


async def pilot_wait(pilot, condition: Callable[[], object], what: str = "condition", timeout: float = 30.0) -> None:
    """Let the app run in 50 ms steps until ``condition`` holds; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await pilot.pause(0.05)


async def notified(pilot, said: Callable[[str], object], what: str = "the notice", timeout: float = 30.0) -> list[str]:
    """Wait for a notification whose text ``said`` accepts; → every notification's text then.
    ``notify`` posts a message to the app: it is shown a moment after the screen that said it has
    moved on (seen: a run's state was "finished" before its summary was among the notifications)."""
    texts: list[str] = []

    def seen() -> bool:
        texts[:] = [str(n.message) for n in pilot.app._notifications]
        return any(said(text) for text in texts)

    await pilot_wait(pilot, seen, what, timeout)
    return texts
