"""A new run from an earlier run's settings: a form, checked field by field as it is typed.

Each value goes through :func:`mnist_tui.workspace.runs.parse_value`, which converts text
as the command line does and asks :func:`mnist_tui.config.check_value`, so a value refused
here is refused with the command line's words ("must be in (0, 10], got 20"). Choosing
another recipe fills in its values, as ``--recipe`` does before the options given after it.
The screen dismisses with a validated :class:`Config` (``run_dir`` set to the folder it was
given) or None.
"""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from mnist_tui.config import PRECISIONS, RECIPES, SCHEDULES, Config, validate
from mnist_tui.errors import UserError
from mnist_tui.workspace.runs import TYPED, parse_value

FIELDS = (  # (name, label, choices or None for typed text)
    ("recipe", "recipe", tuple(RECIPES)),
    ("epochs", "epochs", None),
    ("batch_size", "batch size", None),
    ("lr", "learning rate", None),
    ("schedule", "schedule", SCHEDULES),
    ("conv_dropout", "dropout (conv)", None),
    ("fc_dropout", "dropout (fc)", None),
    ("precision", "precision", PRECISIONS),
    ("seed", "seed", None),
)


class NewRunScreen(ModalScreen[Config | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "submit", "Train"),
    ]
    DEFAULT_CSS = """
    NewRunScreen { align: center middle; }
    NewRunScreen #form { width: 76; height: auto; max-height: 100%; border: round $accent; padding: 0 1; }
    NewRunScreen #fields { grid-size: 3; grid-columns: 16 22 1fr; grid-rows: 1; grid-gutter: 0 1; height: auto; }
    NewRunScreen .problem { color: $error; }
    NewRunScreen #form-note { height: auto; color: $text-muted; }
    NewRunScreen #buttons { height: 1; align-horizontal: right; margin-top: 1; }
    NewRunScreen Button { margin-left: 2; }
    """

    def __init__(self, base: Config, run_dir: Path, source: str = "") -> None:
        """``base``: the earlier run's Config; ``run_dir``: the new run's folder."""
        super().__init__()
        self.base = base
        self.run_dir = Path(run_dir)
        self.source = source
        self.problems: dict[str, str] = {}
        self._recipe_shown = base.recipe

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            yield Static(f"New run from {self.source or 'these settings'} → {self.run_dir}", id="form-title")
            with Grid(id="fields"):
                for name, label, choices in FIELDS:
                    yield Label(label)
                    value = getattr(self.base, name)
                    if choices is None:
                        yield Input(_text(value), id=f"field-{name}", compact=True)
                    else:
                        options = [(c, c) for c in choices]
                        yield Select(options, value=value, allow_blank=False, id=f"field-{name}", compact=True)
                    yield Label("", id=f"problem-{name}", classes="problem")
            yield Static("enter or ctrl+s trains in a new folder; esc cancels", id="form-note")
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button("Train", id="train", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#field-epochs", Input).focus()

    # -- checking --------------------------------------------------------------------------

    def check(self, name: str) -> object:
        """The field's value, or None with its problem shown beside it."""
        widget = self.query_one(f"#field-{name}")
        if name in TYPED:
            value, problem = parse_value(name, widget.value)
        else:
            value, problem = widget.value, None
        self.problems.pop(name, None)
        if problem:
            self.problems[name] = problem
        self.query_one(f"#problem-{name}", Label).update(problem or "")
        return value

    def on_input_changed(self, event: Input.Changed) -> None:
        self.check(event.input.id.removeprefix("field-"))

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "field-recipe" and event.value != self._recipe_shown:
            self._recipe_shown = event.value
            for name, value in RECIPES[event.value].items():
                widget = self.query_one(f"#field-{name}")
                if isinstance(widget, Input):
                    widget.value = _text(value)
                else:
                    widget.value = value
            self.notify(f"filled in the {event.value} recipe's values", timeout=3)

    def values(self) -> dict[str, object] | None:
        values = {name: self.check(name) for name, _, _ in FIELDS}
        return None if self.problems else values

    def result(self) -> Config | None:
        """The new run's Config, or None while a field is wrong (each problem is shown)."""
        values = self.values()
        if values is None:
            return None
        config = Config.from_dict(self.base.to_dict() | values | {"run_dir": self.run_dir})
        return validate(config, "the new run's settings")

    # -- leaving -----------------------------------------------------------------------------

    def action_submit(self) -> None:
        try:
            config = self.result()
        except UserError as exc:
            self.notify(str(exc), severity="error", timeout=10)
            return
        if config is None:
            first = next(iter(self.problems))
            self.notify(f"{first}: {self.problems[first]}", severity="error", timeout=6)
            self.query_one(f"#field-{first}").focus()
            return
        self.dismiss(config)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "train":
            self.action_submit()
        else:
            self.action_cancel()


def _text(value: object) -> str:
    return format(value, "g") if isinstance(value, float) else str(value)
