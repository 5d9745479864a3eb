"""The plots' colours: Okabe-Ito, the colour-blind-safe palette, as RGB tuples (plotext takes tuples)."""

from __future__ import annotations

# Okabe-Ito, the colour-blind-safe palette (RGB: plotext takes tuples). Train and test also
# differ in line style: train a dotted line of "·", test a solid braille line with "●" points.
ORANGE = (230, 159, 0)
SKY_BLUE = (86, 180, 233)
BLUISH_GREEN = (0, 158, 115)
VERMILLION = (213, 94, 0)
REDDISH_PURPLE = (204, 121, 167)
GREY = (128, 128, 128)  # faint on dark and on light themes
TRAIN_COLOR, TEST_COLOR = ORANGE, SKY_BLUE


def rgb(color: tuple[int, int, int]) -> str:
    """A Rich style for one of these colours (legends drawn outside plotext)."""
    return "rgb({},{},{})".format(*color)
