"""The colours of a rendered line, cell by cell (for the renderers' tests)."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

_CONSOLE = Console(color_system="truecolor", width=200)


def cell_colors(line: Text) -> list[tuple[str, str | None, str | None]]:
    """(character, foreground, background) of each cell of a rendered line, colours as ``#rrggbb``."""
    cells = []
    for index, char in enumerate(line.plain):
        style = line.get_style_at_offset(_CONSOLE, index)
        fg = style.color.get_truecolor().hex if style.color else None
        bg = style.bgcolor.get_truecolor().hex if style.bgcolor else None
        cells.append((char, fg, bg))
    return cells
