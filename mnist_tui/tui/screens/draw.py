"""Draw a digit and watch the model guess it, live (key ``d`` on the dashboard).

The screen is given ``predict(grid) -> probabilities | None``: the dashboard builds it on a
:class:`mnist_tui.drawing.ModelSnapshot` (a private CPU copy of the network refreshed at
each epoch end, or the replayed checkpoint), so predicting never touches the model that
is training. Predictions run in a thread worker; only the newest drawing's result is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional

import numpy as np
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Static

from mnist_tui.tui.screens.once import DismissOnce
from mnist_tui.tui.widgets.draw_canvas import DrawCanvas
from mnist_tui.tui.widgets.guess_bars import GuessBars, ModelInput

Predict = Callable[[np.ndarray], Optional[np.ndarray]]
FULL_SIZE = (92, 34)  # columns, rows needed for the 56×28 canvas beside the bars
COMPACT_PREVIEW_WIDTH = 80  # below: no room beside the 28×14 canvas for both the bars and the preview

HINT = "mouse: drag paints, right-drag erases · keys: arrows/hjkl move, enter pen down/up · e eraser · c clear"


class DrawScreen(DismissOnce, ModalScreen[np.ndarray]):
    """Dismisses with the drawing, so the dashboard can keep it for the next visit.

    Modal, so the dashboard's keys (w, o, x, ...) do not act on the hidden browser meanwhile.
    Dismissed once (see :mod:`.once`); its actions do nothing once it is closing."""

    CSS_PATH = "draw.tcss"
    ALLOW_SELECT = False  # a drag paints; it must not also select the labels' text
    HELP_TITLE = "Draw a digit: the model guesses as you draw"
    BINDINGS = [
        Binding("escape,d,q", "close", "Back"),
        Binding("c", "clear", "Clear"),
        # e switches the left button between paint and erase; the footer names what e gives now
        # (it always read "e Eraser", the mode in force only said in a two-second notice)
        Binding("e", "eraser(True)", "Eraser"),
        Binding("e", "eraser(False)", "Pen"),
        Binding("i", "inside", "Inside"),
        Binding("question_mark", "app.help", "Help"),
    ]

    def __init__(
        self,
        predict: Predict,
        model_note: Callable[[], str] = lambda: "",
        grid: np.ndarray | None = None,
        inside: Callable[[np.ndarray], Screen] | None = None,
        no_model: Callable[[], str] = lambda: "",
    ) -> None:
        super().__init__()
        self.inside = inside  # the dashboard's model view for an image; None: a bare one
        self.predict = predict
        self.model_note = model_note
        self.no_model = no_model  # why no model will come (a replay without one, a failed run); "" while one may
        self.initial_grid = grid
        self.generation = 0  # drawings sent to the model; older answers are dropped
        self.shown_generation = -1
        self.probabilities: np.ndarray | None = None

    def compose(self) -> ComposeResult:
        yield Static("Draw a digit", id="draw-title")
        with Horizontal(id="draw-body"):
            yield DrawCanvas(id="draw-canvas")
            with Vertical(id="draw-side"):
                yield GuessBars(id="draw-guess")
                with Vertical(id="draw-input-box"):
                    yield Static("what the model sees (fitted 20×20, centred by mass):", id="draw-input-label")
                    yield ModelInput(id="draw-input")
        yield Static(HINT, id="draw-hint")
        yield Footer()

    @property
    def canvas(self) -> DrawCanvas:
        return self.query_one(DrawCanvas)

    def on_mount(self) -> None:
        self._fit()
        if self.initial_grid is not None:
            self.canvas.set_grid(self.initial_grid)
        else:
            self.canvas.redraw()
            self.refresh_guess()
        self.canvas.focus()

    def on_resize(self) -> None:
        if not self.dismissed:
            self._fit()

    def _fit(self) -> None:
        width, height = self.app.size
        roomy = width >= FULL_SIZE[0] and height >= FULL_SIZE[1]
        self.canvas.set_scale(2 if roomy else 1)
        self.set_class(not roomy, "-compact")  # the preview beside the bars, not under them
        self.set_class(width < COMPACT_PREVIEW_WIDTH, "-no-preview")

    # -- predicting -------------------------------------------------------------------------

    def on_draw_canvas_changed(self, message: DrawCanvas.Changed) -> None:
        self.refresh_guess(message.grid)

    def refresh_guess(self, grid: np.ndarray | None = None) -> None:
        """Predict the current drawing (again, e.g. after the model changed)."""
        if not self._open():
            return
        self.generation += 1
        self._guess(self.canvas.grid.copy() if grid is None else grid, self.generation)

    @work(thread=True, group="draw-guess", exit_on_error=False)
    def _guess(self, grid: np.ndarray, generation: int) -> None:
        from mnist_tui.drawing import mnist_like

        image = mnist_like(grid)
        probabilities, note = None, "draw a digit"
        if image is not None:
            try:
                probabilities = self.predict(grid)
                why = self.no_model()
                no_model = f"no model: {why}" if why else "no model yet: it comes with the run's first weights"
                note = self.model_note() if probabilities is not None else no_model
            except Exception as exc:  # a broken model must not take the screen down
                note = f"cannot predict: {type(exc).__name__}: {exc}"
        self.app.call_from_thread(self._show_guess, generation, probabilities, image, note)

    def _show_guess(self, generation: int, probabilities, image, note: str) -> None:
        if generation < self.shown_generation or not self.is_mounted or not self._open():
            return
        self.shown_generation = generation
        self.probabilities = probabilities
        self.query_one(GuessBars).show(probabilities, note)
        self.query_one(ModelInput).show(image)

    # -- actions ---------------------------------------------------------------------------

    def _open(self) -> bool:
        """False once dismissed: a key queued behind the closing one must not touch removed widgets."""
        return not self.dismissed

    def action_clear(self) -> None:
        if self._open():
            self.canvas.clear_drawing()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        erasing = any(canvas.eraser for canvas in self.query(DrawCanvas))  # (none before it is composed)
        return action != "eraser" or not parameters or parameters[0] != erasing  # e offers the other mode

    def action_eraser(self, on: bool) -> None:
        if not self._open():
            return
        self.canvas.eraser = on
        self.notify("left button erases" if on else "left button paints", timeout=2)
        self.refresh_bindings()

    def action_close(self) -> None:
        if self._open():
            self.dismiss(self.canvas.grid.copy())

    def action_inside(self) -> None:
        """The model view on this drawing, as the model sees it: activations and saliency."""
        from mnist_tui.drawing import mnist_like
        from mnist_tui.tui.screens.model_view import ModelViewScreen

        image = mnist_like(self.canvas.grid)
        if self.inside is not None:  # with the run's layer statistics and test digits
            self.app.push_screen(self.inside(image))
        else:
            self.app.push_screen(ModelViewScreen(self.predict, image=image, index=None, label=None))
