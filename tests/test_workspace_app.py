"""The workspace inside the real app: n starts from every setting of the run (its data folder too),
and a run opened with enter shows the way back in its footer."""

from __future__ import annotations

import json
import shutil

import pytest
from waiting import notified, pilot_wait
from workspace_helpers import made_runs

from mnist_tui.cli import build_parser, config_rules
from mnist_tui.config import make_config
from mnist_tui.sources.replay import ReplayRequest, ReplaySource
from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.screens.dashboard import DashboardScreen
from mnist_tui.tui.screens.new_run import NewRunScreen
from mnist_tui.tui.screens.workspace import WorkspaceScreen
from mnist_tui.tui.widgets.runs_table import RunsTable


def workspace_app(root, *options: str) -> MnistApp:
    """The app as ``mnist-tui --runs ROOT OPTIONS`` makes it."""
    args = build_parser().parse_args(["--runs", str(root), *options])
    return MnistApp(runs=args.runs, **config_rules(args))


def footer_line(app) -> str:
    """The bottom line as drawn: the footer, cut where the terminal ends."""
    return app.screen._compositor.render_strips()[-1].text


async def _select(pilot, name: str) -> WorkspaceScreen:
    screen = pilot.app.screen
    assert isinstance(screen, WorkspaceScreen)
    await pilot_wait(pilot, lambda: screen.scans >= 1, "the first scan")
    table = screen.query_one(RunsTable)
    table.move_cursor(row=[s.name for s in table.listed].index(name))
    await pilot.pause(0.05)
    return screen


async def new_from(app, name: str):
    """Press n on the run ``name`` in the workspace and read the new-run form's Config, then close it."""
    async with app.run_test(size=(120, 40)) as pilot:
        await _select(pilot, name)
        await pilot.press("n")
        await pilot_wait(pilot, lambda: isinstance(app.screen, NewRunScreen), "the new-run form")
        await pilot_wait(pilot, lambda: "esc Cancel" in footer_line(app), "the form's own footer", timeout=5)
        assert "Mark" not in footer_line(app)  # the workspace's keys showed under the form
        config = app.screen.result()
        await pilot.press("escape")
        await pilot.pause(0.05)
    return config


async def test_new_from_keeps_the_source_runs_data_folder_and_unshown_settings(tmp_path, tmp_path_factory):
    root = tmp_path / "runs"
    shutil.copytree(made_runs(tmp_path_factory) / "lr-0.003", root / "mine")
    info_path = root / "mine" / "run.json"
    info = json.loads(info_path.read_text())
    data = tmp_path / "my-mnist"  # where this run's data lives: not the default folder
    info["config"] |= {"data_dir": str(data), "eval_batch_size": 250, "ema_decay": 0.5}
    info_path.write_text(json.dumps(info))
    config = await new_from(workspace_app(root), "mine")
    assert config.data_dir == data
    assert (config.dataset, config.limit_train, config.device) == ("synthetic", 500, "cpu")
    assert (config.eval_batch_size, config.ema_decay, config.lr) == (250, 0.5, 0.003)
    assert config.run_dir.parent == root  # a new folder beside the source


async def test_new_from_takes_a_data_folder_given_on_the_command_line(tmp_path, tmp_path_factory):
    root = tmp_path / "runs"
    shutil.copytree(made_runs(tmp_path_factory) / "lr-0.003", root / "mine")
    here = tmp_path / "data-here"
    config = await new_from(workspace_app(root, "--data-dir", str(here)), "mine")
    assert config.data_dir == here and config.lr == 0.003


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_a_run_opened_from_the_workspace_shows_esc_back_and_esc_returns(tmp_path, tmp_path_factory, size):
    root = tmp_path / "runs"
    shutil.copytree(made_runs(tmp_path_factory) / "lr-0.01", root / "lr-0.01")
    app = workspace_app(root)
    async with app.run_test(size=size) as pilot:
        await _select(pilot, "lr-0.01")
        await pilot.press("enter")
        await pilot_wait(pilot, lambda: isinstance(app.screen, DashboardScreen), "the run's dashboard")
        dashboard = app.screen
        await pilot_wait(pilot, lambda: dashboard.state == "finished", "the replay to load", timeout=60)
        # the footer recomposes after its bindings change: wait for it, then read what it drew
        await pilot_wait(pilot, lambda: "esc Back" in footer_line(app), "esc Back in the footer", timeout=5)
        assert "q Quit" in footer_line(app)  # q still quits the app, as on every dashboard
        await pilot.press("w")  # a filter: esc clears it first, as on every dashboard
        await pilot_wait(pilot, lambda: dashboard.browser.spec.wrong_only, "the wrong-only filter")
        await pilot.press("escape")
        await pilot.pause(0.05)
        assert app.screen is dashboard and not dashboard.browser.spec.wrong_only
        await pilot.press("escape")
        await pilot_wait(pilot, lambda: isinstance(app.screen, WorkspaceScreen), "the workspace again")


async def test_a_run_opened_from_the_workspace_shows_its_own_settings_not_the_options(tmp_path, tmp_path_factory):
    """`mnist-tui --runs ROOT --lr 0.05 --seed 7` (or R in a dashboard given them): enter on a run
    replayed it under those options, its settings reading "lr 0.05"; n still takes them."""
    root = tmp_path / "runs"
    shutil.copytree(made_runs(tmp_path_factory) / "lr-0.01", root / "lr-0.01")
    app = workspace_app(root, "--lr", "0.05", "--seed", "7", "--batch-size", "64")
    async with app.run_test(size=(120, 40)) as pilot:
        await _select(pilot, "lr-0.01")
        await pilot.press("enter")
        await pilot_wait(pilot, lambda: isinstance(app.screen, DashboardScreen), "the run's dashboard")
        dashboard = app.screen
        await pilot_wait(pilot, lambda: dashboard.state == "finished", "the replay to load", timeout=60)
        settings = " ".join(" ".join(dashboard.settings_lines()).split())
        assert "lr 0.01" in settings and "batch 512" in settings, settings
        assert "0.05" not in settings and "batch 64" not in settings and "seed 7" not in settings
    config = await new_from(workspace_app(root, "--lr", "0.05"), "lr-0.01")
    assert config.lr == 0.05  # a new run from it: under the options given


async def test_a_new_run_from_the_workspace_takes_the_recipe_given(tmp_path, tmp_path_factory):
    """`mnist-tui --runs ROOT --recipe seed`, then n on a run: the form held the run's own batch,
    lr and schedule (the recipe came first and the run's settings over it); an option given
    still wins over the recipe."""
    from mnist_tui.config import RECIPES

    root = tmp_path / "runs"
    shutil.copytree(made_runs(tmp_path_factory) / "lr-0.01", root / "lr-0.01")
    config = await new_from(workspace_app(root, "--recipe", "seed"), "lr-0.01")
    seed = RECIPES["seed"]
    assert (config.recipe, config.batch_size, config.lr, config.schedule) == (
        "seed", seed["batch_size"], seed["lr"], seed["schedule"])  # fmt: skip
    assert (config.dataset, config.limit_train) == ("synthetic", 500)  # the run's own, unshown settings
    config = await new_from(workspace_app(root, "--recipe", "seed", "--lr", "0.004"), "lr-0.01")
    assert (config.recipe, config.lr) == ("seed", 0.004)


async def test_the_workspace_opened_by_runs_has_its_layout(tmp_path, tmp_path_factory):
    """`mnist-tui --runs DIR` opens on the workspace, and Textual reads a screen's stylesheet only
    when it is pushed: the filter stood open and the compare plots were stacked one row high."""
    root = tmp_path / "runs"
    shutil.copytree(made_runs(tmp_path_factory) / "lr-0.01", root / "lr-0.01")
    app = workspace_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _select(pilot, "lr-0.01")
        assert app.screen_stack == [screen]  # the app's default screen
        assert not screen.query_one("#filter").display
        assert screen.query_one("#compare-plots").styles.grid_size_columns == 4


async def test_the_workspaces_help_gives_its_own_keys(tmp_path, tmp_path_factory):
    """? in the workspace listed its table's keys ("⏎ Select", "^pgup Page Left", "tab Focus
    Next") under the dashboard's headline, and not what enter does there."""
    from mnist_tui.tui.screens.help import HelpScreen

    root = tmp_path / "runs"
    shutil.copytree(made_runs(tmp_path_factory) / "lr-0.01", root / "lr-0.01")
    app = workspace_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await _select(pilot, "lr-0.01")
        await pilot.press("question_mark")
        await pilot_wait(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        keys = dict(app.screen.keys)
        assert "open the run" in keys["enter"] and "mark" in keys["m / M"] and "filter" in keys["/"]
        assert not any(what in ("Select", "Page Left", "Focus Next") for what in keys.values())
        assert "workspace" in app.screen.title_line


async def test_esc_asks_twice_before_leaving_a_run_trained_here(tmp_path, tmp_path_factory):
    """A run started with n trains in this process and stops when its dashboard closes: one esc
    threw its epoch in progress away. Now esc asks again, as S does; the run then stops."""
    root = tmp_path / "runs"
    shutil.copytree(made_runs(tmp_path_factory) / "lr-0.01", root / "lr-0.01")
    app = workspace_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        workspace = await _select(pilot, "lr-0.01")
        await pilot.press("n")
        await pilot_wait(pilot, lambda: isinstance(app.screen, NewRunScreen), "the new-run form")
        app.screen.query_one("#field-epochs").value = "50"
        await pilot.press("ctrl+s")
        await pilot_wait(pilot, lambda: isinstance(app.screen, DashboardScreen), "the new run's dashboard")
        dashboard = app.screen
        await pilot_wait(pilot, lambda: dashboard.progress.batch > 0, "a batch trained", timeout=60)
        dashboard.action_pause()
        await pilot_wait(pilot, lambda: dashboard.state == "paused", "the pause")
        await pilot.press("escape")
        await notified(pilot, lambda text: "press esc again within 3 s to stop training" in text, "the esc prompt")
        assert app.screen is dashboard and not dashboard.source_done.is_set()
        await pilot.press("escape")
        await pilot_wait(pilot, lambda: app.screen is workspace, "the workspace again")
        assert dashboard.source_done.wait(timeout=30), "the run trained on after its dashboard closed"


async def test_the_command_palette_offers_the_workspaces_own_actions(tmp_path, tmp_path_factory):
    """Its help says "ctrl+p: command palette", and the palette held only Quit, Screenshot and Theme."""
    root = tmp_path / "runs"
    shutil.copytree(made_runs(tmp_path_factory) / "lr-0.003", root / "mine")
    app = workspace_app(root)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _select(pilot, "mine")
        commands = {command.title: command for command in app.get_system_commands(screen)}
        assert {"Mark", "Open", "New from", "Filter", "Export", "Help", "Quit"} <= set(commands), sorted(commands)
        assert list(commands).count("Back") <= 1 and "(m)" in commands["Mark"].help
        await commands["Mark"].callback()  # the palette awaits what a command returns (call_later)
        await pilot.pause(0.05)
        assert list(screen.table.marked) == ["mine"]


async def test_r_on_a_run_opened_from_the_workspace_goes_back_to_it_and_elsewhere_starts_on_the_run(
    tmp_path, tmp_path_factory
):
    """R stacked a second workspace (its sort and marks fresh) on the one the run was opened from,
    and a workspace R opened had its cursor on the first row, not on the run."""
    root = tmp_path / "runs"
    for name in ("lr-0.003", "lr-0.01"):
        shutil.copytree(made_runs(tmp_path_factory) / name, root / name)
    app = workspace_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        workspace = await _select(pilot, "lr-0.01")
        workspace.table.marked.append("lr-0.003")
        await pilot.press("enter")
        await pilot_wait(pilot, lambda: isinstance(app.screen, DashboardScreen), "the run's dashboard")
        await pilot.press("R")
        await pilot_wait(pilot, lambda: app.screen is workspace, "the same workspace again")
        assert len(app.screen_stack) == 1 and workspace.table.marked == ["lr-0.003"]
    replayed = MnistApp(ReplaySource(ReplayRequest(root / "lr-0.003", lambda saved: make_config(saved=saved))))
    async with replayed.run_test(size=(120, 40)) as pilot:
        await pilot_wait(pilot, lambda: replayed.dashboard.state == "finished", "the replay", timeout=60)
        await pilot.press("R")
        await pilot_wait(pilot, lambda: isinstance(replayed.screen, WorkspaceScreen), "a workspace")
        opened = replayed.screen
        await pilot_wait(pilot, lambda: opened.scans >= 1, "its first scan")
        await pilot.pause(0.05)
        assert opened.table.listed[opened.table.cursor_row].name == "lr-0.003"


async def test_the_palettes_back_goes_back_even_with_a_kept_filter(tmp_path, tmp_path_factory):
    """The palette's "Back (esc q)" ran esc's action, which clears a kept filter first: chosen
    from the palette it only emptied the filter box, and the workspace opened alone stayed."""
    root = tmp_path / "runs"
    shutil.copytree(made_runs(tmp_path_factory) / "lr-0.003", root / "mine")
    app = workspace_app(root)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _select(pilot, "mine")
        await pilot.press("slash", "m", "i", "enter")
        await pilot_wait(pilot, lambda: screen.kept_filter == "mi", "the filter kept")
        commands = {command.title: command for command in app.get_system_commands(screen)}
        await commands["Back"].callback()
        await pilot_wait(pilot, lambda: not app.is_running, "the app quit, as q does in a workspace opened alone")
        assert screen.kept_filter == "mi"


async def test_f1_lists_the_new_run_forms_keys_where_its_fields_take_a_question_mark(tmp_path, tmp_path_factory):
    """`?` lists a screen's keys everywhere, but the form's fields take it as text ("epochs ?")
    and nothing listed its keys there."""
    from mnist_tui.tui.screens.help import HelpScreen

    root = tmp_path / "runs"
    shutil.copytree(made_runs(tmp_path_factory) / "lr-0.003", root / "mine")
    app = workspace_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await _select(pilot, "mine")
        await pilot.press("n")
        await pilot_wait(pilot, lambda: isinstance(app.screen, NewRunScreen), "the new-run form")
        await pilot_wait(pilot, lambda: "F1 Help" in footer_line(app).replace("f1", "F1"), "F1 in the footer", 5)
        await pilot.press("f1")
        await pilot_wait(pilot, lambda: isinstance(app.screen, HelpScreen), "the form's keys", timeout=5)
        await pilot.press("f1")  # it closes the help it opened (only ? and esc did)
        await pilot_wait(pilot, lambda: isinstance(app.screen, NewRunScreen), "the form again", timeout=5)
