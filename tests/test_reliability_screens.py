"""Issue 16: a modal screen dismissed twice, or acted on while closing, never takes the app down.

``Screen.dismiss`` pops whatever is on top: a second dismiss used to pop the dashboard itself
(``ScreenStackError``, the app dead). The dashboard runs with no training worker here, so
``pilot.press`` and ``pilot.pause`` wait for a truly idle app.
"""

from __future__ import annotations

import numpy as np
import pytest

from mnist_tui.sources.training import TrainingSource
from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.screens.confusion import ConfusionScreen
from mnist_tui.tui.screens.draw import DrawScreen
from mnist_tui.tui.screens.help import HelpScreen
from mnist_tui.tui.screens.model_view import ModelViewScreen

SIZE = (120, 40)
SCREENS = {"?": HelpScreen, "x": ConfusionScreen, "d": DrawScreen, "i": ModelViewScreen}


def _stack(app) -> list[str]:
    return [type(screen).__name__ for screen in app.screen_stack]


async def _open(pilot, key: str):
    await pilot.press(key)
    await pilot.pause()
    assert isinstance(pilot.app.screen, SCREENS[key]), _stack(pilot.app)
    return pilot.app.screen


@pytest.mark.parametrize("key", list(SCREENS))
async def test_dismiss_called_twice_closes_once(tiny_config, key):
    app = MnistApp(TrainingSource(tiny_config, hold=True), launch=False)
    async with app.run_test(size=SIZE) as pilot:
        dashboard = app.screen
        screen = await _open(pilot, key)
        screen.dismiss()
        screen.dismiss()  # used to pop the dashboard too
        await pilot.pause()
        assert app.screen is dashboard and len(app.screen_stack) == 1
        assert app.is_running
        await _open(pilot, key)  # and it opens again as usual


@pytest.mark.parametrize("key", list(SCREENS))
@pytest.mark.parametrize("closer", ["escape", "toggle"])
async def test_a_closing_key_pressed_twice_quickly(tiny_config, key, closer):
    """The second key reaches the closing screen or the dashboard (where ``?``/``x``/``d`` open it again)."""
    closer = key if closer == "toggle" else closer
    app = MnistApp(TrainingSource(tiny_config, hold=True), launch=False)
    async with app.run_test(size=SIZE) as pilot:
        dashboard = app.screen
        await _open(pilot, key)
        await pilot.press(closer, closer, closer, closer)
        await pilot.pause()
        assert app.is_running
        assert app.screen_stack[0] is dashboard and len(app.screen_stack) <= 2, _stack(app)


async def test_a_chosen_cell_and_a_pending_escape_browse_once(tiny_config, monkeypatch):
    app = MnistApp(TrainingSource(tiny_config, hold=True), launch=False)
    chosen: list = []
    monkeypatch.setattr(app.dashboard, "_browse_cell", chosen.append)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ConfusionScreen)
        screen.dismiss((3, 5))  # a cell picked with the mouse ...
        screen.action_dismiss_none()  # ... while escape was already queued
        screen.set_confusion(np.eye(10, dtype=np.int64), 2)  # and an epoch ends as it closes
        await pilot.pause()
        assert len(app.screen_stack) == 1 and app.is_running
    assert chosen == [(3, 5)]


async def test_draw_actions_after_close_do_nothing(tiny_config):
    app = MnistApp(TrainingSource(tiny_config, hold=True), launch=False)
    kept: list = []
    app.dashboard._keep_drawing = kept.append  # what the dashboard keeps for the next visit
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, "d")
        screen.action_close()
        screen.action_close()
        screen.action_clear()
        screen.action_eraser(True)
        screen.refresh_guess()  # an epoch ending: the dashboard asks every draw screen to re-predict
        await pilot.pause()
        assert len(app.screen_stack) == 1 and app.is_running
    assert len(kept) == 1 and isinstance(kept[0], np.ndarray)
