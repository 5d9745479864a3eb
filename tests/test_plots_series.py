"""Debiased EMA (TensorBoard's form) and thinning to the plot's width."""

from __future__ import annotations

import pytest

from mnist_tui.tui.series import BoundedSeries, ema, thin


def test_ema_matches_a_hand_computed_debiased_average():
    values = [2.0, 1.0, 4.0, 0.0]
    w = 0.5
    # last_n = w*last + (1-w)*v ; shown = last_n / (1 - w**n)
    # n=1: 1.0 / 0.5 = 2.0 ; n=2: (0.5+0.5)=1.0 / 0.75 ; n=3: (0.5+2.0)=2.5 / 0.875 ; n=4: 1.25 / 0.9375
    expected = [2.0, 1.0 / 0.75, 2.5 / 0.875, 1.25 / 0.9375]
    assert ema(values, w) == pytest.approx(expected)


def test_ema_first_point_does_not_lag_and_follows_a_step():
    values = [2.3, 2.1, 1.7, 1.2, 0.9, 0.5, 0.4]
    smoothed = ema(values, 0.9)
    assert smoothed[0] == pytest.approx(2.3)  # no ramp up from zero
    assert ema(values, 0.0) == values
    assert ema([2.0] + [1.0] * 100, 0.9)[-1] == pytest.approx(1.0, abs=1e-3)


def test_ema_on_a_thinned_series_keeps_its_time_constant():
    w = 0.9
    # every 2nd batch kept: one kept step is worth two batches, w**2 per step
    assert ema([1.0, 0.0], w, stride=2) == pytest.approx(ema([1.0, 0.0], w * w))
    with pytest.raises(ValueError):
        ema([1.0], 1.0)


def test_thin_keeps_extremes_and_the_last_point_within_two_per_column():
    xs = [float(i) for i in range(1000)]
    ys = [0.0] * 1000
    ys[517] = 9.0  # a spike
    tx, ty = thin(xs, ys, 50)
    assert len(tx) <= 2 * 50 + 1
    assert 9.0 in ty and tx[-1] == 999.0 and tx == sorted(tx)
    assert thin(xs[:10], ys[:10], 50) == (xs[:10], ys[:10])


def test_bounded_series_stride_reaches_the_ema():
    series = BoundedSeries(capacity=4)
    for i in range(10):
        series.append(float(i), float(i))
    assert series.stride > 1


def test_a_bounded_series_drops_the_points_past_x_and_keeps_thinning_after():
    series = BoundedSeries(capacity=4)
    for i in range(10):  # past capacity twice: every 4th point kept
        series.append(i / 4, float(i))
    assert series.stride == 4
    series.drop_after(1.0)
    assert series.xs == [0.0, 1.0] and series.ys == [0.0, 4.0]
    kept = len(series)
    for i in range(5, 13):
        series.append(i / 4, float(i))
    assert len(series) == kept + 2  # the stride holds: 2 of 8 new points
