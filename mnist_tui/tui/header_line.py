"""The header's sub-title fitted to its width, the run folder's name kept whole; the workspace's
line under its table (:func:`run_line`).

Textual's header cuts a long title at its end: at 80 columns a replay of ``runs/sweep/lr-0.001``
read "replay · MNIST · CNN 21,840 params · cpu · /tmp/s…", the one part that tells runs apart
gone. Here the folder loses its head first ("…/sweep/lr-0.001"), then each part keeps only its
first word ("CNN 21,840 params" → "CNN"), then only the first part stays.
"""

from __future__ import annotations

from pathlib import Path

from rich.cells import cell_len, set_cell_size
from rich.text import Text

from mnist_tui.errors import one_line

# Textual's header: an 8-cell icon on the left, a 10-cell clock space on the right, and the
# title and sub-title joined by " — " between them.
HEADER_CHROME = 8 + 10 + len(" — ")


def header_sub_title(parts: tuple[str, ...], run_dir: Path | None, width: int, title: str) -> str:
    """A run view's sub-title: ``parts`` (the source, dataset, model, device) and its run folder,
    fitted to a header ``width`` cells wide under ``title``."""
    shown = one_line(str(run_dir)) if run_dir is not None else "not saved"
    return fitted_sub_title(parts, shown, sub_title_room(width, title))


def sub_title_room(width: int, title: str) -> int:
    """Cells left for the sub-title in a header ``width`` cells wide under ``title``."""
    return width - HEADER_CHROME - cell_len(title)


def fitted_sub_title(parts: tuple[str, ...], path: str, room: int) -> str:
    """``parts`` (the first is kept longest) and ``path``, joined by " · " within ``room`` cells."""
    parts = tuple(part for part in parts if part)
    tries = [parts, tuple(part.split(" ", 1)[0] for part in parts), parts[:1]]
    for kept in tries:
        head = " · ".join((*kept, ""))
        if cell_len(head) + cell_len(path) <= room:
            return head + path
        tail = _tail(path, room - cell_len(head))
        if tail:
            return head + tail
    name = path.rstrip("/").rsplit("/", 1)[-1]
    return name if cell_len(name) <= room else set_cell_size(name, max(room - 1, 0)).rstrip() + "…"


def _tail(path: str, room: int) -> str:
    """``path`` from a "/" on, after "…", within ``room`` cells (a wide character counts two);
    "" where its last part does not fit."""
    name = path.rstrip("/").rsplit("/", 1)[-1]
    if room < cell_len(name) + 2:
        return ""
    start = len(path)
    while start > 0 and cell_len(path[start - 1 :]) <= room - 1:
        start -= 1
    tail = path[start:]
    cut = tail.find("/")
    return "…" + (tail[cut:] if cut > 0 else tail)


def run_line(path: str, note: str, hidden: int, width: int) -> Text:
    """The selected run's folder, its note and a cue for ``hidden`` columns, in ``width`` cells: the
    folder loses its head where all fit one line; a note that wraps anyway leaves it whole (a 10-cell
    path was cut to "…mp/qa/c1" beside a note running over 3 lines)."""
    cue = f"  · {hidden} more columns: widen, or sort by one (< >)" if hidden else ""
    path, room = one_line(path), width - len(cue)
    if note and len(note) + 2 <= room - 20:  # the note fits beside a path of 20 cells or more
        room -= len(note) + 2
    line = Text(path if len(path) <= room else "…" + path[-max(room - 1, 8) :], style="dim")
    if note:
        line.append(f"  {note}", style="yellow")
    line.append(cue, style="italic")
    return line
