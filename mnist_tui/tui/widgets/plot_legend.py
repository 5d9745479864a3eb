"""A plot's legend line: each series's sample in its colour, then its label, in whole entries."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text

from mnist_tui.tui.palette import rgb


def legend_line(entries: Iterable[tuple[str, str, tuple[int, int, int]]], width: int | None = None) -> Text:
    """``⣀⡠ batch  ━●━ test …``: each (sample, label, colour) as its sample in colour, then its label;
    within ``width``, the entries that fit whole (at 80 columns the steering's was cut to "│…")."""
    text = Text()
    for sample, label, color in entries:
        if width is not None and text.cell_len + len(sample) + 1 + len(label) > width:
            break
        text.append(sample, style=rgb(color))
        text.append(f" {label}  ")
    return text
