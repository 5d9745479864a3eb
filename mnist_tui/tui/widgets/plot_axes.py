"""A plot's axes fitted to its canvas and handed to plotext: functions, no Textual state.

Axes are computed in ``plot_ticks`` (nice 1/2/5 ticks aligned to character rows; log axes as
``log10`` data with labelled ticks: plotext's own ``yscale("log")`` cannot be built twice).
Here the y axes take the canvas's rows, their labels take columns from its width, and the x
axis gets the data columns left between them; :func:`window` says where the x axis starts when
a plot shows its last few epochs only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from mnist_tui.tui.widgets.plot_ticks import Axis, inner_axis, label_width, linear_axis, log_axis

LOG_FLOOR = 1e-6  # a value at or below zero is drawn here on a log axis

FRAME_COLS = 2  # plotext's frame, left and right of the data


class PlotAxes(NamedTuple):
    """The axes of one layout, and the data columns left once the y labels are known."""

    y: Axis
    x: Axis
    right: Axis | None
    data_cols: int


def fit_axes(
    canvas: tuple[int, int],
    x_range: tuple[float, float],
    y_values: Sequence[float],
    *,
    log: bool = False,
    right_values: Sequence[float] = (),
    integer_x: bool = False,
    ceiling: float | None = None,
) -> PlotAxes:
    """Nice ticks on every axis for a canvas of (width, rows) cells; the y axis covers ``y_values``
    (on a log axis, in values: :func:`in_plot_units` maps them), the right one ``right_values``."""
    width, rows = canvas
    y_gap = 1 if rows < 8 else 2
    finite = [v for v in y_values if math.isfinite(v)] or [0.0, 1.0]
    if log:
        positive = [max(v, LOG_FLOOR) for v in finite]
        y_axis = log_axis(min(positive), max(positive), rows, y_gap)
    else:
        wanted = 3 if rows >= 2 * y_gap + 1 else 2
        y_axis = linear_axis(min(finite), max(finite), rows, y_gap, ceiling=ceiling, min_ticks=wanted)
    left_w = label_width(y_axis)
    right_axis, right_w = None, 0
    right = [v for v in right_values if math.isfinite(v)]
    if right:
        right_axis = linear_axis(min(0.0, min(right)), max(right), rows, max(y_gap, 2), max_ticks=5)
        right_w = label_width(right_axis)
    cols = max(width - FRAME_COLS - left_w - right_w, 4)
    lo, hi = x_range
    x_gap = len(f"{hi:.0f}") + (3 if integer_x else 5)  # room for a label and spaces
    x_axis = inner_axis(lo, hi, cols, min_gap=x_gap, max_ticks=10, min_step=1.0 if integer_x else 0.0)
    return PlotAxes(y_axis, x_axis, right_axis, cols)


def apply_axes(plt, axes: PlotAxes) -> None:
    """Hand ``axes`` to a plotext figure: limits and labelled ticks, the right axis's too."""
    plt.xlim(axes.x.lo, axes.x.hi)
    plt.xticks(list(axes.x.ticks), list(axes.x.labels))
    plt.ylim(axes.y.lo, axes.y.hi)
    plt.yticks(list(axes.y.ticks), list(axes.y.labels))
    if axes.right:
        plt.ylim(axes.right.lo, axes.right.hi, yside="right")
        plt.yticks(list(axes.right.ticks), list(axes.right.labels), yside="right")


BRAILLE_DOTS = (2, 4)  # a braille character's dots across and down: plotext's line resolution


def on_tick_grid(values: Sequence[float], lo: float, hi: float, cells: int, dots: int) -> list[float]:
    """Values for a braille series whose dots fall where plotext puts ticks and "●" markers.

    plotext maps ``t`` (0 at ``lo``, 1 at ``hi``) to cell ``floor(0.5 + (cells - 1) * t)`` for ticks
    and whole-character markers, but to dot ``floor(0.5 + (cells * dots - 1) * t)`` for braille: the
    dots' scale is longer by ``1 - 1/dots`` of a cell (3/4 down, 1/2 across), so a line sat up to
    3/8 of a cell off its ticks, and a "●" a row above or below its own line (seen at 80×24: the
    10 % point drawn a row under "10┤").
    The value returned for ``t`` puts its dot at ``dots * (0.5 + (cells - 1) * t)``: in the very cell
    of a marker at ``t``, and at the same height within it as the tick's row centre."""
    if not hi > lo or cells < 2:
        return list(values)
    span, scale = hi - lo, cells * dots - 1
    return [lo + span * (dots * (cells - 1) * (v - lo) / span + (dots - 1) / 2) / scale for v in values]


def dodged(
    xs: Sequence[float], ys: Sequence[float], x: Axis, y: Axis, canvas: tuple[int, int], taken: set
) -> list[float]:
    """The x of each marker at (xs, ys), a cell aside where another series' marker took its cell
    (right, else left), and its cell added to ``taken``: conv1's "●" under fc2's "◆" (weight norms
    2.94 and 3.01) never showed. Cells as plotext places markers (see :func:`on_tick_grid`)."""
    (cols, rows), out = canvas, []
    x_cell, y_span = (x.hi - x.lo) / max(cols - 1, 1), (y.hi - y.lo) or 1.0
    for vx, vy in zip(xs, ys, strict=True):
        col, row = round((vx - x.lo) / x_cell) if x_cell else 0, round((vy - y.lo) / y_span * (rows - 1))
        free = [c for c in (col, col + 1, col - 1) if 0 <= c < cols and (c, row) not in taken] or [col]
        taken.add((free[0], row))
        out.append(vx + (free[0] - col) * x_cell)
    return out


def draw_marks(
    plt, markers: list, x: Axis | None, y_axes: dict[str, Axis | None], canvas: tuple[int, int], dodge: bool = True
) -> None:
    """Each series' markers (xs, ys, colour, character, y side), after every line (a later line hid
    conv2's "■"), each on a cell of its own (:func:`dodged`) unless ``dodge`` is False (the compare
    plots: a run's markers stay on its own line's cells)."""
    taken: set = set()
    for xs, ys, color, points, side in markers:
        y = y_axes[side]
        if dodge and x is not None and y is not None:
            xs = dodged(xs, ys, x, y, canvas, taken)
        plt.scatter(xs, ys, color=color, marker=points, yside=side)


def in_plot_units(values: Sequence[float], axis: Axis | None) -> list[float]:
    """Values in plot coordinates on ``axis`` (``log10`` on a log axis)."""
    if axis is not None and axis.log:
        return [math.log10(max(v, LOG_FLOOR)) for v in values]
    return list(values)


def window(xs: Sequence[float], last_epochs: int) -> int:
    """Index of the first point within the last ``last_epochs`` epochs of ``xs`` (0: all)."""
    if not last_epochs or not xs:
        return 0
    start = xs[-1] - last_epochs
    for i, x in enumerate(xs):
        if x >= start - 1e-9:
            return i
    return len(xs)
