"""A new run from an earlier run's settings: a form, checked field by field as it is typed.

Each value is read by :func:`mnist_tui.config.value_from_text`, as the command line reads it,
so a value refused here is refused with the command line's words ("must be in (0, 10], got 20").
Choosing another recipe fills in its values (:func:`mnist_tui.config.with_recipe`, as
``--recipe`` does before the options given after it), and the Config comes from
:func:`mnist_tui.config.make_config`: the base's settings, then the fields the user changed.
The screen dismisses with a validated :class:`Config` (``run_dir`` set to the folder it was
given) or None.
"""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Select, Static

from mnist_tui.config import (
    PRECISIONS,
    RECIPES,
    SCHEDULES,
    TEXT_TYPES,
    Config,
    make_config,
    value_from_text,
    with_recipe,
)
from mnist_tui.errors import UserError
from mnist_tui.plan import Plan
from mnist_tui.tui.screens.once import DismissOnce

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

LABELS = {name: label for name, label, _ in FIELDS}


class NewRunScreen(DismissOnce, ModalScreen[Config | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "submit", "Train"),
        Binding("f1", "app.help", "Help"),  # its fields take `?` as text
    ]
    CSS_PATH = "new_run.tcss"

    def __init__(self, base: Config, run_dir: Path, source: str = "") -> None:
        """``base``: the earlier run's Config; ``run_dir``: the new run's folder."""
        super().__init__()
        self.base = base
        self.run_dir = Path(run_dir)
        self.source = source
        self.problems: dict[str, str] = {}
        self.recipe_base = base  # the base under the recipe chosen last: what the fields start from

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            yield Static(f"New run from {self.source or 'these settings'} → {self.run_dir}", id="form-title")
            with Grid(id="fields"):
                for name, label, choices in FIELDS:
                    yield Label(label)
                    value = getattr(self.base, name)
                    if choices is None:
                        yield Input(_shown(self.base, name), id=f"field-{name}", compact=True)
                    else:
                        options = [(c, c) for c in choices]
                        yield Select(options, value=value, allow_blank=False, id=f"field-{name}", compact=True)
                    yield Label("", id=f"problem-{name}", classes="problem")
            yield Static("enter or ctrl+s trains in a new folder; esc cancels", id="form-note")
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button("Train", id="train", variant="primary", compact=True)
        yield Footer()  # its own keys: the workspace's (m Mark, n New from …) showed under it

    def on_mount(self) -> None:
        self.query_one("#field-epochs", Input).focus()

    # -- checking --------------------------------------------------------------------------

    def check(self, name: str) -> object:
        """The field's value, or None with its problem shown beside it."""
        widget = self.query_one(f"#field-{name}")
        if name == "epochs" and widget.value.strip() == plan_text(self.recipe_base):  # "2.5": its plan
            value, problem = self.recipe_base.epochs, None
        elif name in TEXT_TYPES:
            value, problem = value_from_text(name, widget.value)
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
        if event.select.id == "field-recipe" and event.value != self.recipe_base.recipe:
            self.recipe_base = with_recipe(self.base, event.value)
            for name, _, choices in FIELDS:
                value = getattr(self.recipe_base, name)
                widget = self.query_one(f"#field-{name}")
                widget.value = _shown(self.recipe_base, name) if choices is None else value
                self.check(name)  # an unchanged text ("2.5", sprint's plan) posts no Changed: its problem stayed
            self.notify(f"filled in the {event.value} recipe's values", timeout=3)

    def values(self) -> dict[str, object] | None:
        values = {name: self.check(name) for name, _, _ in FIELDS}
        return None if self.problems else values

    def result(self) -> Config | None:
        """The new run's Config, or None while a field is wrong (each problem is shown)."""
        values = self.values()
        if values is None:
            return None
        base = self.recipe_base
        changed = {name: value for name, value in values.items() if value != getattr(base, name)}
        if self.query_one("#field-epochs", Input).value.strip() != plan_text(base):
            changed["epochs"] = values["epochs"]  # typed: whole epochs (sprint's "3" was its 2.5)
        changed.pop("recipe", None)  # the recipe's values are in the base already
        return make_config(saved=base.to_dict(), **changed).with_changes(run_dir=self.run_dir)

    # -- leaving -----------------------------------------------------------------------------

    def action_submit(self) -> None:
        try:
            config = self.result()
        except UserError as exc:
            self.notify(str(exc), severity="error", timeout=10)
            return
        if config is None:
            first = next(iter(self.problems))
            self.notify(f"{LABELS[first]}: {self.problems[first]}", severity="error", timeout=6)
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


def plan_text(config: Config) -> str:
    """The epochs a run plans, as the form shows them: sprint's "2.5" (3 epochs, the last one half),
    where "3" read as three whole ones and trained 2.5."""
    return Plan.planned(config.epochs, config.last_epoch_fraction).number


def _shown(config: Config, name: str) -> str:
    return plan_text(config) if name == "epochs" else _text(getattr(config, name))
