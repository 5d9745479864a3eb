"""The help screen: every key of the screen it was opened on, and what that screen shows (the
dashboard: its panels and the run's settings; another screen gives its own keys and lines)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache, partial

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from mnist_tui.tui.screens.once import DismissOnce

KEYS = (
    ("space", "start training; then pause / resume (a followed run: its writer)"),
    ("q", "quit (a run training here stops within a batch; a replay or a follower only closes)"),
    ("S S", "stop the run itself, keeping its finished epochs (pressed twice: the epoch in progress is lost)"),
    ("s", "save the last finished epoch's checkpoint now (checkpoints hold whole epochs)"),
    ("+ / -", "learning rate × 2 / ÷ 2 from the next batch, on top of the schedule"),
    ("a", "train 5 more epochs (a finished run too, in place)"),
    ("j k h l, arrows", "next / previous test digit"),
    ("pgdn / pgup, home / end", "ten digits forward / back; first / last digit"),
    ("0 … 9", "browse one true digit"),
    ("w", "wrong only, over the current order or confusion cell"),
    ("o / O", "browser order forward / back: index, hardest, confident mistakes, each digit"),
    ("esc", "clear every filter: all digits by index; with none, back (a run opened from the workspace)"),
    ("b", "digit drawing: ASCII characters or fine half-blocks"),
    ("d", "draw a digit and see the model's guess live"),
    ("x", "confusion matrix: pick a cell to browse exactly those test digits"),
    ("i", "inside the network: filters, activations, saliency, layers, embedding"),
    ("L / %", "log scale for the losses / error % (log) or accuracy %"),
    ("[ / ]", "less / more smoothing of the batch loss"),
    ("z / v", "epochs shown: all, last 10, 3, 1 / the learning-rate curve"),
    ("p", "side panel in a small terminal: predictions or the epochs table"),
    ("e", "the per-epoch plot in a narrow terminal: accuracy or loss"),
    ("R", "the runs workspace: every run folder beside this one, to compare"),
    ("?", "this help"),
    ("ctrl+p", "command palette: every action by name"),
)

# The dashboard's keys that act only as the run allows (its source's capabilities, its state):
# a replay's help offered space, S, s, + / - and a, which do nothing there.
KEY_ACTIONS = {
    "space": ("start", "pause", "resume"),
    "S S": ("stop_run",),
    "s": ("save",),
    "+ / -": ("steer_lr",),
    "a": ("add_epochs",),
    "p": ("side_panel",),
    "e": ("epoch_plot",),
}


def dashboard_keys(check: Callable[[str], object]) -> list[tuple[str, str]]:
    """The dashboard's key rows that act now (``check``: its ``check_action`` on an action's name)."""
    return [(key, what) for key, what in KEYS if not (acts := KEY_ACTIONS.get(key)) or any(map(check, acts))]


HEADING = "mnist-tui: watch a small CNN learn to read digits"

PANELS = (
    "Batch loss: each batch's loss (grey) behind a bias-corrected moving average, the learning rate on "
    "the right axis, steering marked by vertical lines; x is in epochs.",
    "Accuracy and loss per epoch, on the training and the test set.",
    "Predictions: a test digit, the model's guess with its confidence (✓/✗), and all ten "
    "class probabilities; they refresh after every epoch.",
)


# Textual's own on every screen (focus moves, copying a mouse selection): not this app's keys, and
# "^c Copy selected text" in the model view's help read as one of them
TEXTUALS_OWN = frozenset(b.action for b in Screen.BINDINGS if isinstance(b, Binding))


def screen_keys(screen) -> list[tuple[str, str]]:
    """The keys a screen offers now, as (keys, what) rows: one row per action, its keys joined."""
    rows: dict[str, tuple[list[str], str]] = {}
    for node, binding, enabled, _tooltip in screen.active_bindings.values():
        if not enabled or not binding.description or binding.action in TEXTUALS_OWN:
            continue
        if binding.action not in _our_actions(type(node)):  # the drawing canvas's inherited Page Left …
            continue
        shown = screen.app.get_key_display(binding)
        keys, _ = rows.setdefault(binding.action, ([], binding.description))
        if shown not in keys:
            keys.append(shown)
    return [(" ".join(keys), what) for keys, what in rows.values()]


@cache
def _our_actions(cls: type) -> frozenset[str]:
    """The actions this app's classes bind (the drawing canvas inherits Textual's scroll keys)."""
    return frozenset(
        b.action if isinstance(b, Binding) else b[1]
        for klass in cls.__mro__
        if klass.__module__.startswith("mnist_tui.") and "BINDINGS" in vars(klass)
        for b in vars(klass)["BINDINGS"]
    )


def screen_commands(screen, given: set[str], show_help: Callable[[], object]) -> list[SystemCommand]:
    """The palette's entries for each action this app's keys offer now on ``screen`` (its own and
    its widgets', not Textual's table cursor keys), for the command palette: the workspace's
    palette offered none (only Quit, Screenshot and Theme), though its help names ctrl+p. A key a
    focused widget shadows (the runs table's enter) is offered by its screen's action's name."""
    own = [(screen, b) for b in screen.BINDINGS if isinstance(b, Binding)]
    widgets = [(node, b) for node, b, enabled, _ in screen.active_bindings.values() if enabled and node is not screen]
    commands: dict[str, tuple[list[str], Callable[[], object]]] = {}
    for node, binding in own + widgets:
        name, _, _ = binding.action.partition("(")
        if binding.action not in _our_actions(type(node)) or not binding.description or "." in name:
            continue
        if binding.action in TEXTUALS_OWN or node.check_action(name, ()) is False:
            continue
        keys, _ = commands.setdefault(binding.description, ([], partial(node.run_action, binding.action)))
        for key in binding.key.split(","):
            if (shown := screen.app.get_key_display(Binding(key, ""))) not in keys:
                keys.append(shown)
    entries = [SystemCommand(t, f"({' '.join(keys)})", run) for t, (keys, run) in commands.items() if t not in given]
    if "Help" not in given | set(commands):
        entries.append(SystemCommand("Help", "This screen's keys (?)", show_help))
    return entries


def help_text(keys: list[tuple[str, str]] | None = None) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for key, meaning in KEYS if keys is None else keys:
        table.add_row(key, meaning)
    return table


class HelpScreen(DismissOnce, ModalScreen[None]):
    """Every key; closes once however fast escape or ? is pressed (see :mod:`.once`)."""

    BINDINGS = [
        Binding("escape,question_mark,q,f1", "dismiss", "Close", show=True),  # f1: the new-run form opens it so
        # at 80×24 the help scrolls: j and k move on every screen, and did nothing here
        Binding("j", "scroll(1)", "Scroll down", show=False),
        Binding("k", "scroll(-1)", "Scroll up", show=False),
    ]

    def __init__(
        self,
        settings: list[str] | None = None,
        keys: list[tuple[str, str]] | None = None,
        about: Sequence[str] | None = None,
        title: str | None = None,
    ) -> None:
        """``keys``: the keys of the screen help was opened on (the dashboard's own list when None);
        ``about``: what that screen shows, a line each. The dashboard's panels only when neither is
        given: another screen's help must not describe the dashboard. ``title``: the first line."""
        super().__init__()
        self.settings = settings or []  # the run's settings, one line each
        self.keys = keys
        self.about = tuple(PANELS if keys is None and about is None else about or ())
        self.title_line = title or HEADING

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(Text(self.title_line, style="bold"), id="help-title")
            if self.settings:
                yield Static(Text("\n".join(self.settings), style="cyan"), id="help-settings")
            yield Static(help_text(self.keys), id="help-keys")
            if self.about:
                yield Static(Text("\n".join(f"• {line}" for line in self.about)), id="help-panels")
            yield Static(Text("escape or ? closes this screen", style="dim"))

    def on_mount(self) -> None:
        self.query_one("#help-box").border_title = "Help"

    def action_scroll(self, lines: int) -> None:
        self.query_one("#help-box", VerticalScroll).scroll_relative(y=lines, animate=False)
