"""The dashboard's keys, and which of them a run allows in its state (pure: no widget here).

A key is offered (in the footer, the palette and by the key itself) only when the source can
do it and the run's state allows it: a replay offers no space, a finished local run offers
``a`` (train more), a followed run offers space, S, + and - on its writer.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable

from textual.binding import Binding

from mnist_tui.sources.base import Capabilities
from mnist_tui.training.events import ENDED

DASHBOARD_KEYS = [
    Binding("space", "start", "Start"),
    Binding("space", "pause", "Pause"),
    Binding("space", "resume", "Resume"),
    Binding("q", "app.quit", "Quit"),
    # Shown only over another screen (a run opened from the workspace): the way back must be seen.
    # At the bottom of the stack esc falls through to clear_filters, as it always did.
    Binding("escape", "back", "Back"),
    Binding("s", "save", "Save", show=False),
    Binding("S", "stop_run", "Stop run", show=False),
    Binding("j,down,right,l", "browse(1)", "Next digit", show=False),
    Binding("k,up,left,h", "browse(-1)", "Previous digit", show=False),
    Binding("pagedown", "browse(10)", "10 digits on", show=False),
    Binding("pageup", "browse(-10)", "10 digits back", show=False),
    Binding("home", "browse_to(0)", "First digit", show=False),
    Binding("end", "browse_to(-1)", "Last digit", show=False),
    Binding("w", "toggle_wrong", "Wrong only"),
    Binding("o", "order(1)", "Order"),
    Binding("O", "order(-1)", "Order back", show=False),
    *[Binding(str(d), f"digit({d})", f"Digit {d}", show=False) for d in range(10)],
    Binding("escape", "clear_filters", "All digits", show=False),
    Binding("b", "cycle_digit_mode", "ASCII/blocks", show=False),
    Binding("d", "draw", "Draw"),
    Binding("x", "confusion", "Confusion"),
    Binding("i", "inside", "Inside"),
    Binding("plus,equals_sign", "steer_lr(2)", "lr ×2", show=False),
    Binding("minus", "steer_lr(0.5)", "lr ÷2", show=False),
    Binding("a", "add_epochs(5)", "Train 5 more"),
    Binding("L", "plots_log", "Log losses", show=False),
    Binding("percent_sign", "error_view", "Error %", show=False),
    Binding("left_square_bracket", "smoothing(-1)", "Less smoothing", show=False),
    Binding("right_square_bracket", "smoothing(1)", "More smoothing", show=False),
    Binding("z", "plots_range", "Epoch range", show=False),
    Binding("v", "toggle_lr", "Learning rate", show=False),
    Binding("R", "open_runs", "Runs", show=False),
    Binding("p", "side_panel", "Panel"),
    Binding("e", "epoch_plot", "Epoch plot", show=False),
]


# The browser's keys leave the footer first at 80 columns (mnist_tui.tui.widgets.fitted_footer).
LEFT_OUT_OF_NARROW_FOOTER = frozenset({"toggle_wrong", "order(1)", "draw"})


def allowed(action: str, state: str, caps: Capabilities, started: bool, loaded: bool) -> bool:
    """Whether ``action`` acts now; actions not listed here always do."""
    live = state not in ENDED
    if action == "start":
        return caps.start and not started and live
    if action == "pause":
        return caps.pause and started and live and state not in ("paused", "pausing", "waiting")
    if action == "resume":
        return caps.pause and started and live and state in ("paused", "pausing")
    if action == "save":
        return caps.save
    if action == "stop_run":
        return caps.stop and live and loaded
    if action == "steer_lr":
        return caps.steer and live and loaded
    if action == "add_epochs":
        return caps.steer and loaded and (live or (caps.extend and state == "finished"))
    return True


ENDED_WORDS = {"finished": "has finished", "stopped": "was stopped", "failed": "failed", "lost": "was lost"}


def key_actions(key: str) -> list[str]:
    """The actions ``key`` (a Textual key name: "space", "S", "plus") is bound to, by name."""
    return [b.action.partition("(")[0] for b in DASHBOARD_KEYS if key in b.key.split(",")]


RUN_KEYS = frozenset({"start", "pause", "resume", "steer_lr", "add_epochs", "stop_run"})  # s: never a follower's


def refusal(actions: list[str], state: str, caps: Capabilities, run_dir: object, epochs_done: int = 0) -> str | None:
    """What a key says when none of its ``actions`` acts because the source cannot, or the run has
    ended: a replay took space, a, S, +, - and s in silence. None where the refusal is only for
    now (space while pausing) or the key is not one of these. ``epochs_done``: a finished run's,
    for the ``--epochs`` that trains it on at once (without one, a --resume only opened it)."""
    if state == "waiting" and RUN_KEYS & set(actions):  # a follower's keys, before its run is there
        return "the run is not training yet: its keys act once it does"
    folder = shlex.quote(str(run_dir)) if run_dir is not None else ""
    more = f" --epochs {epochs_done + 5}" if state == "finished" and epochs_done else ""
    train_on = f"; to train it on: mnist-tui --resume {folder}{more}" if folder else ""
    where = "nothing trains here, the run is only shown" if not caps.live else "the run trains in another process"
    if state == "so far":  # a replay of a run another process trains: --resume would be refused
        where, train_on = "the run trains in another process", f"; to steer it: mnist-tui --follow {folder}"
    ended = state in ENDED
    said = f"the run {ENDED_WORDS.get(state, state)}"
    if {"start", "pause", "resume"} & set(actions):
        if not (caps.start or caps.pause):
            return f"{where}{train_on}"
        if ended:
            return said + ("; a trains 5 more" if caps.extend and state == "finished" else train_on)
    if {"steer_lr", "add_epochs"} & set(actions):
        if not caps.steer:
            return f"{where}{train_on}"
        if ended and "add_epochs" in actions:
            return f"{said}{train_on}"  # `a` on a finished run that can be extended acts
        if ended:
            return f"{said}: nothing to steer"
    if "stop_run" in actions and (not caps.stop or ended):
        return where if not caps.stop else f"{said} already"
    if "save" in actions and not caps.save:
        return f"{where}: it saves its own checkpoints" if caps.live else where
    return None


# The command palette's title and line for each key's action (the footer's word is too short to
# find an action by name). Every action of DASHBOARD_KEYS has one: a test holds them together.
PALETTE: dict[str, tuple[str, str]] = {
    "start": ("Start training", "Let the run train"),
    "pause": ("Pause training", "Pause at the next batch"),
    "resume": ("Resume training", "Train on from the paused batch"),
    "app.quit": ("Quit", "Training stops within a batch; a follower only closes"),
    "back": ("Back", "Back to the screen this run was opened from"),
    "save": ("Save checkpoint", "The last finished epoch's checkpoint, now"),
    "stop_run": ("Stop the run", "Asked twice within 3 s: ends the run itself; finished epochs stay saved"),
    "browse(1)": ("Next digit", "Browse predictions forward"),
    "browse(-1)": ("Previous digit", "Browse predictions back"),
    "browse(10)": ("Ten digits on", "Browse predictions ten forward"),
    "browse(-10)": ("Ten digits back", "Browse predictions ten back"),
    "browse_to(0)": ("First digit", "The browser's first digit"),
    "browse_to(-1)": ("Last digit", "The browser's last digit"),
    "toggle_wrong": ("Wrong only", "Show only misclassified test digits, or all"),
    "order(1)": ("Next order", "Index, hardest, confident mistakes, each digit"),
    "order(-1)": ("Previous order", "The browser's order before this one"),
    **{f"digit({d})": (f"Only digit {d}", f"Browse the test digits that are {d}") for d in range(10)},
    "clear_filters": ("All digits", "Clear every filter: all digits by index"),
    "cycle_digit_mode": ("Digit drawing", "ASCII characters or half-blocks"),
    "draw": ("Draw a digit", "Draw and see the model's guess live"),
    "confusion": ("Confusion matrix", "Pick a cell to browse those digits"),
    "inside": ("Inside the network", "Filters, activations, saliency, layers, embedding"),
    "steer_lr(2)": ("Learning rate × 2", "From the next batch, on top of the schedule"),
    "steer_lr(0.5)": ("Learning rate ÷ 2", "From the next batch, on top of the schedule"),
    "add_epochs(5)": ("Train 5 more epochs", "A finished run too, in place"),
    "plots_log": ("Log scale for the losses", "Switch the loss plots' y axis"),
    "error_view": ("Error % or accuracy %", "Switch the per-epoch accuracy plot"),
    "smoothing(-1)": ("Less smoothing", "Of the batch loss's moving average"),
    "smoothing(1)": ("More smoothing", "Of the batch loss's moving average"),
    "plots_range": ("Epochs shown", "All, the last 10, 3 or 1"),
    "toggle_lr": ("Learning-rate curve", "Show or hide it on the batch loss plot"),
    "open_runs": ("Runs workspace", "Every run folder beside this one: compare them"),
    "side_panel": ("Side panel", "Predictions or the epochs table (small terminals)"),
    "epoch_plot": ("Epoch plot", "Accuracy or loss per epoch (narrow terminals show one)"),
}


def palette_entries(check: Callable[[str], bool | None]) -> list[tuple[str, str, str, list[Binding]]]:
    """(title, line, action, its bindings) for each dashboard action ``check(name)`` allows now,
    in the key map's order; ``check`` is the screen's ``check_action`` on the action's name."""
    bindings: dict[str, list[Binding]] = {}
    for binding in DASHBOARD_KEYS:
        bindings.setdefault(binding.action, []).append(binding)
    entries = []
    for action, group in bindings.items():
        name = action.partition("(")[0]
        if "." in name or check(name):
            title, line = PALETTE[action]
            entries.append((title, line, action, group))
    return entries
