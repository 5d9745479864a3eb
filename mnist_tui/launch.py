"""The console entry point; Python's cyclic collector is held off until the app's first frame.

Up to the first frame, importing Textual and the app and building the dashboard leaves ~106,000
objects tracked by the collector, and next to none of them is garbage. The collector still
walked them: 168 collections, 85-98 ms of the ~0.75 s to the first frame (three launches on
the Zen 3 here). Held off, and the survivors then frozen (never walked again by a later
collection, torch's training loop included), that time is saved. A command that opens no
window (``--headless``, ``--serve``, exports) lets the collector go at once.
"""

from __future__ import annotations

import gc
from typing import NoReturn


class _Collector:
    """Whether this process held the collector off (a test or a library caller never does)."""

    held = False


def hold_collector() -> None:
    if gc.isenabled():
        gc.disable()
        _Collector.held = True


def release_collector() -> None:
    """Freeze what survived the start and collect again from here; idempotent."""
    if _Collector.held:
        _Collector.held = False
        gc.freeze()
        gc.enable()


def run() -> NoReturn:
    hold_collector()
    from mnist_tui.cli import run as run_command

    run_command()
