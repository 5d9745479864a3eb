"""Digits as text: pure functions from a 28×28 uint8 image to terminal rows.

A terminal cell is about twice as tall as it is wide, so one character covers one pixel
column and two pixel rows: 28 columns × 14 rows keeps the digit's proportions.
"""

from __future__ import annotations

import numpy as np

RAMP = " .:-=+*#%@"  # dark to bright: one character per tenth of the intensity range
SIZE = 28


def _checked(image) -> np.ndarray:
    pixels = np.asarray(image)
    if pixels.shape != (SIZE, SIZE):
        raise ValueError(f"expected a {SIZE}×{SIZE} image, got shape {pixels.shape}")
    return pixels.astype(np.float32)


def intensity_levels(image, levels: int = len(RAMP)) -> np.ndarray:
    """(14, 28) ints in [0, levels): the mean of each vertical pixel pair, quantised."""
    pixels = _checked(image)
    pairs = (pixels[0::2] + pixels[1::2]) / 2.0
    return np.minimum((pairs * levels / 256.0).astype(np.int64), levels - 1)


def ascii_digit(image) -> list[str]:
    """14 strings of 28 characters, brighter pixels as denser characters."""
    return ["".join(RAMP[v] for v in row) for row in intensity_levels(image)]


def halfblock_cells(image) -> list[list[tuple[int, int]]]:
    """14 rows × 28 cells of (top, bottom) grey levels 0–255: one "▀" per cell, drawn with
    the top pixel as foreground and the bottom one as background, shows every pixel."""
    pixels = np.asarray(_checked(image), dtype=np.int64)
    pairs = zip(pixels[0::2], pixels[1::2], strict=True)
    return [list(zip(top.tolist(), bottom.tolist(), strict=True)) for top, bottom in pairs]
