"""The test set's 10×10 confusion matrix: counts, shaded, with a selectable cell.

Rows are the true digit, columns the prediction. The diagonal is shaded green by the
share of that digit the model gets right; the rest red by how often that confusion
happens, against the worst one (square-root scale, so rare confusions still show).
Arrows (when focused) or the mouse pick a cell; enter or a click posts
:class:`mnist_tui.tui.messages.CellSelected`, which the dashboard turns into a browser filter.
"""

from __future__ import annotations

import numpy as np
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.widget import Widget

from mnist_tui.tui import messages as msg

LABEL_WIDTH = 3  # "7 │" before each row
HEADER_ROWS = 1


def _count_text(count: int, width: int) -> str:
    text = str(count) if count < 10 ** (width - 1) else f"{count / 1000:.0f}k"
    return text.rjust(width - 1) + " "


def _cell_style(count: int, row_total: int, worst: int, diagonal: bool) -> Style:
    if count == 0:
        return Style(color="grey42")
    if diagonal:
        share = count / max(row_total, 1)
        level = int(40 + 120 * share)
        return Style(color="white", bgcolor=f"rgb(0,{level},{level // 3})")
    strength = np.sqrt(count / max(worst, 1))
    return Style(color="white", bgcolor=f"rgb({int(60 + 170 * strength)},20,20)")


class ConfusionMatrix(Widget, can_focus=True):
    BINDINGS = [
        Binding("up,k", "move(-1, 0)", "Up", show=False),
        Binding("down,j", "move(1, 0)", "Down", show=False),
        Binding("left,h", "move(0, -1)", "Left", show=False),
        Binding("right,l", "move(0, 1)", "Right", show=False),
        Binding("enter", "choose", "Show these digits"),
    ]

    DEFAULT_CSS = """
    ConfusionMatrix {
        height: auto;
        width: auto;
        min-width: 34;
    }
    """

    CellSelected = msg.CellSelected  # (in messages.py, with the app's other messages)

    def __init__(self, cell_width: int = 5, none_coming: str = "", **kwargs) -> None:
        """``none_coming``: why no matrix will come (a replay without a model, a run that failed
        before an epoch ended); empty while one may still come."""
        super().__init__(**kwargs)
        self.cell_width = cell_width
        self.none_coming = none_coming
        self.confusion: np.ndarray | None = None
        self.epoch: int | None = None
        self.cursor = (0, 0)

    def set_confusion(self, confusion: np.ndarray, epoch: int | None = None) -> None:
        """Call from the UI thread after each epoch (``Predictions.confusion``: [true, predicted])."""
        self.confusion = np.asarray(confusion, dtype=np.int64).reshape(10, 10)
        self.epoch = epoch
        total = int(self.confusion.sum())
        right = int(np.trace(self.confusion))
        epoch_text = f" · epoch {epoch}" if epoch is not None else ""
        self.border_title = f"confusion (rows true, columns predicted){epoch_text}"
        self.border_subtitle = f"{right:,}/{total:,} right · {total - right:,} wrong"
        self.refresh(layout=True)  # from the 3-line "no matrix yet" to 11 lines: the height changes

    def get_content_width(self, container, viewport) -> int:
        return LABEL_WIDTH + 10 * self.cell_width

    def render(self) -> Text:
        width = self.cell_width
        text = Text("t\\p", style="bold")
        for j in range(10):
            text.append(f"{j}".rjust(width - 1) + " ", style="bold")
        if self.confusion is None:
            why = f"here:\n  {self.none_coming}" if self.none_coming else "yet:\n  it fills in after each epoch"
            text.append(f"\n\n  no confusion matrix {why}", style="dim")
            return text
        worst = int((self.confusion - np.diag(np.diag(self.confusion))).max())
        for i in range(10):
            text.append(f"\n{i} │", style="bold")
            row_total = int(self.confusion[i].sum())
            for j in range(10):
                count = int(self.confusion[i, j])
                style = _cell_style(count, row_total, worst, i == j)
                if (i, j) == self.cursor and self.has_focus:
                    style += Style(reverse=True, bold=True)
                elif (i, j) == self.cursor:
                    style += Style(underline=True)
                text.append(_count_text(count, width), style=style)
        return text

    # -- choosing a cell ---------------------------------------------------------------------

    def cell_at(self, x: int, y: int) -> tuple[int, int] | None:
        """The (true, predicted) cell at a content offset, or None (labels, header)."""
        row, col = y - HEADER_ROWS, (x - LABEL_WIDTH) // self.cell_width
        if x < LABEL_WIDTH or not (0 <= row < 10 and 0 <= col < 10):
            return None
        return row, col

    def action_move(self, rows: int, cols: int) -> None:
        i, j = self.cursor
        self.cursor = (min(max(i + rows, 0), 9), min(max(j + cols, 0), 9))
        self.refresh()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # a replay without a model: no digits to show, not even later
        return not (action == "choose" and self.confusion is None and self.none_coming)

    def action_choose(self) -> None:
        if self.confusion is None:
            self.notify("no confusion matrix yet: train an epoch first", timeout=3)
            return
        i, j = self.cursor
        if not self.confusion[i, j]:  # the browser then showed "no 4→4 digits left", of a cell never filled
            after = f" after epoch {self.epoch}" if self.epoch is not None else ""
            self.notify(f"no test digit is a true {i} predicted as {j}{after}: pick a cell with a count", timeout=4)
            return
        self.post_message(self.CellSelected(self, i, j, int(self.confusion[i, j])))

    def select(self, true: int, predicted: int) -> None:
        self.cursor = (true, predicted)
        self.refresh()
        self.action_choose()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        cell = self.cell_at(offset.x, offset.y) if offset is not None else None
        if cell is not None:
            self.focus()
            self.select(*cell)
            event.stop()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
