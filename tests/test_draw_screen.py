"""The draw screen in a tiny standalone app: mouse and keyboard painting, live prediction."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from textual.app import App
from waiting import pilot_wait as wait_for

from mnist_tui.drawing import CENTRE, centre_of_mass, mnist_like
from mnist_tui.tui.screens.draw import DrawScreen
from mnist_tui.tui.widgets.draw_canvas import DrawCanvas, grey


class Recorder:
    """A predict function that remembers what it was shown and answers 'the digit is 7'."""

    def __init__(self) -> None:
        self.grids: list[np.ndarray] = []

    def __call__(self, grid: np.ndarray) -> np.ndarray:
        self.grids.append(grid)
        out = np.full(10, 0.02, dtype=np.float32)
        out[7] = 0.82
        return out


class DrawApp(App):
    def __init__(self, predict, grid=None) -> None:
        super().__init__()
        self.predict, self.grid, self.closed_with = predict, grid, None

    def on_mount(self) -> None:
        self.push_screen(DrawScreen(self.predict, lambda: "test model", self.grid), self.remember_drawing)

    def remember_drawing(self, grid) -> None:
        self.closed_with = grid


async def _screen(pilot) -> DrawScreen:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, DrawScreen) and pilot.app.screen.is_mounted)
    return pilot.app.screen


async def test_mouse_drag_paints_the_cells_under_the_pointer_and_predicts():
    predict = Recorder()
    app = DrawApp(predict)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _screen(pilot)
        canvas = screen.canvas
        assert canvas.scale == 2
        # offsets are in the widget's region: 1 for the border, then 2 columns per MNIST pixel
        await pilot.mouse_down("#draw-canvas", offset=(1 + 2 * 5, 1 + 4))
        for col in range(6, 21):
            await pilot.hover("#draw-canvas", offset=(1 + 2 * col, 1 + 4))
        for row in range(5, 23, 3):  # a fast drag: rows skipped in between are still painted
            await pilot.hover("#draw-canvas", offset=(1 + 2 * 20, 1 + row))
        await pilot.mouse_up("#draw-canvas", offset=(1 + 2 * 20, 1 + 22))
        grid = canvas.grid
        assert np.all(grid[4, 5:21] == 1.0)  # the top bar of a '7'
        assert np.all(grid[4:23, 20] == 1.0)  # its stem, with no gaps
        assert grid[3, 10] == 0.5 and grid[5, 10] == 0.5  # the soft brush's edge
        assert grid[15, 5] == 0.0
        # the canvas shows the grid: each MNIST pixel is 2×2 canvas pixels in its own grey
        assert canvas.get_pixel(2 * 10, 2 * 4) == grey(1.0) == canvas.get_pixel(2 * 10 + 1, 2 * 4 + 1)
        assert canvas.get_pixel(2 * 10, 2 * 3) == grey(0.5)
        assert canvas.get_pixel(2 * 2, 2 * 15) == grey(0.0)
        await wait_for(pilot, lambda: screen.probabilities is not None and np.array_equal(predict.grids[-1], grid))
        assert int(np.argmax(screen.probabilities)) == 7


async def test_right_button_erases():
    app = DrawApp(Recorder(), grid=np.ones((28, 28), dtype=np.float32))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _screen(pilot)
        await pilot.mouse_down("#draw-canvas", offset=(1 + 2 * 10, 1 + 10), button=3)
        await pilot.hover("#draw-canvas", offset=(1 + 2 * 14, 1 + 10))
        await pilot.mouse_up("#draw-canvas", offset=(1 + 2 * 14, 1 + 10))
        grid = screen.canvas.grid
        assert not grid[9:12, 9:16].any()  # the brush's 3×3 footprint along the drag: as wide as a stroke
        assert grid[8, 12] == 1.0 and grid[12, 12] == 1.0 and grid[10, 16] == 1.0 and grid[0, 0] == 1.0


async def test_keyboard_draws_with_the_pen_down_erases_and_c_clears():
    predict = Recorder()
    app = DrawApp(predict)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _screen(pilot)
        canvas = screen.canvas
        assert canvas.cursor == (14, 14) and canvas.has_focus and canvas.show_cursor  # visible from the start
        await pilot.press("enter")  # pen down: paints here
        await pilot.press("down", "j", "down", "j")  # and wherever it moves, one key a pixel
        await pilot.press("enter", "right", "l")  # pen up: moves without painting
        assert np.all(canvas.grid[14:19, 14] == 1.0) and canvas.grid[18, 16] < 1.0
        await pilot.press("enter", "enter")  # down and up: one dab where the pen is
        assert canvas.grid[18, 16] == 1.0
        await pilot.press("e", "up", "h", "h", "enter", "enter")  # eraser on, pen down and up at (17, 14)
        assert canvas.grid[17, 14] == 0.0
        await wait_for(pilot, lambda: predict.grids and np.array_equal(predict.grids[-1], canvas.grid))
        await pilot.press("c")
        assert canvas.grid.sum() == 0
        await wait_for(pilot, lambda: screen.probabilities is None and screen.shown_generation == screen.generation)


async def test_the_model_is_shown_a_centred_20x20_digit():
    predict = Recorder()
    app = DrawApp(predict)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _screen(pilot)
        # a small stroke in the top-left corner
        await pilot.mouse_down("#draw-canvas", offset=(1 + 2 * 2, 1 + 2))
        for step in range(1, 9):
            await pilot.hover("#draw-canvas", offset=(1 + 2 * (2 + step), 1 + 2 + step))
        await pilot.mouse_up("#draw-canvas", offset=(1 + 2 * 10, 1 + 10))
        await wait_for(pilot, lambda: screen.query_one("#draw-input").image is not None)
        await wait_for(pilot, lambda: np.array_equal(predict.grids[-1], screen.canvas.grid))
        shown = screen.query_one("#draw-input").image
        assert np.array_equal(shown, mnist_like(screen.canvas.grid))
        cy, cx = centre_of_mass(shown)
        assert abs(cy - CENTRE) <= 0.5 and abs(cx - CENTRE) <= 0.5
        rows, cols = np.flatnonzero(shown.any(1)), np.flatnonzero(shown.any(0))
        assert rows[-1] - rows[0] + 1 <= 20 and cols[-1] - cols[0] + 1 <= 20


async def test_small_terminal_uses_the_compact_canvas_and_mouse_paints_two_rows():
    app = DrawApp(Recorder())
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _screen(pilot)
        canvas = screen.canvas
        assert canvas.scale == 1 and canvas.region.height == 16
        await pilot.click("#draw-canvas", offset=(1 + 9, 1 + 5))
        assert canvas.grid[10, 9] == 1.0 and canvas.grid[11, 9] == 1.0
        assert canvas.get_pixel(9, 10) == grey(1.0)


async def test_escape_returns_the_drawing_and_no_model_is_a_hint():
    app = DrawApp(lambda grid: None)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _screen(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.shown_generation == screen.generation and screen.generation > 0)
        assert screen.probabilities is None
        assert "no model yet" in screen.query_one("#draw-guess").note
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.closed_with is not None)
        assert app.closed_with[14, 14] == 1.0


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_canvas_fits_the_terminal(size):
    app = DrawApp(Recorder())
    async with app.run_test(size=size) as pilot:
        screen = await _screen(pilot)
        canvas = screen.query_one(DrawCanvas)
        region = canvas.content_region
        assert region.width == 28 * canvas.scale and region.height == 14 * canvas.scale
        assert canvas.region.right <= size[0] and canvas.region.bottom <= size[1]
        await asyncio.sleep(0)


async def test_a_second_stroke_right_after_the_first_paints_too():
    """Two strokes in quick succession (a '4', a 't'): the first stroke's late capture
    release must not end the second one."""
    app = DrawApp(Recorder())
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _screen(pilot)
        for row, cols in ((5, range(3, 12)), (15, range(3, 12))):
            await pilot.mouse_down("#draw-canvas", offset=(1 + 2 * cols[0], 1 + row))
            for col in cols[1:]:
                await pilot.hover("#draw-canvas", offset=(1 + 2 * col, 1 + row))
            await pilot.mouse_up("#draw-canvas", offset=(1 + 2 * cols[-1], 1 + row))
        grid = screen.canvas.grid
        assert np.all(grid[5, 3:12] == 1.0) and np.all(grid[15, 3:12] == 1.0)


async def test_a_late_capture_release_does_not_end_the_next_stroke():
    """In a real terminal the next press can be handled before the release of the last
    stroke's capture arrives (seen in tmux: a '4's second stroke painted one dot)."""
    app = DrawApp(Recorder())
    async with app.run_test(size=(120, 40)) as pilot:
        canvas = (await _screen(pilot)).canvas
        canvas._stroke = "paint"
        canvas.capture_mouse()
        await pilot.pause(0.05)
        canvas._end_stroke()  # queues MouseRelease for the canvas...
        canvas._stroke = "paint"  # ...but the next press is handled first
        canvas.capture_mouse()
        await pilot.pause(0.1)
        assert canvas._stroke == "paint" and app.mouse_captured is canvas
        canvas._end_stroke()
        await pilot.pause(0.1)
        assert canvas._stroke is None and app.mouse_captured is None


async def test_i_opens_the_model_view_on_the_drawing():
    from mnist_tui.tui.screens.model_view import ModelViewScreen

    app = DrawApp(Recorder())
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _screen(pilot)
        await pilot.press("enter", "down", "down", "down", "enter")  # a short stroke
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelViewScreen), "the model view")
        view = app.screen
        assert view.index is None and view.image is not None  # the drawing, as the model sees it
        assert view.image.shape == (28, 28) and view.image.max() > 0
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, "back to the drawing")


@pytest.mark.parametrize("size", [(120, 40), (80, 24), (70, 24)])
async def test_the_models_input_is_shown_where_it_fits(size):
    """At 80×24 the preview of what the model sees was left out (under the bars it needed 27 rows
    of 20): it now stands beside them, whole. Below 80 columns there is no room for it."""
    app = DrawApp(Recorder())
    async with app.run_test(size=size) as pilot:
        screen = await _screen(pilot)
        await pilot.pause(0.05)
        preview, bars = screen.query_one("#draw-input"), screen.query_one("#draw-guess")
        if size[0] < 80:
            assert not preview.display or not screen.query_one("#draw-input-box").display
            return
        region = preview.region
        assert (region.width, region.height) == (28, 14)
        assert region.right <= size[0] and region.bottom <= size[1] - 3  # above the hint and the footer
        assert not region.overlaps(bars.region) and not region.overlaps(screen.canvas.region)


async def test_the_bars_fit_the_screen_after_a_resize():
    """At 120×40, a stroke, then 80×24: every bar kept its width and wrapped onto a second line."""
    app = DrawApp(Recorder())
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _screen(pilot)
        await pilot.press("enter", "down", "enter")
        await wait_for(pilot, lambda: screen.shown_generation == screen.generation and screen.generation > 0)
        bars = screen.query_one("#draw-guess")
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.1)
        assert bars.content_size.height <= 12, bars.content_size  # headline, ten bars, the note: no wraps


async def test_its_help_lists_the_drawing_keys_under_its_own_title_and_no_scrolling():
    """`?` listed Home, End, Page Up … Page Right (the canvas inherits Textual's scrolling) under
    the dashboard's title."""
    from mnist_tui.tui.screens.help import screen_keys

    app = DrawApp(Recorder())
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _screen(pilot)
        await wait_for(pilot, lambda: screen.focused is not None, "the canvas to take the keys")
        rows = dict((what, keys) for keys, what in screen_keys(screen))
        assert rows["Move up"] == "↑ k" and rows["Pen down/up"] == "⏎" and "Eraser" in rows, rows
        assert not {"Scroll Home", "Scroll End", "Page Up", "Page Left"} & set(rows), rows
    assert DrawScreen.HELP_TITLE.startswith("Draw a digit")


async def test_the_footer_names_the_mode_e_switches_to_and_e_switches_back():
    """The footer always read "e Eraser": which mode the left button was in was said only in a
    two-second notice."""
    from textual.widgets._footer import FooterKey

    app = DrawApp(Recorder())
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _screen(pilot)

        def offered() -> set[str]:
            return {k.description for k in screen.query(FooterKey) if k.key == "e"}

        await wait_for(pilot, lambda: offered() == {"Eraser"}, "e Eraser")
        await pilot.press("e")
        assert screen.canvas.eraser
        await wait_for(pilot, lambda: offered() == {"Pen"}, "e Pen, once erasing")
        await pilot.press("e")
        assert not screen.canvas.eraser
        await wait_for(pilot, lambda: offered() == {"Eraser"}, "e Eraser again")
