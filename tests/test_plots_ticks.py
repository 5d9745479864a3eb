"""Axis ticks: nice values, evenly spaced rows, never skipping, at every canvas size from 80×24 up."""

from __future__ import annotations

import math
import random

import pytest

from mnist_tui.tui.widgets.plot_ticks import format_tick, inner_axis, linear_axis, log_axis


def rows_of(axis, cells):
    """The canvas row each tick lands on, by plotext's own mapping."""
    return [math.floor(0.5 + (cells - 1) * (t - axis.lo) / (axis.hi - axis.lo)) for t in axis.ticks]


def is_nice(step: float) -> bool:
    mantissa = step / 10 ** math.floor(math.log10(step))
    return any(abs(mantissa - m) < 1e-6 for m in (1, 2, 5, 10))


CASES = [(0.02, 2.3), (71.0, 99.5), (98.9, 99.33), (0.0, 1.0), (1e-4, 1e-2), (-3.0, 7.0), (0.5, 0.5), (120, 12000)]


@pytest.mark.parametrize("lo,hi", CASES)
@pytest.mark.parametrize("cells", [2, 3, 4, 5, 6, 7, 8, 11, 16, 23, 35])
def test_linear_ticks_are_nice_evenly_spaced_and_cover_the_data(lo, hi, cells):
    gap = 1 if cells < 8 else 2
    axis = linear_axis(lo, hi, cells, gap)
    assert axis.lo <= min(lo, hi) + 1e-12 and axis.hi >= max(lo, hi) - 1e-12 or lo == hi
    assert len(axis.ticks) >= 2
    steps = {round(b - a, 12) for a, b in zip(axis.ticks, axis.ticks[1:], strict=False)}
    assert len(steps) == 1 and is_nice(steps.pop())  # one nice step
    rows = rows_of(axis, cells)
    gaps = {b - a for a, b in zip(rows, rows[1:], strict=False)}
    assert len(gaps) == 1 and min(gaps) >= min(gap, cells - 1)  # even rows: no tick skips
    assert all(0 <= r < cells for r in rows) and len(set(rows)) == len(rows)


def test_linear_ticks_random_ranges_never_skip():
    rng = random.Random(1)
    for _ in range(500):
        lo = rng.uniform(-5, 5) * 10 ** rng.randint(-4, 4)
        hi = lo + abs(rng.gauss(0, 1)) * 10 ** rng.randint(-4, 4) + 1e-9
        cells = rng.randint(2, 40)
        axis = linear_axis(lo, hi, cells, 1 if cells < 8 else 2)
        rows = rows_of(axis, cells)
        assert len({b - a for a, b in zip(rows, rows[1:], strict=False)}) == 1, (lo, hi, cells, axis)
        assert axis.lo <= lo and axis.hi >= hi - 1e-9 * abs(hi)
        assert len(set(axis.labels)) == len(axis.labels), axis  # labels tell the ticks apart


def test_accuracy_axis_shows_tenths_near_the_top_and_never_passes_100():
    axis = linear_axis(98.9, 99.33, 9, 2, ceiling=100)
    assert {"99.0", "99.2"} <= set(axis.labels) or {"99.0", "99.1"} <= set(axis.labels)
    assert linear_axis(71, 99.5, 6, 1, ceiling=100).hi <= 100


def test_no_accuracy_tick_above_100_at_any_height_even_if_ticks_are_fewer():
    """At 80×24 an accuracy plot of 6 rows was labelled "110┤ 100┤ 90┤" (and "120" for 52-93.8 %):
    three ticks were put before the ceiling. Every axis the dashboard asks for stays at or under it."""
    rng = random.Random(3)
    ranges = [(90.1, 96.9), (52.0, 93.8), (95.0, 99.2), (99.0, 99.9), (10.0, 99.99), (46.4, 50.0)]
    ranges += [(lo, lo + rng.uniform(0.1, 100 - lo)) for lo in (rng.uniform(10, 99.8) for _ in range(300))]
    for lo, hi in ranges:
        for cells in range(2, 36):
            gap = 1 if cells < 8 else 2
            axis = linear_axis(lo, hi, cells, gap, ceiling=100, min_ticks=3 if cells >= 2 * gap + 1 else 2)
            assert max(axis.ticks) <= 100 + 1e-9, (lo, hi, cells, axis.labels)
            assert axis.lo <= lo and axis.hi >= hi - 1e-9 and len(axis.ticks) >= 2, (lo, hi, cells, axis)


@pytest.mark.parametrize("lo,hi", [(0.02, 2.3), (0.67, 29.0), (0.7, 1.0), (1e-3, 10.0), (0.5, 0.52), (3.0, 3.0)])
@pytest.mark.parametrize("cells", [4, 5, 6, 7, 9, 12, 20, 35])
def test_log_ticks_cover_the_data_in_order_without_collisions(lo, hi, cells):
    gap = 1 if cells < 8 else 2
    axis = log_axis(lo, hi, cells, gap)
    assert axis.log and len(axis.ticks) >= 2
    assert axis.lo <= math.log10(lo) + 1e-9 and axis.hi >= math.log10(hi) - 1e-9
    rows = rows_of(axis, cells)
    assert all(b - a >= gap for a, b in zip(rows, rows[1:], strict=False))
    values = [float(label) for label in axis.labels]
    assert values == sorted(values)
    for value, tick in zip(values, axis.ticks, strict=True):  # labels say the value at the tick
        assert math.isclose(math.log10(value), tick, rel_tol=0.02, abs_tol=0.02)


def test_log_decades_are_evenly_spaced_rows():
    axis = log_axis(0.02, 2.3, 13, 2)
    if set(axis.labels) <= {"0.01", "0.1", "1", "10"}:
        rows = rows_of(axis, 13)
        assert len({b - a for a, b in zip(rows, rows[1:], strict=False)}) == 1


def test_error_percent_axis_separates_one_from_point_seven():
    axis = log_axis(0.67, 1.0, 9, 2)
    labels = [float(v) for v in axis.labels]
    assert min(labels) <= 0.67 and max(labels) >= 1.0 and len(labels) >= 3
    assert axis.hi - axis.lo < 0.5  # zoomed in: less than half a decade


def test_inner_axis_keeps_the_data_edges_and_integer_epochs():
    axis = inner_axis(1, 10, 50, min_gap=4, min_step=1)
    assert (axis.lo, axis.hi) == (1, 10)
    assert all(float(t).is_integer() for t in axis.ticks) and axis.ticks[-1] == 10


def test_format_tick_uses_the_steps_decimals():
    assert format_tick(0.5, 0.5) == "0.5" and format_tick(2.0, 0.5) == "2.0" and format_tick(100, 20) == "100"
    assert format_tick(0.0002, 0.0001) == "0.0002" and format_tick(2e-5, 1e-5) == "2e-5"
    assert format_tick(-471.6525, 5e-5) == "-4.7165250e2"


@pytest.mark.parametrize("cells", [8, 10, 12, 14, 16])
@pytest.mark.parametrize("gap", [2, 3])
def test_a_log_axis_that_fits_no_three_labels_gets_two_round_ones(cells, gap):
    """A served page's batch-loss plot (losses 0.169 to 2.31) was labelled "0.168625" and "2.30514"."""
    axis = log_axis(0.168625, 2.30514, cells, gap)
    assert len(axis.ticks) >= 2 and all(len(label) <= 4 for label in axis.labels), axis.labels


@pytest.mark.parametrize("cells", range(4, 21))
def test_a_log_axis_wastes_no_more_than_a_decade_beyond_its_data(cells):
    """At 80×24 the batch-loss plot's six rows ran 100 … 0.001 for losses of 0.0076 to 2.30:
    decades aligned to rows forced five of them, and two rows never held data."""
    lo, hi = 0.0076, 2.30
    axis = log_axis(lo, hi, cells, 1 if cells < 8 else 2)
    assert 10**axis.lo <= lo and 10**axis.hi >= hi  # the data fits
    assert 10**axis.hi <= 10 * hi and 10**axis.lo >= lo / 10, (axis.labels, cells)


@pytest.mark.parametrize("lo, hi", [(1e-4, 1.0), (1e-5, 1.0), (3e-6, 20.0), (1e-3, 1e6)])
def test_a_log_axis_writes_its_labels_in_one_style(lo, hi):
    """ "0.001" over "1e-4" read as two scales."""
    labels = log_axis(lo, hi, 20).labels
    scientific = ["e" in label for label in labels]
    assert all(scientific) or not any(scientific), labels


def test_the_compare_panel_writes_large_counts_with_separators():
    from mnist_tui.tui.widgets.compare_panel import _value

    assert [_value(v) for v in (60_000, 1024, 0.001, None, True)] == ["60,000", "1024", "0.001", "–", "True"]


def test_a_marker_on_another_series_cell_goes_beside_it():
    """conv1's "●" under fc2's "◆" (weight norms 2.94 and 3.01) never showed."""
    from mnist_tui.tui.widgets.plot_axes import dodged
    from mnist_tui.tui.widgets.plot_ticks import Axis

    x, y, canvas, taken = Axis(1.0, 5.0, (), ()), Axis(0.0, 4.0, (), ()), (41, 10), set()
    assert dodged([1.0, 3.0, 5.0], [3.01, 3.01, 3.01], x, y, canvas, taken) == [1.0, 3.0, 5.0]
    beside = dodged([1.0, 3.0, 5.0], [2.94, 2.94, 2.94], x, y, canvas, taken)  # the same cells: a column aside
    assert beside == pytest.approx([1.1, 3.1, 4.9])  # right, or left at the edge
    assert dodged([3.0, 4.0], [0.0, 3.0], x, y, canvas, taken) == [3.0, 4.0]  # free cells: where they are
