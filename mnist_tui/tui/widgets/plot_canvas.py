"""A widget that shows a plotext figure and loads plotext only once it has something to draw.

Why: importing textual-plotext (plotext builds its help texts at import) took 31-46 ms on the
Intel Xeon here, and building the three empty figures of a new run's dashboard ~20 ms more, all
before the first frame. An empty figure is plotext's frame and nothing else: :func:`empty_frame`
draws it here, in the colours plotext gives it, cell for cell and span for span as plotext's
build parsed by ``Text.from_ansi`` (``tests/test_plot_canvas.py`` compares the two).

The colours follow the app's Textual theme as textual-plotext's "auto" theme does: the canvas
and the frame's background are the theme's surface, the frame and labels its foreground.
"""

from __future__ import annotations

from typing import Any

from rich.color import Color
from rich.style import Style
from rich.text import Text
from textual.widget import Widget

RGB = tuple[int, int, int]


def new_figure() -> Any:
    """A fresh textual-plotext figure (the first one imports plotext)."""
    from textual_plotext.plot import Plot

    return Plot()


def theme_colors(app) -> tuple[RGB, RGB]:
    """(surface, foreground) of the app's theme as RGB."""
    from textual.color import Color as TextualColor

    variables = app.theme_variables
    return TextualColor.parse(variables["surface"]).rgb, TextualColor.parse(variables["foreground"]).rgb


def plotext_theme(app) -> str:
    """The name of the plotext theme for the app's Textual theme, registered with plotext on first
    use (textual-plotext's own, for its "auto" theme: the name and the colours are its)."""
    from plotext._dict import themes
    from textual_plotext.plot import _rgbify_theme, _sequence

    name = f"textual-auto-{app.theme}"
    if name not in themes:
        surface, foreground = theme_colors(app)
        themes[name] = _rgbify_theme(surface, surface, foreground, "default", _sequence)
    return name


def empty_frame(width: int, rows: int, surface: RGB, foreground: RGB) -> Text:
    """plotext's figure of nothing, ``width`` × ``rows`` cells: a frame on the canvas colour."""
    frame = Style(color=Color.from_rgb(*foreground), bgcolor=Color.from_rgb(*surface))
    canvas = Style(bgcolor=Color.from_rgb(*surface))
    inner = width - 2
    text = Text()
    text.append("┌" + "─" * inner + "┐", frame)
    for _ in range(rows - 2):
        text.append("\n")
        text.append("│", frame)
        text.append(" " * inner, canvas)
        text.append("│", frame)
    text.append("\n")
    text.append("└" + "─" * inner + "┘", frame)
    return text


class PlotCanvas(Widget):
    """A plotext figure in ``plt`` (made on first use) and the frame of an empty one without it."""

    DEFAULT_CSS = """
    PlotCanvas {
        width: 1fr;
        height: 1fr;
    }
    """

    EMPTY_MIN = (3, 2)  # (columns, rows) from which plotext's empty figure is this frame

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._plot = None

    @property
    def plt(self):
        """The figure to draw on (textual-plotext's ``Plot``), as ``import plotext as plt`` is used."""
        if self._plot is None:
            self._plot = new_figure()
        return self._plot

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda theme: self.refresh())

    def figure(self, width: int, rows: int, empty: bool = False) -> Text:
        """The figure built ``width`` × ``rows`` cells in the app's theme; ``empty``: nothing is
        drawn on it, and where it has room for its frame that is drawn without plotext."""
        if empty and width >= self.EMPTY_MIN[0] and rows >= self.EMPTY_MIN[1]:
            return empty_frame(width, rows, *theme_colors(self.app))
        plt = self.plt
        plt.plotsize(width, rows)
        plt._set_size(width, rows)  # textual-plotext does both (its issue #5)
        plt.theme(plotext_theme(self.app))
        return Text.from_ansi(plt.build().rstrip("\n"))
