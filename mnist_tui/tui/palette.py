"""Every plot's colours in one place, as RGB tuples (plotext and Rich take the same triple, so a
legend's colour is its line's): Okabe-Ito for train/test, tab10 for digits, one per compared run."""

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

# tab10: ten colours a reader can tell apart, one per digit (scatter and legend)
DIGIT_COLORS: tuple[tuple[int, int, int], ...] = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (160, 160, 160),
    (188, 189, 34),
    (23, 190, 207),
)

# The workspace's overlaid runs, a colour (and a marker, compare_plot.MARKERS) per run's slot
RUN_COLORS = (
    (0, 200, 255),
    (255, 140, 0),
    (120, 220, 80),
    (230, 80, 200),
    (255, 220, 60),
    (255, 90, 90),
    (150, 150, 255),
    (200, 200, 200),
)


def rgb(color: tuple[int, int, int]) -> str:
    """A Rich style for one of these colours (legends drawn outside plotext)."""
    return "rgb({},{},{})".format(*color)
