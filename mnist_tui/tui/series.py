"""Plot series with bounded memory however long the run: pure, no Textual."""

from __future__ import annotations


class BoundedSeries:
    """(x, y) points; past ``capacity`` it keeps every other point and doubles its stride,
    so memory stays within ``capacity`` points (and the newest) and the series still spans the whole run.

    The newest point always shows, kept or not: a run of 2,814 batches ended its plot at batch
    2,812 (x 2.9989), short of its last tick and label. It is shown as one more point after the
    evenly spaced ones (the EMA weighs it as a whole stride: a difference in its last point only).
    """

    def __init__(self, capacity: int = 1000) -> None:
        if capacity < 2:
            raise ValueError("capacity must be at least 2")
        self.capacity = capacity
        self.stride = 1
        self._xs: list[float] = []
        self._ys: list[float] = []
        self._skipped = 0  # points dropped since the last one kept, under the current stride
        self._newest: tuple[float, float] | None = None  # the last point appended, when it was not kept
        self._pins: set[float] = set()  # the x of points kept whatever the stride (append's ``keep``)

    @property
    def xs(self) -> list[float]:
        return self._xs + [self._newest[0]] if self._newest else self._xs

    @property
    def ys(self) -> list[float]:
        return self._ys + [self._newest[1]] if self._newest else self._ys

    def __len__(self) -> int:
        return len(self._xs) + (self._newest is not None)

    def append(self, x: float, y: float, keep: bool = False) -> None:
        """``keep``: the point stays whatever the stride (an epoch's last batch: a run stopped in the
        next epoch withdraws what follows, and its plot ended a stride short, at x 1.9968)."""
        due = self._skipped + 1 >= self.stride
        if not due and not keep:
            self._skipped += 1
            self._newest = (x, y)
            return
        self._skipped, self._newest = 0 if due else self._skipped + 1, None  # a pin keeps the stride's step
        self._xs.append(x)
        self._ys.append(y)
        if keep:
            self._pins.add(x)
        if len(self._xs) > self.capacity + len(self._pins):
            kept = [i for i in range(len(self._xs)) if i % 2 == 0 or self._xs[i] in self._pins]
            self._xs, self._ys = [self._xs[i] for i in kept], [self._ys[i] for i in kept]
            self.stride *= 2

    def clear(self) -> None:
        self.stride, self._skipped, self._newest, self._pins = 1, 0, None, set()
        self._xs, self._ys = [], []

    def drop_after(self, x: float) -> None:
        """Forget the points past ``x`` (a followed run started again from there); the stride stays."""
        if self._newest is not None and self._newest[0] > x:
            self._newest = None
        self._pins = {pin for pin in self._pins if pin <= x}
        keep = next((i for i, kept in enumerate(self._xs) if kept > x), len(self._xs))
        if keep < len(self._xs):
            self._xs, self._ys, self._skipped, self._newest = self._xs[:keep], self._ys[:keep], 0, None


def ema(values: list[float], weight: float, stride: int = 1) -> list[float]:
    """TensorBoard's smoothing: an exponential moving average with bias correction
    (``last = w * last + (1 - w) * v``, shown as ``last / (1 - w**n)``), so the first points
    do not lag behind from zero. ``stride``: the values are every ``stride``-th batch (a
    thinned :class:`BoundedSeries`), so the weight per kept point is ``weight**stride`` and
    the curve keeps its time constant in batches. ``weight`` 0 returns the values."""
    if not 0 <= weight < 1:
        raise ValueError("smoothing weight must be in [0, 1)")
    w = weight**stride
    out, last = [], 0.0
    debias = 1.0
    for v in values:
        last = w * last + (1 - w) * v
        debias *= w
        out.append(last / (1 - debias) if debias < 1 else v)
    return out


def thin(xs: list[float], ys: list[float], columns: int) -> tuple[list[float], list[float]]:
    """At most about ``2 * columns`` points: each of ``columns`` equal runs of points gives its
    lowest and highest (in x order), so spikes survive; braille has two dot columns a cell, so
    a plot cannot show more. Fewer points are returned as they are."""
    n = len(xs)
    if columns < 1 or n <= 2 * columns:
        return list(xs), list(ys)
    out_x: list[float] = []
    out_y: list[float] = []
    for b in range(columns):
        i, j = b * n // columns, (b + 1) * n // columns
        if i >= j:
            continue
        lo = min(range(i, j), key=ys.__getitem__)
        hi = max(range(i, j), key=ys.__getitem__)
        for k in sorted({lo, hi}):
            out_x.append(xs[k])
            out_y.append(ys[k])
    if out_x[-1] != xs[-1]:  # the latest point always shows
        out_x.append(xs[-1])
        out_y.append(ys[-1])
    return out_x, out_y
