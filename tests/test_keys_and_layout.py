"""One key map on every screen, filters that combine and say when they go stale, 80×24, and
headless output that parses."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_tui_snapshots import resumed_app  # noqa: F401 - the fixture: a resumed run on a still dashboard
from waiting import notified

from mnist_tui.tui.screens.confusion import ConfusionScreen
from mnist_tui.tui.screens.draw import DrawScreen
from mnist_tui.tui.screens.help import HelpScreen
from mnist_tui.tui.views import ViewSpec, build_view
from mnist_tui.tui.widgets.plots import PlotsPanel

REPO = Path(__file__).resolve().parents[1]


def actions(screen) -> set[str]:
    return {binding.action for _node, binding, enabled, _tip in screen.active_bindings.values() if enabled}


async def test_hjkl_move_on_every_screen_and_q_closes_a_pop_up(resumed_app):  # noqa: F811
    app, feed = resumed_app
    async with app.run_test(size=(120, 40)) as pilot:
        await feed(pilot)
        browser = app.dashboard.browser
        first = browser.current_index
        await pilot.press("l", "j")
        assert browser.position == 2 and browser.current_index != first
        await pilot.press("h")
        assert browser.position == 1
        await pilot.press("x")
        confusion = app.screen
        assert isinstance(confusion, ConfusionScreen)
        assert "dismiss_none" in actions(confusion) and "app.quit" not in actions(confusion)  # its own footer
        await pilot.press("j", "j", "l")
        assert confusion.matrix.cursor == (2, 1)
        await pilot.press("q")  # closes the pop-up, does not quit
        assert app.screen is app.dashboard and app.is_running
        await pilot.press("d")
        draw = app.screen
        assert isinstance(draw, DrawScreen) and draw.canvas.show_cursor  # the cursor shows from the start
        await pilot.press("k", "h")
        assert draw.canvas.cursor == (13, 13)
        await pilot.press("q")
        assert app.screen is app.dashboard


async def test_help_lists_the_keys_of_the_screen_it_is_opened_on(resumed_app):  # noqa: F811
    app, feed = resumed_app
    async with app.run_test(size=(120, 40)) as pilot:
        await feed(pilot)
        await pilot.press("x", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        described = {what for _keys, what in app.screen.keys}
        assert "Show these digits" in described and "Back" in described
        assert "Wrong only" not in described  # the dashboard's, not this screen's


async def test_at_80x24_j_and_k_scroll_the_help_as_the_arrows_do(resumed_app):  # noqa: F811
    app, feed = resumed_app
    async with app.run_test(size=(80, 24)) as pilot:
        await feed(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        box = app.screen.query_one("#help-box")
        await pilot.pause(0.05)
        assert box.max_scroll_y > 3  # it does not fit at 80×24
        await pilot.press("j", "j", "j")
        assert box.scroll_y == 3
        await pilot.press("k")
        assert box.scroll_y == 2


async def test_filters_combine_and_esc_clears_them(resumed_app):  # noqa: F811
    app, feed = resumed_app
    async with app.run_test(size=(120, 40)) as pilot:
        await feed(pilot)
        browser = app.dashboard.browser
        await pilot.press("3", "w")
        labels, predicted = browser.labels, browser.probabilities.argmax(1)
        shown = browser.indices
        assert len(shown) and all(labels[i] == 3 and predicted[i] != 3 for i in shown)
        assert "true digit 3" in browser.view_title and "wrong only" in browser.view_title
        await pilot.press("o")  # the next order keeps wrong-only
        assert browser.spec.wrong_only and browser.spec.order == "digit" and browser.spec.digit == 4
        await pilot.press("O", "O")
        assert browser.spec.digit == 2
        await pilot.press("escape")
        assert browser.spec == ViewSpec() and len(browser.indices) == len(labels)
        browser.show_cell((3, 5))
        await pilot.press("o")  # a cell is an order of its own: it gives way, and says so (it went silently)
        assert browser.spec.cell is None and browser.spec.order == "index"
        assert any("3→5 cell gave way" in str(n.message) for n in app._notifications)


def test_a_stale_confusion_filter_says_so_and_how_to_leave_it():
    labels = np.array([8, 8, 6, 1])
    probs = np.eye(10, dtype=np.float32)[[8, 8, 6, 1]]  # no 8 taken for a 6 any more
    view = build_view(ViewSpec(cell=(8, 6)), probs, labels, epoch=5)
    assert len(view.indices) == 0
    assert view.empty_hint == "no 8→6 mistakes left after epoch 5: esc for all digits"


async def test_at_80x24_the_plots_keep_half_the_width_and_p_shows_the_epochs(resumed_app):  # noqa: F811
    app, feed = resumed_app
    async with app.run_test(size=(80, 24)) as pilot:
        await feed(pilot)
        dashboard = app.dashboard
        assert dashboard.query_one(PlotsPanel).size.width >= 40
        assert "side_panel" in actions(dashboard)
        epochs, browser = dashboard.query_one("#epochs"), dashboard.browser
        assert browser.display and not epochs.display
        await pilot.press("p")
        assert epochs.display and not browser.display
        await pilot.press("p")
        assert browser.display
        await pilot.press("p", "w")  # a filter while the epochs show: its digits come to the front
        assert browser.display and not epochs.display and browser.spec.wrong_only
        # one epoch plot fits: e swaps accuracy for the losses (the test loss had no plot here)
        plots = dashboard.query_one(PlotsPanel)
        assert "epoch_plot" in actions(dashboard)
        assert plots.accuracy.display and not plots.epoch_losses.display
        await pilot.press("e")
        await pilot.pause(0.05)
        assert plots.epoch_losses.display and not plots.accuracy.display
        # the panel's 40 columns, less the gutter between the plots' right-hand labels and the side boxes
        assert plots.epoch_losses.size.height >= 8 and plots.epoch_losses.size.width >= 39
        rendered = "\n".join(line.text for line in plots.epoch_losses.render_lines(plots.epoch_losses.size.region))
        assert "loss" in rendered and "test" in rendered
        await pilot.press("e")
        assert plots.accuracy.display and not plots.epoch_losses.display
        commands = [c.title for c in app.get_system_commands(app.dashboard)]
    assert "Maximize" not in commands and "Side panel" in commands
    assert commands.count("Quit") == 1 and "Keys" not in commands  # Textual's second Quit, its keys panel


def _headless(*extra: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "mnist_tui", "--headless", "--dataset", "synthetic", "--device", "cpu"]
    command += ["--limit-train", "1000", "--epochs", "2", *extra]
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "80"}
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=REPO)


def test_headless_output_to_a_pipe_is_one_record_a_line(tmp_path):
    out = _headless("--run-dir", str(tmp_path / "run"))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "\x1b" not in out.stdout, "escape codes in piped output"
    assert all(line == line.rstrip() for line in lines), "trailing spaces"
    header = [line for line in lines if line.startswith("mnist-tui · ")]
    assert len(header) == 1 and "run folder" in header[0] and "parameters" in header[0]  # not wrapped at 80
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert [re.match(r"epoch (\d)/2: train loss [\d.]+ acc [\d.]+% · .* samples/s$", e).group(1) for e in epochs] == [
        "1",
        "2",
    ]
    assert lines[-1].startswith("finished after 2 epochs")


def test_log_format_json_is_one_object_per_event(tmp_path):
    out = _headless("--run-dir", str(tmp_path / "run"), "--log-format", "json", "--tests-per-epoch", "2")
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stdout.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "state" and "ready" in kinds and kinds[-1] == "finished"
    settings = next(e for e in events if e["event"] == "ready")["settings"]  # what the run trains with
    assert settings["tests_per_epoch"] == 2 and settings["run_dir"] == str(tmp_path / "run")
    epochs = [e for e in events if e["event"] == "epoch"]
    assert [e["epoch"] for e in epochs] == [1, 2] and all(0 <= e["test_acc"] <= 1 for e in epochs)
    batches = [e for e in events if e["event"] == "batch"]
    assert batches and all(len(b["losses"]) == len(b["lrs"]) for b in batches)


@pytest.mark.parametrize("flag", ["--log-format"])
def test_log_format_needs_headless(flag):
    out = subprocess.run(
        [sys.executable, "-m", "mnist_tui", flag, "json"], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert out.returncode == 2 and out.stderr.strip().splitlines() == [
        "mnist-tui: error: --log-format only goes with --headless"
    ]


async def test_i_on_the_draw_screen_opens_the_model_view_with_the_runs_layers_and_test_digits(resumed_app):  # noqa: F811
    """Opened from the draw screen, the model view's Layers and Embedding tabs were empty: it got
    the drawing alone, not the run's layer statistics and test digits as the dashboard's ``i`` does."""
    from mnist_tui.insight.layer_records import LayerStatsRecord
    from mnist_tui.insight.layer_stats import epoch_layer_stats, weights_copy
    from mnist_tui.model import Net
    from mnist_tui.tui.screens.model_view import ModelViewScreen

    app, feed = resumed_app
    async with app.run_test(size=(120, 40)) as pilot:
        await feed(pilot)
        net = Net()
        record = epoch_layer_stats(3, net, weights_copy(net))
        assert isinstance(record, LayerStatsRecord)
        app.dashboard.layer_records = [record]
        await pilot.press("d")
        assert isinstance(app.screen, DrawScreen)
        await pilot.press("enter", "down", "down", "enter", "i")
        await pilot.pause(0.05)
        view = app.screen
        assert isinstance(view, ModelViewScreen) and view.index is None and view.image is not None
        assert [r.epoch for r in view.records] == [3]
        assert view.test_images is app.dashboard.browser.images and view.test_images is not None


def test_help_names_every_key_of_the_dashboard():
    """Help left out R (the workspace) and p (the side panel) though both are keys."""
    from textual.app import App
    from textual.binding import Binding

    from mnist_tui.tui.screens.dashboard_keys import DASHBOARD_KEYS
    from mnist_tui.tui.screens.help import KEYS

    app = App()
    named = {token for keys, _ in KEYS for token in re.split(r"[\s,/]+", keys)} | {str(d) for d in range(10)}
    shown = [app.get_key_display(Binding(b.key.split(",")[0], "")) for b in DASHBOARD_KEYS]
    missing = [key for key in shown if key not in named]
    assert missing == []


def test_a_long_browser_title_keeps_its_filters_and_counts():
    """At 80 columns "all digits, by index · wrong only (113)" showed "all digits, by index · …"."""
    from mnist_tui.tui.widgets.predictions import fit_title

    assert fit_title("all digits, by index · wrong only (113)", 27) == "by index · wrong only (113)"
    assert fit_title("all digits, by index · wrong only (113)", 26) == "by index · wrong (113)"
    assert fit_title("true 7 → predicted 1: 6 confused", 20) == "7→1: 6 confused"  # which digits stays
    assert fit_title("true digit 7 (1,028) · wrong only (55)", 22) == "7s · wrong (55)"  # no number cut
    assert fit_title("all test digits", 40) == "all test digits"
    assert len(fit_title("x" * 50, 12)) == 12


def test_a_key_that_cannot_act_says_why_where_the_reason_lasts():
    """A replay took space, a, S, +, - and s in silence; a finished run's space too."""
    from mnist_tui.sources.base import Capabilities
    from mnist_tui.tui.screens.dashboard_keys import key_actions, refusal

    replay = Capabilities()
    follower = Capabilities(pause=True, stop=True, live=True, steer=True)
    local = Capabilities(start=True, pause=True, stop=True, save=True, live=True, steer=True, extend=True, local=True)
    assert key_actions("space") == ["start", "pause", "resume"] and key_actions("plus") == ["steer_lr"]
    for key in ("space", "a", "plus", "minus", "S"):
        said = refusal(key_actions(key), "finished", replay, Path("runs/r1"), 9)
        assert said is not None and said.startswith("nothing trains here, the run is only shown"), key
        # a finished run's --resume without --epochs trains nothing (headless refuses it): N > 9 trains on
        assert ("--resume runs/r1 --epochs 14" in said) == (key != "S"), key
    stopped = refusal(key_actions("space"), "stopped", replay, Path("runs/r1"), 4)
    assert stopped.endswith("--resume runs/r1")  # a stopped run trains on to its plan
    for key in ("space", "S", "plus", "a"):  # a follower before its run trains took them in silence
        assert refusal(key_actions(key), "waiting", follower, Path("f")) == (
            "the run is not training yet: its keys act once it does"
        ), key
    assert refusal(key_actions("s"), "waiting", follower, Path("f")).endswith("it saves its own checkpoints")
    assert refusal(key_actions("s"), "training", follower, Path("f")) == (
        "the run trains in another process: it saves its own checkpoints"
    )
    assert refusal(key_actions("space"), "finished", local, None) == "the run has finished; a trains 5 more"
    assert refusal(key_actions("space"), "stopped", local, Path("r")) == (
        "the run was stopped; to train it on: mnist-tui --resume r"
    )
    assert refusal(key_actions("a"), "finished", follower, Path("f"), 3) == (
        "the run has finished; to train it on: mnist-tui --resume f --epochs 8"
    )
    assert refusal(key_actions("S"), "failed", local, None) == "the run failed already"
    # a replay of a run another process still trains: its writer holds the folder, --resume is refused
    steer = "the run trains in another process; to steer it: mnist-tui --follow r"
    assert refusal(key_actions("space"), "so far", replay, Path("r")) == steer
    assert refusal(key_actions("a"), "so far", replay, Path("r")) == steer
    # refused only for now (loading, pausing) or not a run key: nothing said
    assert refusal(key_actions("space"), "pausing", local, None) is None
    assert refusal(key_actions("plus"), "loading", follower, None) is None
    assert refusal(key_actions("x"), "finished", replay, None) is None


async def test_a_at_the_plans_limit_says_so_and_asks_the_run_for_nothing(resumed_app, monkeypatch):  # noqa: F811
    """At the 100,000-epoch limit `a` said "5 more epochs…" and the run trained none."""
    from mnist_tui.tui.screens import dashboard as dashboard_module

    monkeypatch.setattr(dashboard_module, "MAX_EPOCHS", 12)  # the plan is 10: 5 more would pass it
    app, feed = resumed_app
    async with app.run_test(size=(120, 40)) as pilot:
        await feed(pilot)
        asked = []
        monkeypatch.setattr(app.dashboard, "ask_source", lambda *request: asked.append(request))
        await pilot.press("a")
        await notified(pilot, lambda text: text == "the plan is at its limit: 12 epochs")
        assert not asked
