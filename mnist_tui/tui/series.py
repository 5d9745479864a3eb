"""Plot series with bounded memory however long the run: pure, no Textual."""

from __future__ import annotations


class BoundedSeries:
    """(x, y) points; past ``capacity`` it keeps every other point and doubles its stride,
    so memory stays within ``capacity`` points and the series still spans the whole run."""

    def __init__(self, capacity: int = 1000) -> None:
        if capacity < 2:
            raise ValueError("capacity must be at least 2")
        self.capacity = capacity
        self.stride = 1
        self.xs: list[float] = []
        self.ys: list[float] = []
        self._skipped = 0  # points dropped since the last one kept, under the current stride

    def __len__(self) -> int:
        return len(self.xs)

    def append(self, x: float, y: float) -> None:
        if self._skipped + 1 < self.stride:
            self._skipped += 1
            return
        self._skipped = 0
        self.xs.append(x)
        self.ys.append(y)
        if len(self.xs) > self.capacity:
            self.xs, self.ys = self.xs[::2], self.ys[::2]
            self.stride *= 2

    def clear(self) -> None:
        self.stride, self._skipped = 1, 0
        self.xs, self.ys = [], []


class Smoother:
    """Exponential moving average with bias correction (a sensible curve from the first point)."""

    def __init__(self, beta: float = 0.98) -> None:
        self.beta = beta
        self._average = 0.0
        self._count = 0

    def __call__(self, value: float) -> float:
        self._count += 1
        self._average = self.beta * self._average + (1 - self.beta) * value
        return self._average / (1 - self.beta**self._count)
