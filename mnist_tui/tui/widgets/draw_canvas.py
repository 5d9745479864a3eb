"""A 28×28 paint grid on textual-canvas, drawn with the mouse or the keyboard.

At ``scale=2`` (the default) each MNIST pixel is 2×2 canvas pixels: two columns of one
terminal row, close to square, 56 columns × 28 rows in all. Short terminals use
``scale=1``: one canvas pixel (half a row) per MNIST pixel, 28 × 14; the mouse, which
only knows whole rows, then paints both MNIST rows of a row.

Left drag paints with the soft brush, right drag erases. The keyboard cursor (arrows,
space/enter to paint, x to erase) works in terminals without a mouse. Every change
posts :class:`mnist_tui.tui.messages.Changed` with a copy of the grid.
"""

from __future__ import annotations

import numpy as np
from textual import events
from textual.binding import Binding
from textual.color import Color
from textual_canvas import Canvas

from mnist_tui.drawing import SIZE, brush_patch, line_cells, paint
from mnist_tui.tui import messages as msg

CURSOR = Color(255, 140, 0)
PAPER = Color(0, 0, 0)


def grey(value: float) -> Color:
    level = int(round(255 * min(max(float(value), 0.0), 1.0)))
    return Color(level, level, level)


class DrawCanvas(Canvas):
    ALLOW_SELECT = False
    BINDINGS = [
        Binding("up,k", "move(-1, 0)", "Move up", show=False),
        Binding("down,j", "move(1, 0)", "Move down", show=False),
        Binding("left,h", "move(0, -1)", "Move left", show=False),
        Binding("right,l", "move(0, 1)", "Move right", show=False),
        Binding("enter", "toggle_pen", "Pen down/up"),  # enter acts on what is under the cursor, as elsewhere
    ]

    Changed = msg.Changed  # (in messages.py, with the app's other messages)

    def __init__(self, scale: int = 2, **kwargs) -> None:
        super().__init__(SIZE * scale, SIZE * scale, canvas_color=PAPER, **kwargs)
        self.scale = scale
        self.grid = np.zeros((SIZE, SIZE), dtype=np.float32)
        self.cursor = (SIZE // 2, SIZE // 2)
        self.eraser = False  # True: the left button erases too (for a mouse without a right button)
        self.show_cursor = True  # from the start; hidden while the mouse draws, back with a key
        self.pen_down = False  # keyboard drawing: enter puts the pen down, and moving then paints (or erases)
        self._stroke: str | None = None  # "paint" or "erase" while a mouse button is held
        self._last_cell: tuple[int, int] | None = None

    # -- drawing the grid on the canvas -------------------------------------------------------

    def set_scale(self, scale: int) -> None:
        if scale != self.scale:
            self.scale = scale
            self.clear(PAPER, SIZE * scale, SIZE * scale)
            self.redraw()

    def redraw(self) -> None:
        with self.batch_refresh():
            for row in range(SIZE):
                for col in range(SIZE):
                    self._show_cell(row, col)

    def _show_cell(self, row: int, col: int) -> None:
        s = self.scale
        color = grey(self.grid[row, col])
        if self.show_cursor and (row, col) == self.cursor:
            color = color.blend(CURSOR, 0.7)  # the ink under the cursor still shows through
        self.set_pixels([(col * s + dx, row * s + dy) for dy in range(s) for dx in range(s)], color)

    def _show_around(self, cells) -> None:
        with self.batch_refresh():
            for row, col in cells:
                (rows, cols), _ = brush_patch(self.grid, row, col)
                for r in range(rows.start, rows.stop):
                    for c in range(cols.start, cols.stop):
                        self._show_cell(r, c)

    def _changed(self) -> None:
        self.post_message(self.Changed(self, self.grid.copy()))

    # -- changing the grid ------------------------------------------------------------------------

    def apply(self, cells: list[tuple[int, int]], erase: bool = False) -> None:
        """Brush each (row, col) in ``cells``, show it, and report the change."""
        for row, col in cells:
            paint(self.grid, row, col, erase=erase)
        self._show_around([c for c in cells if 0 <= c[0] < SIZE and 0 <= c[1] < SIZE])
        self._changed()

    def set_grid(self, grid: np.ndarray) -> None:
        self.grid = np.clip(np.asarray(grid, dtype=np.float32), 0, 1).reshape(SIZE, SIZE).copy()
        self.redraw()
        self._changed()

    def clear_drawing(self) -> None:
        self.set_grid(np.zeros((SIZE, SIZE), dtype=np.float32))

    # -- mouse ---------------------------------------------------------------------------------

    def _cells_at(self, event: events.MouseEvent) -> list[tuple[int, int]]:
        offset = event.get_content_offset_capture(self)
        x, y = offset.x + self.scroll_offset.x, offset.y + self.scroll_offset.y
        col = min(max(x // self.scale, 0), SIZE - 1)
        if self.scale == 2:
            return [(min(max(y, 0), SIZE - 1), col)]
        top = min(max(2 * y, 0), SIZE - 2)
        return [(top, col), (top + 1, col)]

    def on_mouse_down(self, event: events.MouseDown) -> None:
        self._stroke = "erase" if event.button == 3 or self.eraser else "paint"
        self.capture_mouse()
        self.focus()
        if self.show_cursor:
            self.show_cursor = False
            self._show_around([self.cursor])
        cells = self._cells_at(event)
        self._last_cell = cells[0]
        self.apply(cells, erase=self._stroke == "erase")
        event.stop()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._stroke is None:
            return
        cells = self._cells_at(event)
        if cells[0] == self._last_cell:
            return
        start = self._last_cell or cells[0]
        path = line_cells(*start, *cells[0])[1:]  # no gaps however fast the drag
        if self.scale == 1:
            path = [(r + dr, c) for r, c in path for dr in (0, 1) if r + dr < SIZE]
        self._last_cell = cells[0]
        self.apply(path, erase=self._stroke == "erase")
        event.stop()

    def on_mouse_up(self, event: events.MouseUp) -> None:
        self._end_stroke()

    def on_mouse_release(self, event: events.MouseRelease) -> None:
        # Posted asynchronously: a quick next stroke may have captured the mouse again already.
        if self.app.mouse_captured is not self:
            self._stroke = None
            self._last_cell = None

    def _end_stroke(self) -> None:
        if self._stroke is not None:
            self._stroke = None
            self._last_cell = None
            self.release_mouse()

    # -- keyboard ----------------------------------------------------------------------------

    def action_move(self, rows: int, cols: int) -> None:
        old = self.cursor
        self.cursor = (min(max(old[0] + rows, 0), SIZE - 1), min(max(old[1] + cols, 0), SIZE - 1))
        self.show_cursor = True
        if self.pen_down and self.cursor != old:
            self.apply([self.cursor], erase=self.eraser)  # one key a pixel, like a pen on paper
        self._show_around([old, self.cursor])

    def action_toggle_pen(self) -> None:
        """Pen down (it paints where it is, and wherever it moves) or up (it only moves)."""
        self.pen_down = not self.pen_down
        self.show_cursor = True
        if self.pen_down:
            self.apply([self.cursor], erase=self.eraser)
        else:
            self._show_around([self.cursor])

    def action_paint(self) -> None:
        self.show_cursor = True
        self.apply([self.cursor])

    def action_erase(self) -> None:
        self.show_cursor = True
        self.apply([self.cursor], erase=True)

    def on_mount(self) -> None:
        self._show_around([self.cursor])  # the cursor is visible before the first key
