"""What the model view computes off the UI thread (pure: no widget here; the screen runs these
in thread workers and shows only the newest request's answer).

Each job returns its answer with an error in words instead of an exception (a broken source
must not take the screen down); the digit and the embedding jobs also say how long they took.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from mnist_tui.insight.activations import DigitInsight, inspect_digit
from mnist_tui.insight.embedding import Embedding, embed_test_set, fc1_features
from mnist_tui.insight.filters import Weights, read_weights
from mnist_tui.model_snapshot import ModelSnapshot


def model_source(model: Any) -> Callable[[], Any]:
    """``model`` as a zero-argument callable (objects holding weights are wrapped; note that a
    ModelSnapshot and a module are callable themselves, with other arguments)."""
    if callable(model) and not isinstance(model, ModelSnapshot) and not hasattr(model, "state_dict"):
        return model  # (a module is told by its state_dict: importing torch here would delay the first frame)
    return lambda: model


def read_model(source: Callable[[], Any], epoch: int | None) -> tuple[Weights | None, str | None]:
    """(weights, error): the source's weights now (``epoch`` overrides its own), or None and why."""
    try:
        return read_weights(source(), epoch), None
    except Exception as exc:  # a broken source must not take the screen down
        return None, f"cannot read the model: {type(exc).__name__}: {exc}"


def compute_digit(
    weights: Weights, image: np.ndarray, embedding: Embedding | None
) -> tuple[DigitInsight | None, np.ndarray | None, str | None, float]:
    """(insight, point, error, ms): one digit's activations and saliency, and its position in
    ``embedding`` when one is given (a drawn digit, or one outside the embedding's sample)."""
    started = time.perf_counter()
    insight, point, error = None, None, None
    try:
        insight = inspect_digit(weights, image)
        if embedding is not None:
            point = embedding.project(fc1_features(weights, image))[0]
    except Exception as exc:
        error = f"cannot compute this digit: {type(exc).__name__}: {exc}"
    ms = (time.perf_counter() - started) * 1000
    return insight, point, error, ms


def compute_embedding(
    weights: Weights, images: Any, labels: Any, sample: int | None, include: int | None
) -> tuple[Embedding | None, str | None, float]:
    """(embedding, error, ms): ``sample`` of the test digits (and digit ``include``, even if the
    sample missed it) projected through fc1 and PCA."""
    started = time.perf_counter()
    embedding, error = None, None
    try:
        embedding = embed_test_set(weights, images, labels, sample=sample, include=include)
    except Exception as exc:
        error = f"cannot project the test set: {type(exc).__name__}: {exc}"
    ms = (time.perf_counter() - started) * 1000
    return embedding, error, ms
