"""One epoch's statistics of each parameterised layer, as ``layers.jsonl`` holds them (no numpy).

The record and its schema, apart from their computing (:mod:`mnist_tui.insight.layer_stats`):
every run source and face passes these records, and the dashboard's first frame imports them,
before numpy has loaded (numpy costs ~0.1 s of that frame on a 2-core AMD EPYC).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mnist_tui.schema import RecordError, finite

LAYERS = ("conv1", "conv2", "fc1", "fc2")
BINS = 24


class LayerStatsError(RecordError):
    """A layer-statistics row that is not what :meth:`LayerStatsRecord.to_json` writes (a
    :class:`RecordError`, as a damaged row of any other log of the run folder is)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


@dataclass(frozen=True)
class LayerStats:
    name: str
    weight_norm: float | None
    grad_norm: float | None
    update_ratio: float | None
    hist_counts: tuple[int, ...]
    hist_min: float
    hist_max: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "weight_norm": self.weight_norm,
            "grad_norm": self.grad_norm,
            "update_ratio": self.update_ratio,
            "hist": {"min": self.hist_min, "max": self.hist_max, "counts": list(self.hist_counts)},
        }


@dataclass(frozen=True)
class LayerStatsRecord:
    """One epoch's statistics for every layer, in :data:`LAYERS` order. One line of ``layers.jsonl``."""

    epoch: int
    layers: tuple[LayerStats, ...]

    def layer(self, name: str) -> LayerStats:
        for stats in self.layers:
            if stats.name == name:
                return stats
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(stats.name for stats in self.layers)

    def to_json(self) -> str:
        """One line of JSON (no newline): ``{"epoch": 3, "layers": {"conv1": {...}, ...}}``."""
        row = {"epoch": self.epoch, "layers": {s.name: s.to_dict() for s in self.layers}}
        return json.dumps(row, separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_json(cls, line: str | bytes) -> LayerStatsRecord:
        """Parse and validate a line; :class:`LayerStatsError` names the first bad field."""
        try:
            row = json.loads(line, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:  # a UnicodeDecodeError is a ValueError
            raise LayerStatsError("line", f"not JSON ({exc})") from None
        return cls.from_dict(row)

    @classmethod
    def from_dict(cls, row: Any) -> LayerStatsRecord:
        if not isinstance(row, dict):
            raise LayerStatsError("row", f"expected an object, got {type(row).__name__}")
        epoch = row.get("epoch")
        if not _is_int(epoch) or epoch < 0:
            raise LayerStatsError("epoch", f"expected a non-negative integer, got {epoch!r}")
        layers = row.get("layers")
        if not isinstance(layers, dict) or not layers:
            raise LayerStatsError("layers", "expected a non-empty object of layer name → statistics")
        return cls(epoch, tuple(_layer_from_dict(str(name), value) for name, value in layers.items()))


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _layer_from_dict(name: str, value: Any) -> LayerStats:
    where = f"layers.{name}"
    if not isinstance(value, dict):
        raise LayerStatsError(where, "expected an object")
    numbers = {}
    for key in ("weight_norm", "grad_norm", "update_ratio"):
        number = value.get(key)
        if number is not None and (not finite(number) or number < 0):
            raise LayerStatsError(f"{where}.{key}", f"expected a non-negative number or null, got {number!r}")
        numbers[key] = None if number is None else float(number)
    hist = value.get("hist")
    if not isinstance(hist, dict):
        raise LayerStatsError(f"{where}.hist", "expected an object with min, max and counts")
    lo, hi, counts = hist.get("min"), hist.get("max"), hist.get("counts")
    for key, number in (("min", lo), ("max", hi)):
        if not finite(number):
            raise LayerStatsError(f"{where}.hist.{key}", f"expected a finite number, got {number!r}")
    if lo > hi:
        raise LayerStatsError(f"{where}.hist.max", f"{hi!r} is below min {lo!r}")
    if not isinstance(counts, list) or not counts or not all(_is_int(c) and c >= 0 for c in counts):
        raise LayerStatsError(f"{where}.hist.counts", "expected a non-empty list of non-negative integers")
    return LayerStats(name, **numbers, hist_counts=tuple(counts), hist_min=float(lo), hist_max=float(hi))
