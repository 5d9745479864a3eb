"""The confusion-matrix panel in a tiny standalone app: counts, shading, choosing a cell."""

from __future__ import annotations

import numpy as np
from textual.app import App, ComposeResult
from waiting import pilot_wait as wait_for

from mnist_tui.tui.widgets.confusion import HEADER_ROWS, LABEL_WIDTH, ConfusionMatrix


def _confusion() -> np.ndarray:
    confusion = np.diag(np.arange(100, 110))
    confusion[3, 5] = 17
    confusion[9, 4] = 2
    confusion[0, 0] = 1135  # four digits still fit a cell
    return confusion


class MatrixApp(App):
    def __init__(self) -> None:
        super().__init__()
        self.chosen: list[tuple[int, int, int]] = []

    def compose(self) -> ComposeResult:
        yield ConfusionMatrix(id="confusion")

    def on_confusion_matrix_cell_selected(self, message: ConfusionMatrix.CellSelected) -> None:
        self.chosen.append((message.true, message.predicted, message.count))


def _lines(matrix: ConfusionMatrix) -> list[str]:
    return matrix.render().plain.splitlines()


async def test_counts_are_shown_in_their_cells():
    app = MatrixApp()
    async with app.run_test(size=(80, 24)) as pilot:
        matrix = app.query_one(ConfusionMatrix)
        assert "no confusion matrix yet" in matrix.render().plain
        matrix.set_confusion(_confusion(), epoch=2)
        lines = _lines(matrix)
        assert len(lines) == 1 + 10
        assert lines[0].split()[1:] == [str(j) for j in range(10)]
        row3 = lines[1 + 3][LABEL_WIDTH:]
        cells = [row3[5 * j : 5 * j + 5].strip() for j in range(10)]
        assert cells == ["0", "0", "0", "103", "0", "17", "0", "0", "0", "0"]
        assert lines[1][LABEL_WIDTH : LABEL_WIDTH + 5].strip() == "1135"
        assert "epoch 2" in matrix.border_title
        total = int(_confusion().sum())
        assert f"{total - 19:,}/{total:,} right" in matrix.border_subtitle
        await pilot.pause(0.05)


async def test_shading_marks_right_and_wrong_cells():
    app = MatrixApp()
    async with app.run_test(size=(80, 24)):
        matrix = app.query_one(ConfusionMatrix)
        matrix.set_confusion(_confusion())
        spans = {(s.start, s.end): s.style for s in matrix.render().spans}
        line_starts = np.cumsum([0] + [len(line) + 1 for line in _lines(matrix)])

        def style_of(i: int, j: int):
            start = line_starts[HEADER_ROWS + i] + LABEL_WIDTH + 5 * j
            return spans[(start, start + 5)]

        assert style_of(3, 3).bgcolor.triplet.green > 0 and style_of(3, 3).bgcolor.triplet.red == 0
        worst, rare = style_of(3, 5).bgcolor.triplet, style_of(9, 4).bgcolor.triplet
        assert worst.red > rare.red > 0  # the worst confusion is the reddest
        assert style_of(1, 2).bgcolor is None  # empty cells stay unshaded


async def test_keys_move_the_cursor_and_enter_chooses_the_cell():
    app = MatrixApp()
    async with app.run_test(size=(80, 24)) as pilot:
        matrix = app.query_one(ConfusionMatrix)
        matrix.set_confusion(_confusion())
        matrix.focus()
        await pilot.press("down", "down", "down", *["right"] * 5, "enter")
        await wait_for(pilot, lambda: app.chosen)
        assert app.chosen == [(3, 5, 17)]
        await pilot.press(*["up"] * 12, *["left"] * 12, "enter")  # clamped at the corner
        await wait_for(pilot, lambda: len(app.chosen) == 2)
        assert app.chosen[-1] == (0, 0, 1135)


async def test_clicking_a_cell_chooses_it():
    app = MatrixApp()
    async with app.run_test(size=(80, 24)) as pilot:
        matrix = app.query_one(ConfusionMatrix)
        matrix.set_confusion(_confusion())
        await pilot.click("#confusion", offset=(LABEL_WIDTH + 5 * 4 + 2, HEADER_ROWS + 9))
        await wait_for(pilot, lambda: app.chosen)
        assert app.chosen == [(9, 4, 2)]
        assert matrix.cursor == (9, 4) and matrix.has_focus
        await pilot.click("#confusion", offset=(1, HEADER_ROWS + 2))  # a row label: nothing chosen
        await pilot.pause(0.05)
        assert len(app.chosen) == 1


async def test_enter_before_any_epoch_posts_nothing():
    app = MatrixApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one(ConfusionMatrix).focus()
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert app.chosen == []


async def test_the_screen_opened_before_the_first_epoch_grows_to_the_whole_matrix():
    """At 80×24 the box kept the 3-line "no matrix yet" height: rows 3-9 were hidden, no scrollbar."""
    from mnist_tui.tui.screens.confusion import ConfusionScreen

    app = App()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = ConfusionScreen(None)
        await app.push_screen(screen)
        await pilot.pause(0.05)
        screen.set_confusion(_confusion(), epoch=1)
        await pilot.pause(0.05)
        assert screen.matrix.size.height == 1 + 10


def test_a_matrix_that_will_not_come_is_not_promised():
    """A replay whose checkpoint could not be used: `x` said the matrix "fills in after each epoch"."""
    from mnist_tui.tui.widgets.confusion import ConfusionMatrix

    assert "fills in after each epoch" in ConfusionMatrix().render().plain
    replayed = ConfusionMatrix(none_coming="this replay has no model").render().plain
    assert "this replay has no model" in replayed and "fills in" not in replayed


async def test_a_matrix_that_will_not_come_offers_no_digits_to_show():
    """Its footer still offered "⏎ Show these digits", and the hint "enter: browse those test digits"."""
    from mnist_tui.tui.screens.confusion import ConfusionScreen

    for none_coming, offered in (("", True), ("the run failed", False)):
        app = App()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = ConfusionScreen(None, none_coming=none_coming)
            await app.push_screen(screen)
            await pilot.pause(0.05)
            footer = {b.action for (_, b, enabled, _) in screen.active_bindings.values() if enabled}
            assert ("choose" in footer) == offered
            assert ("enter" in str(screen.query_one("#confusion-hint").content)) == offered


async def test_an_empty_cell_is_not_chosen_and_says_why():
    """Enter on a cell of 0 opened an empty browser that said "no 4→4 digits left after epoch 2",
    of a cell that never held one."""
    app = MatrixApp()
    async with app.run_test(size=(80, 24)) as pilot:
        matrix = app.query_one(ConfusionMatrix)
        matrix.set_confusion(_confusion(), epoch=2)
        matrix.focus()
        await pilot.press("right", "enter")  # true 0 predicted 1: none
        await pilot.pause(0.1)
        assert app.chosen == []
        assert any(
            "no test digit is a true 0 predicted as 1 after epoch 2" in str(n.message) for n in app._notifications
        )


async def test_an_empty_view_ends_its_title_with_no_dangling_count():
    """The browser's title for an empty view ended "…: 0 right · 0", and its hint touched the border."""
    from mnist_tui.tui.widgets.predictions import PredictionsPanel

    class PanelApp(App):
        def compose(self) -> ComposeResult:
            yield PredictionsPanel()

    app = PanelApp()
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.query_one(PredictionsPanel)
        panel.set_data(np.zeros((3, 28, 28), np.uint8), np.array([4, 4, 1]))
        panel.set_view(np.zeros(0, np.int64), "true 4 → predicted 4: 0 right", "no 4→4 digits after epoch 2")
        await pilot.pause(0.05)
        assert panel.border_subtitle == "true 4 → predicted 4: 0 right"
        assert panel.render().plain == " no 4→4 digits after epoch 2"
        panel.set_view(np.array([0, 1], np.int64), "true digit 4 (2)")
        await pilot.pause(0.05)
        assert panel.border_subtitle == "true digit 4 (2) · 1/2"
