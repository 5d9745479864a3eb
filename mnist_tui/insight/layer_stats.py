"""Per-epoch statistics of each parameterised layer (TensorBoard's scalars and "distributions").

For conv1, conv2, fc1 and fc2, of the layer's ``weight`` (biases are left out: 80 of the
21,840 parameters, and they would blur the histogram):

- ``weight_norm``: ‖W‖₂ (Frobenius) at the epoch's end;
- ``grad_norm``: ‖∂L/∂W‖₂ from the ``.grad`` the epoch's last step left (None when there is
  none, e.g. after ``zero_grad(set_to_none=True)``); one batch's gradient, so it is noisy;
- ``update_ratio``: ‖W_end − W_start‖ / ‖W_end‖, with W_start from :func:`weights_copy` at
  the epoch's start: how far the epoch moved the layer, relative to its size (None without
  a start copy);
- a histogram of W: :data:`BINS` equal bins spanning [min W, max W] (counts + range).

Cost, measured on this project's 2-core CPU while two other training runs loaded it (load
average 7), median of 50 calls: :func:`weights_copy` 0.012 ms, :func:`epoch_layer_stats`
0.32 ms, i.e. 0.02 % of a 1.5 s epoch (the issue's budget is 2 %; ``tests/test_insight_cost.py``
checks it against ten training batches of 64). On a GPU the cost adds 12 small device→host copies.
Both run outside the batch loop. A non-finite
value (a diverged run) is recorded as None, never as NaN (JSON has no NaN).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mnist_tui.schema import RecordError

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


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _layer_from_dict(name: str, value: Any) -> LayerStats:
    where = f"layers.{name}"
    if not isinstance(value, dict):
        raise LayerStatsError(where, "expected an object")
    numbers = {}
    for key in ("weight_norm", "grad_norm", "update_ratio"):
        number = value.get(key)
        if number is not None and (not _is_number(number) or number < 0):
            raise LayerStatsError(f"{where}.{key}", f"expected a non-negative number or null, got {number!r}")
        numbers[key] = None if number is None else float(number)
    hist = value.get("hist")
    if not isinstance(hist, dict):
        raise LayerStatsError(f"{where}.hist", "expected an object with min, max and counts")
    lo, hi, counts = hist.get("min"), hist.get("max"), hist.get("counts")
    for key, number in (("min", lo), ("max", hi)):
        if not _is_number(number):
            raise LayerStatsError(f"{where}.hist.{key}", f"expected a finite number, got {number!r}")
    if lo > hi:
        raise LayerStatsError(f"{where}.hist.max", f"{hi!r} is below min {lo!r}")
    if not isinstance(counts, list) or not counts or not all(_is_int(c) and c >= 0 for c in counts):
        raise LayerStatsError(f"{where}.hist.counts", "expected a non-empty list of non-negative integers")
    return LayerStats(name, **numbers, hist_counts=tuple(counts), hist_min=float(lo), hist_max=float(hi))


# -- computing ---------------------------------------------------------------------------------


def _layer_weights(model: Any) -> dict[str, Any]:
    return {name: getattr(model, name).weight for name in LAYERS if hasattr(model, name)}


def weights_copy(model: Any) -> dict[str, Any]:
    """Detached clones of each layer's weight, on the model's device: call at an epoch's start."""
    return {name: weight.detach().clone() for name, weight in _layer_weights(model).items()}


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _host(tensor: Any) -> np.ndarray:
    """A float64 numpy copy of a tensor (or array) on any device."""
    if hasattr(tensor, "detach"):
        tensor = tensor.detach().to("cpu").double().numpy()
    return np.asarray(tensor, dtype=np.float64)


def _norm(values: np.ndarray) -> float:
    # not np.dot / np.linalg.norm: those go through BLAS, whose thread pool fights the trainer's
    return float(np.sqrt(np.sum(np.square(values))))


def layer_stats(name: str, weight: Any, grad: Any = None, start: Any = None, bins: int = BINS) -> LayerStats:
    """Statistics of one weight tensor (torch on any device, or numpy); see the module docstring.

    The tensors are copied to the host first (at most 16,000 floats each) and reduced with
    numpy: cheaper and steadier than torch's multi-threaded kernels for arrays this small.
    """
    w = _host(weight).ravel()
    weight_norm = _norm(w)
    grad_norm = None
    if grad is not None:
        g = _host(grad).ravel()
        grad_norm = _finite(_norm(g))
    ratio = None
    if start is not None:
        moved = w - _host(start).ravel()
        ratio = _finite(_norm(moved) / weight_norm) if weight_norm > 0 else None
    finite = w[np.isfinite(w)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if hi > lo:
        counts, _ = np.histogram(finite, bins=bins, range=(lo, hi))
    else:  # every weight equal (or none finite): one full bin, so the counts still add up
        counts = np.zeros(bins, dtype=np.int64)
        counts[0] = finite.size
    return LayerStats(
        name=name,
        weight_norm=_finite(weight_norm),
        grad_norm=grad_norm,
        update_ratio=ratio,
        hist_counts=tuple(int(c) for c in counts),
        hist_min=lo,
        hist_max=hi,
    )


def epoch_layer_stats(epoch: int, model: Any, start_weights: Mapping[str, Any] | None = None) -> LayerStatsRecord:
    """The :class:`LayerStatsRecord` of ``model`` at the end of ``epoch`` (see the module docstring).

    Call it on the training thread after the epoch's last optimiser step and before the next
    ``zero_grad``, so ``.grad`` is still there; ``start_weights`` comes from :func:`weights_copy`.
    """
    start_weights = start_weights or {}
    weights = _layer_weights(model)
    layers = tuple(layer_stats(name, w, w.grad, start_weights.get(name)) for name, w in weights.items())
    return LayerStatsRecord(int(epoch), layers)


# -- reading for display -----------------------------------------------------------------------


def series(records: Sequence[LayerStatsRecord], layer: str, field: str) -> tuple[list[int], list[float]]:
    """(epochs, values) of one field of one layer, skipping epochs where it is None or absent."""
    epochs, values = [], []
    for record in records:
        try:
            value = getattr(record.layer(layer), field)
        except KeyError:
            continue
        if value is not None:
            epochs.append(record.epoch)
            values.append(value)
    return epochs, values


def rebin(counts: Sequence[int], lo: float, hi: float, edges: np.ndarray) -> np.ndarray:
    """Spread a histogram over [lo, hi] onto new bin ``edges``, each old bin's count shared
    in proportion to its overlap with the new bins (a zero-width histogram lands in one bin)."""
    counts = np.asarray(counts, dtype=np.float64)
    out = np.zeros(len(edges) - 1)
    if hi <= lo:
        index = int(np.clip(np.searchsorted(edges, lo, side="right") - 1, 0, len(out) - 1))
        out[index] = counts.sum()
        return out
    old = np.linspace(lo, hi, len(counts) + 1)
    for i, count in enumerate(counts):
        if count == 0:
            continue
        a, b = old[i], old[i + 1]
        overlap = np.clip(np.minimum(edges[1:], b) - np.maximum(edges[:-1], a), 0, None)
        out += count * overlap / (b - a)
    return out


def histogram_band(
    records: Sequence[LayerStatsRecord], layer: str, bins: int = BINS
) -> tuple[list[int], np.ndarray, float, float]:
    """(epochs, counts (epochs × bins), lo, hi): each epoch's histogram of ``layer`` on one common
    range (the union of the epochs' ranges), so the band's columns line up across epochs."""
    rows = []
    for record in records:
        try:
            rows.append((record.epoch, record.layer(layer)))
        except KeyError:
            continue
    if not rows:
        return [], np.zeros((0, bins)), 0.0, 0.0
    lo = min(stats.hist_min for _, stats in rows)
    hi = max(stats.hist_max for _, stats in rows)
    if hi <= lo:
        hi = lo + 1e-12
    edges = np.linspace(lo, hi, bins + 1)
    band = np.stack([rebin(stats.hist_counts, stats.hist_min, stats.hist_max, edges) for _, stats in rows])
    return [epoch for epoch, _ in rows], band, lo, hi
