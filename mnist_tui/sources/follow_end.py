"""How a follower tells a run's end where its folder does not add up (no Textual, no torch).

A ``status.json`` that cannot be read once the writer is gone: the run ends as its folder shows
it, as ``--replay`` judges it (a follower waited for the writer for good).
"""

from __future__ import annotations


def gone_without_status(problem: str) -> str:
    """The note for a run whose writer is gone and whose ``problem`` is its status.json's."""
    return (
        f"the run's state is unknown: {problem}, and no process holds the run's lock: its writer has "
        "ended, so the run ends as its folder shows it, as --replay does"
    )


def judged_state(epochs_done: int, planned: int) -> str:
    """A run without a status, its writer gone: finished with every planned epoch's row, else
    stopped (as a replay says it)."""
    return "finished" if epochs_done >= planned else "stopped"
