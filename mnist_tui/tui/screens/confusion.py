"""The confusion matrix on its own screen (key ``x``): pick a cell to browse exactly those digits."""

from __future__ import annotations

import numpy as np
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from mnist_tui.tui.screens.once import DismissOnce
from mnist_tui.tui.widgets.confusion import ConfusionMatrix

HINT = "arrows move · enter or click: browse those test digits · esc: back"


class ConfusionScreen(DismissOnce, ModalScreen[tuple[int, int] | None]):
    """Dismisses with the chosen (true, predicted) cell, or None; once (see :mod:`.once`)."""

    CSS_PATH = "confusion.tcss"
    HELP_TITLE = "Confusion matrix: rows are true digits, columns what the model predicted"
    BINDINGS = [Binding("escape,x,q", "dismiss_none", "Back"), Binding("question_mark", "app.help", "Help")]

    def __init__(
        self,
        confusion: np.ndarray | None,
        epoch: int | None = None,
        cursor: tuple[int, int] | None = None,
        none_coming: str = "",
    ) -> None:
        """``none_coming``: why no matrix will come (a replay without a model, a failed run); empty
        while a live run's next epoch may still bring one."""
        super().__init__()
        self.confusion, self.epoch, self.start_cursor = confusion, epoch, cursor
        self.none_coming = none_coming

    def compose(self) -> ComposeResult:
        with Vertical(id="confusion-box"):
            yield ConfusionMatrix(id="confusion-matrix", none_coming=self.none_coming)
            shown = self.confusion is not None or not self.none_coming  # else nothing to browse, ever
            yield Static(HINT if shown else "esc: back", id="confusion-hint")
        yield Footer()  # this screen's keys, not the dashboard's under it

    @property
    def matrix(self) -> ConfusionMatrix:
        return self.query_one(ConfusionMatrix)

    def on_mount(self) -> None:
        box = self.query_one("#confusion-box")
        box.border_title = "confusion: rows true digit, columns predicted"
        if self.confusion is not None:
            self.set_confusion(self.confusion, self.epoch)
        if self.start_cursor is not None:
            self.matrix.cursor = self.start_cursor
        self.matrix.focus()

    def set_confusion(self, confusion: np.ndarray, epoch: int | None) -> None:
        """A newer epoch's matrix while the screen is open (the cursor stays)."""
        self.confusion, self.epoch = confusion, epoch
        if self.dismissed:  # an epoch ending while the screen closes: its widgets may be gone
            return
        matrix = self.matrix
        matrix.set_confusion(confusion, epoch)
        box = self.query_one("#confusion-box")
        box.border_subtitle = f"{matrix.border_subtitle} · epoch {epoch}" if epoch is not None else ""
        matrix.border_title = matrix.border_subtitle = ""  # the box says it once

    def on_confusion_matrix_cell_selected(self, message: ConfusionMatrix.CellSelected) -> None:
        message.stop()
        self.dismiss((message.true, message.predicted))

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
