"""The dashboard's keys, and which of them a run allows in its state (pure: no widget here).

A key is offered (in the footer, the palette and by the key itself) only when the source can
do it and the run's state allows it: a replay offers no space, a finished local run offers
``a`` (train more), a followed run offers space, S, + and - on its writer.
"""

from __future__ import annotations

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
