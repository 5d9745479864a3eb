"""Honest axis ticks for plotext plots: pure functions, no Textual, no plotext.

plotext's own ticks are ``linspace(lo, hi, 5)`` labelled to a few digits (``1.66┤ … 1.02┤``:
uneven values, skipped rows at small heights), and its log scale re-applies ``log10`` to the
data at every ``build()`` (the second render of a log plot fails with a math domain error). So
the plots compute their axes here and hand plotext plain linear coordinates:

* :func:`linear_axis`: ticks at multiples of a 1/2/5×10^k step, and limits chosen so that
  every tick falls exactly on a character row (or column): plotext maps a value ``v`` to cell
  ``floor(0.5 + (cells - 1) * (v - lo) / (hi - lo))``, so with ``hi - lo = step * (cells - 1) / gap``
  tick ``i`` lands on cell ``i * gap`` -- evenly spaced at every size, none skipped.
* :func:`log_axis`: positions in ``log10`` units (plot ``log10(y)``), labelled with the values
  (decades, or 1-2-5, or 1..9 per decade, or plain nice steps over a narrow range such as error
  0.7 % to 1.0 %), at least ``min_gap`` cells apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

NICE_MANTISSAS = (1.0, 2.0, 5.0)


@dataclass(frozen=True)
class Axis:
    """Limits and ticks in plot coordinates (``log10`` units on a log axis), labels as shown."""

    lo: float
    hi: float
    ticks: tuple[float, ...]
    labels: tuple[str, ...]
    log: bool = False


def nice_steps(at_least: float):
    """1, 2, 5 × 10^k steps from the first one ≥ ``at_least`` upwards (endless)."""
    at_least = max(at_least, 1e-300)
    k = math.floor(math.log10(at_least))
    while True:
        for m in NICE_MANTISSAS:
            step = m * 10.0**k
            if step >= at_least * (1 - 1e-9):
                yield step
        k += 1


def format_tick(value: float, step: float) -> str:
    """As many decimals as the step needs, no more (``0.5 1.0 1.5``); scientific, with as many
    digits as tell the ticks apart, for steps below 1e-4 or values from 1e5 up."""
    if value == 0:
        return "0"
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    if abs(value) < 1e5 and decimals <= 4:
        return f"{value:.{decimals}f}"
    digits = max(0, math.floor(math.log10(abs(value)) + 1e-9) - math.floor(math.log10(step) + 1e-9))
    head, exp = f"{value:.{digits}e}".split("e")
    return f"{head}e{int(exp)}"


def _clean(lo: float, hi: float) -> tuple[float, float]:
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return 0.0, 1.0
    if hi < lo:
        lo, hi = hi, lo
    if hi - lo < 1e-12 * max(1.0, abs(lo)):
        pad = abs(lo) * 0.05 or 0.5
        lo, hi = lo - pad, hi + pad
    return lo, hi


def linear_axis(
    lo: float,
    hi: float,
    cells: int,
    min_gap: int = 2,
    max_ticks: int = 8,
    min_step: float = 0.0,
    ceiling: float | None = None,
    min_ticks: int = 2,
) -> Axis:
    """Nice ticks (multiples of a 1/2/5×10^k step) on rows exactly ``gap`` cells apart, ``gap >=
    min_gap``, at most ``max_ticks``; the limits cover ``[lo, hi]`` and start on a tick. Of the
    few smallest steps that fit, the one whose limits waste least of the canvas: either the top
    at ``hi`` itself when the ticks still land evenly, or the top stretched so that every tick
    sits exactly on a row. ``ceiling``: no tick above it (100 for an accuracy %) when avoidable,
    even at the cost of ticks; fewer than ``min_ticks`` ticks only when nothing else fits.
    ``cells``: the canvas's rows or columns."""
    lo, hi = _clean(lo, hi)
    cells = max(int(cells), 2)
    min_gap = max(1, min(min_gap, cells - 1))
    found: list[Axis] = []
    tries = 0

    def under(axis: Axis) -> bool:  # no tick above the ceiling (the top may pass it by less than a step)
        return ceiling is None or max(axis.ticks, default=axis.lo) <= ceiling + 1e-9

    for step in nice_steps(max(min_step, (hi - lo) * min_gap / (cells - 1) * 0.999)):
        start = math.floor(lo / step + 1e-9) * step
        # the top at the data's edge, when the ticks below it still fall evenly
        count = math.floor((hi - start) / step + 1e-9) + 1
        if 2 <= count <= max_ticks:
            rows = _rows([start + i * step for i in range(count)], start, hi, cells)
            gaps = {r2 - r1 for r1, r2 in zip(rows, rows[1:], strict=False)}
            if len(gaps) == 1 and min(gaps) >= min_gap:
                found.append(_linear(start, hi, step, count))
        # the top stretched so that tick i sits on row i * gap exactly
        gap = math.floor(step * (cells - 1) / (hi - start) + 1e-9) if hi > start else cells - 1
        gap = min(gap, cells - 1)  # two ticks at least: the top one on the last row
        count = (cells - 1) // gap + 1 if gap else 0
        if gap >= min_gap and (count <= max_ticks or count <= 2):
            found.append(_linear(start, start + step * (cells - 1) / gap, step, count))
        if any(len(a.ticks) >= min_ticks and under(a) for a in found):
            tries += 1
        if tries >= 3 or (found and step > 100 * (hi - lo)):
            break
    # the ceiling before the tick count: at 80×24 an accuracy axis of 6 rows was labelled 110 or
    # 120 % for a third tick, where one of two ticks up to 100 was there
    capped = [a for a in found if under(a)] or found
    enough = [a for a in capped if len(a.ticks) >= min_ticks] or capped
    return min(enough, key=lambda a: (round(a.hi - a.lo, 12), -len(a.ticks)))


def _linear(start: float, top: float, step: float, count: int) -> Axis:
    ticks = tuple(0.0 if abs(start + i * step) < step * 1e-9 else start + i * step for i in range(count))
    return Axis(start, top, ticks, tuple(format_tick(t, step) for t in ticks))


def inner_axis(lo: float, hi: float, cells: int, min_gap: int = 8, max_ticks: int = 10, min_step: float = 0.0) -> Axis:
    """Limits exactly ``[lo, hi]`` (an x axis: the data reaches both edges), ticks at the multiples
    of a nice step inside, at least ``min_gap`` cells apart. A degenerate range gets one tick."""
    lo, hi = _clean(lo, hi)
    cells = max(int(cells), 2)
    for step in nice_steps(max(min_step, (hi - lo) * min_gap / (cells - 1) * 0.999)):
        first = math.ceil(lo / step - 1e-9) * step
        count = math.floor((hi - first) / step + 1e-9) + 1
        if count > max_ticks:
            continue
        ticks = tuple(0.0 if abs(first + i * step) < step * 1e-9 else first + i * step for i in range(max(count, 0)))
        if not ticks:
            ticks = (lo,)
        return Axis(lo, hi, ticks, tuple(format_tick(t, step) for t in ticks))
    raise AssertionError("unreachable: a large enough step always fits")


def _rows(positions, lo: float, hi: float, cells: int) -> list[int]:
    return [math.floor(0.5 + (cells - 1) * (p - lo) / (hi - lo)) for p in positions]


def _value_sets(lo: float, hi: float, max_ticks: int):
    """Tick value sets off the rows, each with its labelling: whole decades, 1-2-5 and 1..9 per
    decade, and plain nice steps (for ranges narrower than a decade, such as error 0.7 % to 1.0 %)."""
    k0, k1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    # whole decades off the rows: on a 6-row plot, decades on rows spanned 0.001 to 100 for
    # losses of 0.0076 to 2.3, two of its six rows empty
    yield [10.0**k for k in range(k0 - 1, k1 + 1)], _decade_labels
    if k1 - k0 <= 3:
        for mantissas in ((1, 2, 5), (1, 2, 3, 4, 5, 6, 7, 8, 9)):
            yield [m * 10.0**k for k in range(k0 - 1, k1 + 1) for m in mantissas], _same_decimals
    if hi / lo < 10:
        for step in nice_steps((hi - lo) / max_ticks):
            first = math.floor(lo / step + 1e-9) * step
            if first <= 0:
                if step > lo:
                    break
                continue
            count = math.ceil((hi - first) / step - 1e-9) + 1
            if count > max_ticks:
                continue
            yield [first + i * step for i in range(count)], _stepped_labels(step)
            if count <= 2:
                break


def log_axis(lo: float, hi: float, cells: int, min_gap: int = 2, max_ticks: int = 8) -> Axis:
    """Ticks for values in ``[lo, hi]`` (both > 0) plotted as ``log10``: of the tick sets that put
    enough labels (three, two on a tiny canvas) at least ``min_gap`` cells apart, the one whose
    limits waste least of the canvas. Whole decades are aligned to rows exactly (as
    :func:`linear_axis` does) or, where that wastes more, sit where the log scale puts them, as
    1-2-5 and nice-step ticks do."""
    lo, hi = max(min(lo, hi), 1e-12), max(max(lo, hi), 1e-12)
    if hi / lo < 1.0001:
        lo, hi = lo / 1.1, hi * 1.1
    cells = max(int(cells), 2)
    min_gap = max(1, min(min_gap, cells - 1))
    l0, l1 = math.log10(lo), math.log10(hi)
    # three labels where they fit, else two round ones: the raw limits ("0.168625", "2.30514")
    # came out on a browser-sized plot that fit no three-label set
    for wanted in dict.fromkeys((3 if cells >= 3 * min_gap + 1 else 2, 2)):
        found = _log_axes(lo, hi, cells, min_gap, max_ticks, wanted)
        if found:
            return min(found, key=lambda axis: (round(axis.hi - axis.lo, 9), len(axis.ticks)))
    return Axis(l0, l1, (l0, l1), (_log_label(lo), _log_label(hi)), True)


def _log_axes(lo: float, hi: float, cells: int, min_gap: int, max_ticks: int, wanted: int) -> list[Axis]:
    """Every log axis over ``[lo, hi]`` with at least ``wanted`` labels ``min_gap`` cells apart."""
    l0, l1 = math.log10(lo), math.log10(hi)
    found: list[Axis] = []
    decades = linear_axis(l0, l1, cells, min_gap, max_ticks, min_step=1.0, min_ticks=wanted)
    if len(decades.ticks) >= wanted:
        labels = _decade_labels([10.0**t for t in decades.ticks])
        found.append(Axis(decades.lo, decades.hi, decades.ticks, labels, True))

    for values, label in _value_sets(lo, hi, max_ticks):
        below = [v for v in values if v <= lo * (1 + 1e-9)]
        above = [v for v in values if v >= hi * (1 - 1e-9)]
        if not below or not above:
            continue
        a, b = max(below), min(above)
        chosen = [v for v in values if a * (1 - 1e-9) <= v <= b * (1 + 1e-9)]
        if not wanted <= len(chosen) <= max_ticks:
            continue
        la, lb = math.log10(a), math.log10(b)
        rows = _rows([math.log10(v) for v in chosen], la, lb, cells)
        if min(r2 - r1 for r1, r2 in zip(rows, rows[1:], strict=False)) < min_gap:
            continue
        found.append(Axis(la, lb, tuple(math.log10(v) for v in chosen), label(chosen), True))
    return found


def _same_decimals(values: list[float]) -> tuple[str, ...]:
    """0.6 0.8 1.0 1.2 rather than 0.6 0.8 1 1.2; scientific below 1e-3."""
    if min(values) < 1e-3 or max(values) >= 1e5:
        return tuple(_log_label(v) for v in values)
    decimals = max(len(f"{v:.6g}".partition(".")[2]) for v in values)
    return tuple(f"{v:.{decimals}f}" for v in values)


def _stepped_labels(step: float):
    return lambda values: tuple(format_tick(v, step) for v in values)


def _decade_labels(values: list[float]) -> tuple[str, ...]:
    """One style for the whole axis: "0.001 0.0001", or scientific throughout from 1e-5 down or
    1e5 up ("0.001" over "1e-4" read as two scales)."""
    if min(values) >= 1e-4 and max(values) < 1e5:
        return tuple(f"{v:.6g}" for v in values)
    return tuple(_log_label(v, scientific=True) for v in values)


def _log_label(value: float, scientific: bool = False) -> str:
    if 1e-3 <= value < 1e5 and not scientific:
        return f"{value:.6g}"
    head, exp = f"{value:.0e}".split("e")
    return f"{head}e{int(exp)}"


def label_width(axis: Axis) -> int:
    return max((len(label) for label in axis.labels), default=0)
