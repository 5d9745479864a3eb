"""The runs workspace's keys, and what its help says of them and of what it shows (its table's own
keys, a cursor's "Page Left" and "Select", said nothing of what enter does here)."""

from __future__ import annotations

from textual.binding import Binding

SORT = Binding.Group("Sort")  # "< > Sort": one footer entry for the two keys
WORKSPACE_BINDINGS = [
    Binding("m", "mark", "Mark"),  # space starts and pauses training, on the dashboard only
    Binding("enter", "open", "Open"),
    Binding("n", "new_run", "New from"),
    Binding("slash", "filter", "Filter"),
    Binding("less_than_sign", "sort(-1)", "Sort ◀", group=SORT),
    Binding("greater_than_sign", "sort(1)", "Sort ▶", group=SORT),
    Binding("r", "reverse", "Reverse", show=False),  # so esc Back and ? fit at 80 columns
    Binding("percent_sign", "toggle_error", "Acc/err %"),
    Binding("E", "export", "Export"),
    Binding("M", "clear_marks", "Unmark all", show=False),
    Binding("j", "move(1)", "Down", show=False),
    Binding("k", "move(-1)", "Up", show=False),
    # q before esc: the palette's one "Back" runs the first binding's action, and esc's cleared a
    # kept filter instead of going back
    Binding("q", "back", "Back", show=False),
    Binding("escape", "escape", "Back"),  # the filter first; at the bottom of the app q quits, not esc
    Binding("question_mark", "help", "Help", show=False),  # the app's would list the table's keys
]

HELP_TITLE = "The runs workspace: every run folder under this one, side by side"

HELP_KEYS = (
    ("↑ ↓, j k", "the previous / next run; home / end: the first / last"),
    ("enter", "open the run: replayed, or followed live while it trains"),
    ("m / M", "mark the run to compare / unmark all"),
    ("n", "a new run from this one's settings (a form: change any, then start)"),
    ("/", "filter: lr<0.005 state=finished acc>98 started>2026-11 name=sweep/*; esc clears it"),
    ("< > / r", "sort by the previous / next column / reverse the order"),
    ("%", "compare accuracy % or error % (log)"),
    ("E", "export the listed runs' epochs to a CSV file beside this folder"),
    ("esc", "clear the filter, else back to the dashboard (the workspace opened alone: nothing)"),
    ("q", "back to the dashboard (the workspace opened alone: quit)"),
    ("?", "this help"),
    ("ctrl+p", "command palette"),
)

HELP_ABOUT = (
    "the table: one row per run folder, its state (a live run's too), best accuracy, time to 99 % and settings",
    "the line under it: where the selected run is and what it says of itself (a broken folder: why)",
    "compare: the marked runs' test accuracy, test and train loss by epoch and batch loss, one colour each",
    "the legend names only the settings in which the marked runs differ",
)
