"""The model view's pure renderers, checked cell by cell on small known inputs."""

from __future__ import annotations

import numpy as np
import pytest
from cells import cell_colors
from rich.text import Text

from mnist_tui.insight.render import (
    NEGATIVE,
    POSITIVE,
    diverging_colors,
    diverging_legend,
    grey_halfblocks,
    heat_band,
    heat_colors,
    side_by_side,
    signed_halfblocks,
    tile_grid,
)


def hexa(rgb) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


BLACK, WHITE = "#000000", "#ffffff"
RED, BLUE = hexa(POSITIVE), hexa(NEGATIVE)
HALF_RED = hexa(round(c / 2) for c in POSITIVE)
HALF_BLUE = hexa(round(c / 2) for c in NEGATIVE)


def test_diverging_palette_is_symmetric_with_zero_black():
    colors = diverging_colors(np.array([[-2.0, -1.0, 0.0, 1.0, 2.0]]))
    assert [hexa(c) for c in colors[0]] == [BLUE, HALF_BLUE, BLACK, HALF_RED, RED]
    # a given scale saturates beyond it
    assert [hexa(c) for c in diverging_colors(np.array([[-9.0, 9.0]]), scale=1.0)[0]] == [BLUE, RED]


def test_signed_halfblocks_put_the_top_pixel_in_front_and_the_bottom_one_behind():
    array = np.array([[1.0, -1.0], [0.0, 0.5], [-0.5, 0.0]])  # 3 rows: the last cell row has no bottom
    lines = signed_halfblocks(array)
    assert [line.plain for line in lines] == ["▀▀", "▀▀"]
    assert cell_colors(lines[0]) == [("▀", RED, BLACK), ("▀", BLUE, HALF_RED)]
    assert cell_colors(lines[1]) == [("▀", HALF_BLUE, None), ("▀", BLACK, None)]


def test_zoom_repeats_each_pixel_in_both_directions():
    lines = signed_halfblocks(np.array([[1.0, -1.0]]), zoom=2)
    assert cell_colors(lines[0]) == [("▀", RED, RED), ("▀", RED, RED), ("▀", BLUE, BLUE), ("▀", BLUE, BLUE)]


def test_grey_halfblocks_scale_to_the_maximum():
    lines = grey_halfblocks(np.array([[0.0, 2.0], [1.0, 4.0]]))
    assert cell_colors(lines[0]) == [("▀", BLACK, "#404040"), ("▀", "#808080", WHITE)]


def test_all_zero_map_stays_black():
    lines = signed_halfblocks(np.zeros((2, 3)))
    assert all(cell == ("▀", BLACK, BLACK) for cell in cell_colors(lines[0]))


def _tile(width: int, height: int) -> list[Text]:
    return [Text("x" * width) for _ in range(height)]


def test_tile_grid_wraps_to_the_width_with_labels_over_tiles():
    tiles = [_tile(10, 5) for _ in range(10)]
    grid = tile_grid(tiles, [f"f{i}" for i in range(10)], width=80)
    lines = grid.plain.split("\n")
    # 10-wide tiles and a 1-column gap: 7 fit in 80 columns, so two rows (label + 5 lines each)
    assert len(lines) == 12
    assert lines[0].split() == [f"f{i}" for i in range(7)]
    assert lines[1] == " ".join(["x" * 10] * 7)
    assert lines[6].split() == ["f7", "f8", "f9"]
    assert max(len(line) for line in lines) <= 80
    wide = tile_grid(tiles, [str(i) for i in range(10)], width=120).plain.split("\n")
    assert len(wide) == 6 and len(wide[1]) == 109  # all ten in one row


def test_tile_grid_cuts_labels_to_the_tile_and_keeps_one_tile_a_row_when_narrow():
    grid = tile_grid([_tile(3, 1), _tile(3, 1)], ["long label", "b"], width=2)
    assert grid.plain.split("\n") == ["lon", "xxx", "b  ", "xxx"]
    with pytest.raises(ValueError):
        tile_grid([_tile(3, 1)], [], width=10)


def test_heat_band_rows_are_epochs_and_each_row_is_scaled_to_its_peak():
    band = np.array([[0, 1, 2, 4], [4, 0, 0, 0], [0, 0, 0, 0]])
    lines = heat_band(band, ["1", "2", "10"], cell_width=2)
    assert [line.plain for line in lines] == [" 1 ████████", " 2 ████████", "10 ████████"]
    expected = [hexa(c) for c in heat_colors(np.array([0.0, 0.25, 0.5, 1.0]))]
    colors = [fg for char, fg, _ in cell_colors(lines[0]) if char == "█"]
    assert colors == [c for c in expected for _ in range(2)]
    assert [fg for char, fg, _ in cell_colors(lines[1]) if char == "█"][::2] == [hexa(heat_colors(1.0))] + [BLACK] * 3
    assert {fg for char, fg, _ in cell_colors(lines[2]) if char == "█"} == {BLACK}
    assert hexa(heat_colors(0.0)) == BLACK and hexa(heat_colors(1.0)) == "#ffe650"


def test_legend_and_side_by_side():
    legend = diverging_legend(0.5, width=5)
    assert legend.plain == "-0.5 █████ +0.5"
    blocks = [[Text("ab"), Text("c")], [Text("xyz")]]
    assert [line.plain for line in side_by_side(blocks, gap=1)] == ["ab xyz", "c     "]
