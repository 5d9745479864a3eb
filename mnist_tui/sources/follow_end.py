"""How a follower tells a run's end where its folder does not add up (no Textual, no torch).

A ``status.json`` that cannot be read once the writer is gone: the run ends as its folder shows
it, as ``--replay`` judges it (a follower waited for the writer for good). A ``metrics.jsonl``
that holds fewer epochs than ``status.json`` counts: said, as the replay and the workspace say
it; a torn last line is a write in progress only while a writer lives (the follower said
"finished after 1 epoch" of a run whose status counted 2, and nothing more).
"""

from __future__ import annotations

from pathlib import Path

from mnist_tui.errors import UserError
from mnist_tui.runfolder.layout import CHECKPOINT_NAME, METRICS_NAME, RunStatus
from mnist_tui.runfolder.reader import read_metrics
from mnist_tui.schema import RecordError
from mnist_tui.words import counted


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


def wrote_every_epoch(run_dir: Path, planned: int) -> bool:
    """Whether ``metrics.jsonl`` holds the row of the last planned epoch: a writer that ended so
    finished, whatever status it could not write (else its end, unread, was a kill: "lost")."""
    try:
        rows = read_metrics(run_dir).records
    except (RecordError, UserError):
        return False
    return bool(rows) and rows[-1].epoch >= planned


def damage_note(run_dir: Path, status: RunStatus | None, rows: int, torn: bool, repeated: int) -> str | None:
    """What an ended run's ``metrics.jsonl`` lacks or holds twice, or None where it adds up.
    ``rows``: the epochs its rows hold; ``torn``: its last line is torn; ``repeated``: rows of an
    epoch a later row holds again."""
    why = []
    if torn:
        why.append("its last line is torn, and its writer has ended: damage, not a write in progress")
    if repeated:
        why.append(f"{counted(repeated, 'row')} {'holds' if repeated == 1 else 'hold'} an epoch a later row holds too")
    cut = status.cut_note(rows) if status is not None else None
    if cut is None:
        return f"{METRICS_NAME}: {'; '.join(why)}" if why else None
    whole = "; --replay shows the checkpoint's" if (Path(run_dir) / CHECKPOINT_NAME).exists() else ""
    return f"{cut} ({'; '.join(why or ['cut or removed'])}): shown as far as they go{whole}"
