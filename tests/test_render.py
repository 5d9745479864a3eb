"""render.py: a known image renders to exactly the expected characters."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_tui.render import RAMP, ascii_digit, halfblock_cells, intensity_levels


def known_image() -> np.ndarray:
    """A bright 4×6 block, a half-grey bar, and one faint pixel pair."""
    image = np.zeros((28, 28), dtype=np.uint8)
    image[2:6, 3:9] = 255  # character rows 1–2, columns 3–8: '@'
    image[10:12, 20:24] = 128  # character row 5, columns 20–23: level 5 → '+'
    image[26, 0] = 60  # pairs with a 0 below: mean 30 → level 1 → '.'
    return image


def test_ascii_digit_of_a_known_image_is_exact():
    blank = " " * 28
    expected = [blank] * 14
    expected[1] = "   @@@@@@" + " " * 19
    expected[2] = "   @@@@@@" + " " * 19
    expected[5] = " " * 20 + "++++" + " " * 4
    expected[13] = "." + " " * 27
    assert ascii_digit(known_image()) == expected


def test_ascii_digit_shape_and_extremes():
    assert ascii_digit(np.zeros((28, 28), np.uint8)) == [" " * 28] * 14
    assert ascii_digit(np.full((28, 28), 255, np.uint8)) == ["@" * 28] * 14
    levels = intensity_levels(np.tile(np.arange(0, 256, 256 / 28, dtype=np.float32), (28, 1)).astype(np.uint8))
    assert levels.shape == (14, 28)
    assert list(levels[0]) == sorted(levels[0])  # brighter never maps to a sparser character
    assert levels.min() == 0 and levels.max() == len(RAMP) - 1


def test_halfblock_cells_keep_every_pixel():
    image = known_image()
    cells = halfblock_cells(image)
    assert len(cells) == 14 and all(len(row) == 28 for row in cells)
    assert cells[1][3] == (255, 255)  # pixel rows 2 and 3
    assert cells[13][0] == (60, 0)  # pixel rows 26 and 27
    assert cells[5][20] == (128, 128)


def test_wrong_shape_is_rejected():
    with pytest.raises(ValueError, match="28×28"):
        ascii_digit(np.zeros((14, 28)))
