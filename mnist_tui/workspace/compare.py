"""What the compare panel overlays: one series per selected run and metric, and the settings
that differ between the runs (pure: the panel only draws).

A run's batch losses can number tens of thousands (10 epochs of full MNIST at batch 64 is
9,380); plotext draws ~1,000 points in a 100-column plot no better than 200, and its time
grows with the points, so each batch series is cut to at most ``MAX_POINTS`` (the mean of
each stride, which keeps the curve's level where a plain stride would keep noise).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mnist_tui.training.events import BatchEnd, EpochRecord
from mnist_tui.training.inner_evals import tests_of
from mnist_tui.workspace.index import SETTINGS, RunSummary

MAX_POINTS = 400


@dataclass(frozen=True)
class Metric:
    key: str
    title: str
    ylabel: str
    log: bool = False  # its axis: a log scale (losses and error, as the dashboard's), else linear
    ceiling: float | None = None  # the axis goes no higher (accuracy: 100 %)


METRICS = {
    "acc": Metric("acc", "test accuracy", "%", ceiling=100.0),
    "error": Metric("error", "test error", "%", log=True),
    "test_loss": Metric("test_loss", "test loss", "loss", log=True),
    "train_loss": Metric("train_loss", "train loss", "loss", log=True),
    "batch_loss": Metric("batch_loss", "batch loss", "loss", log=True),
}


@dataclass(frozen=True)
class Series:
    name: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]


def epoch_series(name: str, history: list[EpochRecord], metric: str) -> Series:
    """``acc``/``error`` in percent; ``test_loss``/``train_loss`` as recorded; x is the epoch. The test
    metrics take the tests inside epochs too (``--tests-per-epoch``), at their place (1.5)."""
    if metric == "train_loss":
        return Series(name, tuple(float(r.epoch) for r in history), tuple(r.train_loss for r in history))
    pick = {"acc": lambda t: 100 * t.test_acc, "error": lambda t: 100 * (1 - t.test_acc)}.get(metric)
    tests = [test for row in history for test in tests_of(row)]
    return Series(name, tuple(float(t.at) for t in tests), tuple(pick(t) if pick else t.test_loss for t in tests))


def batch_series(name: str, batches: list[BatchEnd], max_points: int = MAX_POINTS) -> Series:
    """Every batch's loss at x = epochs done (epoch 1's batch 59 of 118 is x = 0.5); a partial last
    epoch (sprint's half) by a whole epoch's batches, the most any of the run's epochs reported."""
    xs: list[float] = []
    ys: list[float] = []
    whole = max((report.batches_per_epoch for report in batches), default=0)
    for report in batches:
        xs.extend(report.positions(whole))
        ys.extend(report.losses)
    stride = -(-len(xs) // max_points) if len(xs) > max_points else 1
    if stride > 1:
        xs = [xs[min(i + stride, len(xs)) - 1] for i in range(0, len(xs), stride)]
        ys = [sum(ys[i : i + stride]) / len(ys[i : i + stride]) for i in range(0, len(ys), stride)]
    return Series(name, tuple(xs), tuple(ys))


def differing_settings(summaries: list[RunSummary]) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    """(settings whose values differ: name → each run's value in order; settings all share)."""
    differ: dict[str, list[Any]] = {}
    same: dict[str, Any] = {}
    for name in SETTINGS + ("epochs_length",):
        values = [getattr(s, name) for s in summaries]
        if len(set(values)) > 1:
            differ[name] = values
        elif values:
            same[name] = values[0]
    return differ, same


def run_curves(index, summary: RunSummary) -> dict[str, Series]:
    """Every metric's series of one run, read through the index's cache (call off the UI thread)."""
    if summary.problem:
        return {}
    history = index.history(summary.path)
    curves = {
        metric: epoch_series(summary.name, history, metric) for metric in ("acc", "error", "test_loss", "train_loss")
    }
    curves["batch_loss"] = batch_series(summary.name, index.batches(summary.path))
    return curves
