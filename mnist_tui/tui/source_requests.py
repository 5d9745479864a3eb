"""Requests to a run's source, off the UI thread and in the order they were asked."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from mnist_tui.errors import told


class SourceRequests:
    """One thread runs the requests in order: a follower's request locks and fsyncs
    control.json (waiting up to 2 s for another follower), and ``a`` on a finished run loads its
    checkpoint; in a key's handler either froze the UI. ``call_from_thread`` hands each request's
    follow-up (or ``failed(one line)``) back to the UI thread: a failure is a notice, not a crash."""

    def __init__(self, call_from_thread: Callable, failed: Callable[[str], object]) -> None:
        self._call_from_thread = call_from_thread
        self._failed = failed
        self._pool: ThreadPoolExecutor | None = None  # started by the first request

    def ask(self, request: Callable[[], object], then: Callable[[], object] | None = None) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="source-requests")
        self._pool.submit(self._run, request, then)

    def _run(self, request: Callable[[], object], then: Callable[[], object] | None) -> None:
        try:
            request()
            done = then
        except Exception as exc:  # noqa: BLE001 - in a Future nobody reads it would vanish without a word
            done = partial(self._failed, told(exc))
        if done is not None:
            with contextlib.suppress(RuntimeError):  # the app closed meanwhile: nobody to tell
                self._call_from_thread(done)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)  # what was asked is still sent (each within ~2 s)


def save_words(save_now: Callable[[], tuple[int, object] | None]) -> tuple[str, str]:
    """(notice, severity) for ``s``: the source's save, run here (off the UI thread: it fsyncs)."""
    try:
        saved = save_now()
    except Exception as exc:  # noqa: BLE001 - the worker's errors are nobody's: say it
        return f"could not save: {told(exc)}", "error"
    if saved is None:
        return "nothing to save yet: the first checkpoint is written when epoch 1 ends", "information"
    return f"saved epoch {saved[0]} to {saved[1]} (checkpoints hold whole epochs)", "information"
