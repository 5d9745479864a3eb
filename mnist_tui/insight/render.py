"""Pure renderers for the model view: numpy arrays → rich ``Text`` (no Textual, no torch).

A terminal cell is about twice as tall as wide, so each cell shows two vertically stacked
pixels: "▀" with the top pixel as foreground and the bottom one as background. A 24×24
activation map is 24 columns × 12 rows; ``zoom`` repeats every pixel zoom × zoom times first
(a 5×5 kernel at zoom 2 is 10 columns × 5 rows).

Palettes:

- diverging (signed values: weights, raw activations, gradients): blue for negative, red for
  positive, :data:`ZERO` (black, the dark theme's background) for zero; linear in
  value / scale, with a symmetric scale (max |v| unless given), so equal magnitudes of
  either sign get equally strong colours;
- grey (non-negative maps): black at 0, white at the scale (max unless given);
- heat (histogram bands): black → purple → orange → yellow, each row scaled to its peak.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich.style import Style
from rich.text import Text

UPPER_HALF = "▀"
FULL = "█"
ZERO = (0, 0, 0)
NEGATIVE = (60, 130, 255)
POSITIVE = (255, 70, 50)
HEAT = ((0, 0, 0), (90, 20, 140), (230, 90, 40), (255, 230, 80))  # stops at 0, 1/3, 2/3, 1

RGB = tuple[int, int, int]


def _rgb(color: Sequence[int]) -> str:
    r, g, b = (int(c) for c in color)
    return f"rgb({r},{g},{b})"


def _lerp(a: Sequence[int], b: Sequence[int], t: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.rint(a + (b - a) * t[..., None]).astype(np.int64)


def symmetric_scale(array: np.ndarray) -> float:
    """max |v| over the finite values (1.0 for an all-zero or empty array, so zero stays zero)."""
    values = np.asarray(array, dtype=np.float64)
    values = values[np.isfinite(values)]
    peak = float(np.abs(values).max()) if values.size else 0.0
    return peak if peak > 0 else 1.0


def diverging_colors(array: np.ndarray, scale: float | None = None, zero: RGB = ZERO) -> np.ndarray:
    """(H, W, 3) int RGB for a signed (H, W) array; |v| ≥ scale saturates; NaN shows as zero."""
    values = np.nan_to_num(np.asarray(array, dtype=np.float64), nan=0.0)
    scale = symmetric_scale(values) if scale is None else float(scale)
    t = np.clip(values / scale, -1.0, 1.0)
    return np.where(t[..., None] >= 0, _lerp(zero, POSITIVE, np.abs(t)), _lerp(zero, NEGATIVE, np.abs(t)))


def grey_colors(array: np.ndarray, scale: float | None = None) -> np.ndarray:
    """(H, W, 3) int RGB for a non-negative (H, W) array: 0 black, ≥ scale white (negatives clip to 0)."""
    values = np.nan_to_num(np.asarray(array, dtype=np.float64), nan=0.0)
    if scale is None:
        peak = float(values.max()) if values.size else 0.0
        scale = peak if peak > 0 else 1.0
    level = np.rint(np.clip(values / float(scale), 0.0, 1.0) * 255).astype(np.int64)
    return np.repeat(level[..., None], 3, axis=2)


def heat_colors(t: np.ndarray) -> np.ndarray:
    """(…, 3) int RGB on :data:`HEAT` for values in [0, 1]."""
    t = np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0)
    segments = len(HEAT) - 1
    index = np.minimum((t * segments).astype(np.int64), segments - 1)
    local = t * segments - index
    stops = np.asarray(HEAT, dtype=np.float64)
    return np.rint(stops[index] + (stops[index + 1] - stops[index]) * local[..., None]).astype(np.int64)


def zoomed(array: np.ndarray, zoom: int = 1) -> np.ndarray:
    array = np.asarray(array)
    return array if zoom == 1 else np.repeat(np.repeat(array, zoom, axis=0), zoom, axis=1)


def halfblock_lines(colors: np.ndarray) -> list[Text]:
    """(H, W, 3) RGB → ceil(H/2) lines of W "▀" cells: top pixel foreground, bottom background
    (an odd last row has no background: the terminal's own shows)."""
    colors = np.asarray(colors)
    lines = []
    for row in range(0, colors.shape[0], 2):
        line = Text()
        for col in range(colors.shape[1]):
            top = _rgb(colors[row, col])
            bottom = _rgb(colors[row + 1, col]) if row + 1 < colors.shape[0] else None
            line.append(UPPER_HALF, Style.parse(f"{top} on {bottom}" if bottom else top))
        lines.append(line)
    return lines


def signed_halfblocks(array: np.ndarray, scale: float | None = None, zoom: int = 1) -> list[Text]:
    """A signed 2-D array in half-blocks on the diverging palette (symmetric scale, max |v| by default)."""
    array = np.asarray(array, dtype=np.float64)
    scale = symmetric_scale(array) if scale is None else scale
    return halfblock_lines(diverging_colors(zoomed(array, zoom), scale))


def grey_halfblocks(array: np.ndarray, scale: float | None = None, zoom: int = 1) -> list[Text]:
    """A non-negative 2-D array in grey half-blocks (black 0, white at ``scale``, the max by default)."""
    return halfblock_lines(grey_colors(zoomed(array, zoom), scale))


def tile_grid(
    tiles: Sequence[Sequence[Text]],
    labels: Sequence[str],
    width: int,
    gap: int = 1,
    label_style: str = "bold",
) -> Text:
    """Tiles (each a list of lines) laid out left to right, wrapping to rows of at most ``width``
    columns, each tile under its label (cut to the tile's width). All tiles take the widest
    one's width and the tallest one's height. At least one tile per row, however narrow."""
    if len(tiles) != len(labels):
        raise ValueError(f"{len(tiles)} tiles but {len(labels)} labels")
    out = Text()
    if not tiles:
        return out
    tile_width = max(max((line.cell_len for line in tile), default=0) for tile in tiles)
    tile_height = max(len(tile) for tile in tiles)
    per_row = max(1, (width + gap) // (tile_width + gap))
    rows = [range(i, min(i + per_row, len(tiles))) for i in range(0, len(tiles), per_row)]
    lines: list[Text] = []
    for row in rows:
        label_line = Text()
        for n, i in enumerate(row):
            if n:
                label_line.append(" " * gap)
            label_line.append(labels[i][:tile_width].ljust(tile_width), style=label_style)
        lines.append(label_line)
        for y in range(tile_height):
            line = Text()
            for n, i in enumerate(row):
                if n:
                    line.append(" " * gap)
                piece = tiles[i][y] if y < len(tiles[i]) else Text()
                line.append_text(piece)
                line.append(" " * (tile_width - piece.cell_len))
            lines.append(line)
    for n, line in enumerate(lines):
        if n:
            out.append("\n")
        out.append_text(line)
    return out


def heat_band(band: np.ndarray, row_labels: Sequence[str], cell_width: int = 1) -> list[Text]:
    """Rows = epochs, columns = histogram bins: one "█" run of ``cell_width`` per bin, coloured on
    :data:`HEAT` by the bin's count over its row's largest (an empty row stays black). Each
    line starts with its label, right-aligned to the longest label, and a space."""
    band = np.asarray(band, dtype=np.float64)
    if band.ndim != 2 or band.shape[0] != len(row_labels):
        raise ValueError(f"band of shape {band.shape} for {len(row_labels)} row labels")
    label_width = max((len(label) for label in row_labels), default=0)
    peaks = band.max(axis=1, keepdims=True) if band.size else np.ones((band.shape[0], 1))
    colors = heat_colors(np.divide(band, peaks, out=np.zeros_like(band), where=peaks > 0))
    lines = []
    for label, row in zip(row_labels, colors, strict=True):
        line = Text()
        line.append(label.rjust(label_width) + " ", style="dim")
        for color in row:
            line.append(FULL * cell_width, style=_rgb(color))
        lines.append(line)
    return lines


def diverging_legend(scale: float, width: int = 11) -> Text:
    """``-0.31 ▇▇▇▇▇▇▇▇▇▇▇ +0.31``: the diverging palette from −scale to +scale."""
    steps = np.linspace(-1.0, 1.0, max(width, 3))
    colors = diverging_colors(steps[None, :], 1.0)[0]
    text = Text()
    text.append(f"{-scale:+.2g} ", style="dim")
    for color in colors:
        text.append(FULL, style=_rgb(color))
    text.append(f" {scale:+.2g}", style="dim")
    return text


def side_by_side(blocks: Sequence[Sequence[Text]], gap: int = 2) -> list[Text]:
    """Blocks of lines placed next to each other, top-aligned, each padded to its widest line."""
    widths = [max((line.cell_len for line in block), default=0) for block in blocks]
    height = max((len(block) for block in blocks), default=0)
    out = []
    for y in range(height):
        line = Text()
        for n, (block, w) in enumerate(zip(blocks, widths, strict=True)):
            if n:
                line.append(" " * gap)
            piece = block[y] if y < len(block) else Text()
            line.append_text(piece)
            line.append(" " * (w - piece.cell_len))
        out.append(line)
    return out
