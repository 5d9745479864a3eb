"""The new-run form: the command line's rules and words, field by field; a good form's Config trains."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import Input, Label, Select
from workspace_helpers import made_runs

from mnist_tui.cli import build_parser
from mnist_tui.config import Config
from mnist_tui.config import value_from_text as parse_value
from mnist_tui.tui.screens.new_run import NewRunScreen
from mnist_tui.workspace.index import RunIndex
from mnist_tui.workspace.runs import config_of_run, new_run_dir


class FormApp(App):
    def __init__(self, base: Config, run_dir: Path) -> None:
        super().__init__()
        self.base, self.run_dir = base, run_dir
        self.results: list = []

    def on_mount(self) -> None:
        self.push_screen(NewRunScreen(self.base, self.run_dir, "lr-0.003"), self.results.append)


def cli_message(capsys, option: str, text: str) -> str:
    """What the command line says about ``option text`` (after "argument --x: ")."""
    with pytest.raises(SystemExit):
        build_parser().parse_args([option, text])
    return capsys.readouterr().err.strip().split(f"argument {option}: ", 1)[1]


@pytest.mark.parametrize(
    "name, option, text",
    [
        ("lr", "--lr", "20"),
        ("lr", "--lr", "0"),
        ("lr", "--lr", "nan"),
        ("lr", "--lr", "fast"),
        ("epochs", "--epochs", "0"),
        ("epochs", "--epochs", "2.5"),
        ("batch_size", "--batch-size", "abc"),
        ("conv_dropout", "--dropout", "1"),
        ("seed", "--seed", "-1"),
    ],
)
def test_a_typed_value_is_refused_with_the_command_lines_words(capsys, name, option, text):
    value, problem = parse_value(name, text)
    assert value is None and problem == cli_message(capsys, option, text)


def test_good_values_convert_as_on_the_command_line():
    assert parse_value("lr", " 0.002 ") == (0.002, None)
    assert parse_value("epochs", "3") == (3, None)
    assert parse_value("fc_dropout", "0") == (0.0, None)


async def test_the_form_shows_problems_beside_their_fields_and_returns_a_config(tmp_path, tmp_path_factory, capsys):
    source = made_runs(tmp_path_factory) / "lr-0.003"
    base = config_of_run(source)
    assert (base.lr, base.dataset, base.limit_train, base.epochs) == (0.003, "synthetic", 500, 2)
    target = new_run_dir(tmp_path)
    refused = cli_message(capsys, "--lr", "20")  # before the app: it takes stderr over
    app = FormApp(base, target)
    async with app.run_test(size=(80, 24)) as pilot:
        form = app.screen
        assert form.query_one("#field-lr", Input).value == "0.003"  # filled from the run
        assert form.query_one("#field-schedule", Select).value == "onecycle"
        form.query_one("#field-lr", Input).value = "20"
        form.query_one("#field-epochs", Input).value = "two"
        await pilot.pause()
        assert str(form.query_one("#problem-lr", Label).content) == refused == "must be in (0, 10], got 20"
        assert str(form.query_one("#problem-epochs", Label).content) == "'two' is not a whole number"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.results == [] and isinstance(app.screen, NewRunScreen)  # not dismissed
        form.query_one("#field-lr", Input).value = "0.002"
        form.query_one("#field-epochs", Input).value = "1"
        form.query_one("#field-precision", Select).value = "fp32"
        await pilot.pause()
        assert str(form.query_one("#problem-lr", Label).content) == ""
        await pilot.press("ctrl+s")
        await pilot.pause()
    (config,) = app.results
    assert isinstance(config, Config)
    assert (config.lr, config.epochs, config.precision, config.run_dir) == (0.002, 1, "fp32", target)
    assert (config.batch_size, config.dataset, config.limit_train, config.device) == (512, "synthetic", 500, "cpu")
    # the lead's wiring trains it; here the Trainer itself shows the Config is one a run takes
    from mnist_tui.training.loop import Trainer

    result = Trainer(config, lambda event: None).run()
    assert result.error is None and result.epochs_done == 1
    (summary,) = RunIndex(tmp_path).scan()
    assert (summary.lr, summary.state, summary.epochs_done) == (0.002, "finished", 1)


async def test_choosing_a_recipe_fills_in_its_values_and_escape_cancels(tmp_path):
    app = FormApp(Config(), tmp_path / "new")
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.screen
        form.query_one("#field-recipe", Select).value = "seed"
        await pilot.pause()
        assert form.query_one("#field-batch_size", Input).value == "64"
        assert form.query_one("#field-lr", Input).value == "0.001"
        assert form.query_one("#field-schedule", Select).value == "constant"
        assert form.query_one("#field-conv_dropout", Input).value == "0.5"
        await pilot.press("escape")
        await pilot.pause()
    assert app.results == [None]


async def test_two_submits_queued_at_once_close_the_form_once(tmp_path):
    """Enter twice before the first was handled: the second close popped the screen below it
    (the dashboard, stopping its run; over a bare workspace, ScreenStackError)."""
    app = FormApp(Config(), tmp_path / "new")
    async with app.run_test(size=(120, 40)) as pilot:
        form, below = app.screen, app.screen_stack[0]
        box = form.query_one("#field-epochs", Input)
        box.post_message(Input.Submitted(box, box.value))
        box.post_message(Input.Submitted(box, box.value))
        await pilot.pause()
        assert app.is_running and app.screen_stack == [below]
    assert len(app.results) == 1 and isinstance(app.results[0], Config)


async def test_sprint_and_back_carry_each_recipes_whole_plan_and_typed_epochs_are_whole(tmp_path):
    """Choosing sprint crashed the app (the form looked for a field of each recipe value, and
    sprint's 2.5-epoch plan and weight average have none); fast after sprint kept both."""
    app = FormApp(Config(), tmp_path / "new")
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.screen
        form.query_one("#field-recipe", Select).value = "sprint"
        await pilot.pause()
        assert form.query_one("#field-epochs", Input).value == "2.5"  # its plan, not "3" (read as 3 whole)
        sprint = form.result()
        assert (sprint.recipe, sprint.last_epoch_fraction, sprint.ema_decay, sprint.batch_size) == (
            "sprint",
            0.5,
            0.99,
            128,
        )
        form.query_one("#field-epochs", Input).value = "4"
        await pilot.pause()
        assert (form.result().epochs, form.result().last_epoch_fraction) == (4, 1.0)  # as --epochs 4
        form.query_one("#field-epochs", Input).value = "3"  # typed: three whole epochs, as --epochs 3
        await pilot.pause()
        assert (form.result().epochs, form.result().last_epoch_fraction) == (3, 1.0)
        form.query_one("#field-epochs", Input).value = "2.5"  # the plan again
        await pilot.pause()
        assert (form.result().epochs, form.result().last_epoch_fraction) == (3, 0.5)
        form.query_one("#field-recipe", Select).value = "fast"
        await pilot.pause()
        fast = form.result()
        assert (fast.recipe, fast.last_epoch_fraction, fast.ema_decay, fast.batch_size) == ("fast", 1.0, 0.0, 1024)
        assert fast.run_dir == tmp_path / "new"


async def test_a_recipes_values_are_checked_again_and_problems_are_said_whole(tmp_path):
    """ "2.5" typed, then sprint chosen (whose plan it is): "'2.5' is not a whole number" stayed
    beside it though ctrl+s trained it. A long problem was cut mid-value ("must be at most
    100000, got"), and the toast named the field "batch_size", not "batch size"."""
    app = FormApp(Config(), tmp_path / "new")
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.screen
        form.query_one("#field-epochs", Input).value = "2.5"
        await pilot.pause()
        assert str(form.query_one("#problem-epochs", Label).content) == "'2.5' is not a whole number"
        form.query_one("#field-recipe", Select).value = "sprint"
        await pilot.pause()
        assert str(form.query_one("#problem-epochs", Label).content) == ""
        said = parse_value("batch_size", "999999999999999999990")[1]
        form.query_one("#field-batch_size", Input).value = "999999999999999999990"
        await pilot.pause()
        problem = form.query_one("#problem-batch_size", Label)
        shown = "".join(line.text for line in problem.render_lines(problem.region.reset_offset))  # as painted
        assert " ".join(shown.split()) == said, (shown, said)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert [str(n.message) for n in app._notifications][-1] == f"batch size: {said}"
