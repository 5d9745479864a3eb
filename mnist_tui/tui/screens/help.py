"""The help screen: every key, what the panels show, and where the run is saved."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from mnist_tui.tui.screens.once import DismissOnce

KEYS = (
    ("space", "start training; then pause / resume"),
    ("q", "quit (stops training within a batch; finished epochs stay saved)"),
    ("s", "save the last finished epoch's checkpoint now (checkpoints hold whole epochs)"),
    ("j ↓ →  /  k ↑ ←", "next / previous test digit"),
    ("pgdn / pgup", "ten digits forward / back"),
    ("home / end", "first / last digit of the view"),
    ("w", "wrong-only: show just the digits the model gets wrong"),
    ("m", "digit drawing: ASCII characters or fine half-blocks"),
    ("d", "draw a digit (mouse, or arrows + space) and see the model's guess live"),
    ("x", "confusion matrix: pick a cell to browse exactly those test digits"),
    ("o", "browser order: index → hardest → confident mistakes → each digit"),
    ("?", "this help"),
    ("ctrl+p", "command palette: every action by name"),
)

PANELS = (
    "Batch loss: each batch's loss (grey) and a smoothed curve; x is in epochs.",
    "Accuracy and loss per epoch, on the training and the test set.",
    "Predictions: a test digit, the model's guess with its confidence (✓/✗), and all ten "
    "class probabilities; they refresh after every epoch.",
)


def help_text() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for key, meaning in KEYS:
        table.add_row(key, meaning)
    return table


class HelpScreen(DismissOnce, ModalScreen[None]):
    """Every key; closes once however fast escape or ? is pressed (see :mod:`.once`)."""

    BINDINGS = [
        Binding("escape,question_mark,q", "dismiss", "Close", show=True),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(Text("mnist-tui: watch a small CNN learn to read digits", style="bold"))
            yield Static(help_text(), id="help-keys")
            yield Static("\n".join(f"• {line}" for line in PANELS), id="help-panels")
            yield Static(Text("escape or ? closes this screen", style="dim"))

    def on_mount(self) -> None:
        self.query_one("#help-box").border_title = "Help"
