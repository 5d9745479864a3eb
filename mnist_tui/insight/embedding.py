"""The test set as the network sees it: 50-d fc1 features (after ReLU), projected to 2-D by PCA.

As the net learns, digits of one class land near each other in fc1's space and the 2-D
projection shows ten clusters pulling apart.

- Sample: :data:`SAMPLE` test digits (fixed seed, so every epoch projects the same digits
  and the picture changes only because the model did); ``sample=None`` takes all of them.
- PCA: centred, the top two principal axes by an exact SVD of the (sample × 50) feature
  matrix (``torch.linalg.svd``). Not ``torch.pca_lowrank``: its random projection draws from
  torch's global generator, which the trainer's dropout shares when training on the CPU,
  so fitting it in a UI thread mid-run would change the run's random stream. For 50
  columns the exact SVD costs less anyway. Each axis' sign is fixed so its largest loading
  is positive, which keeps the picture from flipping between epochs for no reason.

Measured on this project's 2-core CPU (features + PCA, median of 5): 2,000 digits 0.29 s
with one torch thread to itself, 0.55–1.2 s while training runs keep both cores busy; the
whole test set (10,000) about 3 s. Almost all of it is the convolutions; the SVD is ~3 ms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mnist_tui.insight.filters import read_weights

SAMPLE = 2000
SEED = 0
BATCH = 1000


@dataclass(frozen=True, eq=False)
class Embedding:
    coords: np.ndarray  # (N, 2) float32
    labels: np.ndarray  # (N,) int64, the true digits
    indices: np.ndarray  # (N,) int64, positions in the test set
    mean: np.ndarray  # (50,) float32, the features' mean (the centre of the projection)
    axes: np.ndarray  # (50, 2) float32, the principal axes
    explained: np.ndarray  # (2,) share of the features' variance along each axis
    epoch: int | None = None

    def project(self, features: np.ndarray) -> np.ndarray:
        """(M, 2) coordinates of other fc1 features (e.g. a drawn digit) in this projection."""
        return ((np.asarray(features, dtype=np.float32) - self.mean) @ self.axes).astype(np.float32)

    def position_of(self, index: int) -> np.ndarray | None:
        """The (x, y) of test digit ``index`` if it is in the sample."""
        hits = np.flatnonzero(self.indices == index)
        return self.coords[hits[0]] if hits.size else None


def sample_indices(total: int, sample: int | None = SAMPLE, seed: int = SEED) -> np.ndarray:
    """Sorted positions of ``sample`` of ``total`` digits (all when ``sample`` is None or ≥ total)."""
    if sample is None or sample >= total:
        return np.arange(total, dtype=np.int64)
    return np.sort(np.random.default_rng(seed).choice(total, size=sample, replace=False)).astype(np.int64)


def _as_tensor(images: Any):
    import torch

    if isinstance(images, torch.Tensor):
        return images.detach().cpu()
    return torch.from_numpy(np.ascontiguousarray(images))


def fc1_features(model: Any, images: Any, batch_size: int = BATCH) -> np.ndarray:
    """(N, 50) float32: relu(fc1(·)) of uint8 (N, 28, 28) images, in batches, on a CPU copy."""
    import torch
    from torch.nn import functional as F

    from mnist_tui.data import normalise

    weights = read_weights(model)
    if weights is None:
        raise ValueError("no model yet")
    net = weights.network()
    images = _as_tensor(images)
    if images.ndim == 2:
        images = images[None]
    if images.dtype != torch.uint8:  # float 0–1 digits: to the 0–255 scale normalise expects
        images = images.float() * 255.0
    out = []
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            x = normalise(images[start : start + batch_size])
            x = F.relu(F.max_pool2d(net.conv1(x), 2))
            x = F.relu(F.max_pool2d(net.conv2(x), 2))
            out.append(F.relu(net.fc1(torch.flatten(x, 1))))
    if not out:
        return np.zeros((0, 50), dtype=np.float32)
    return torch.cat(out).numpy().astype(np.float32, copy=False)


def pca_2d(features: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(coords (N, 2), mean (D,), axes (D, 2), explained (2,)) of centred PCA, signs fixed."""
    import torch

    x = torch.from_numpy(np.asarray(features, dtype=np.float64))
    mean = x.mean(0)
    centred = x - mean
    _, s, vh = torch.linalg.svd(centred, full_matrices=False)
    axes = vh[:2].T.clone()  # (D, 2)
    if axes.shape[1] < 2:  # fewer than two digits or features: pad with a zero axis
        axes = torch.cat([axes, torch.zeros(axes.shape[0], 2 - axes.shape[1], dtype=axes.dtype)], 1)
    for j in range(2):
        if axes[:, j].abs().max() > 0 and axes[axes[:, j].abs().argmax(), j] < 0:
            axes[:, j] = -axes[:, j]
    variance = s.square()
    total = float(variance.sum())
    explained = np.zeros(2)
    if total > 0:
        top = variance[:2].numpy() / total
        explained[: len(top)] = top
    coords = (centred @ axes).numpy().astype(np.float32)
    return coords, mean.numpy().astype(np.float32), axes.numpy().astype(np.float32), explained


def embed_test_set(
    model: Any,
    images: Any,
    labels: Any,
    sample: int | None = SAMPLE,
    seed: int = SEED,
    include: int | None = None,
) -> Embedding:
    """Project ``sample`` of the test digits (and digit ``include``, e.g. the selected one, even
    if the sample missed it) through fc1 and PCA. ``model``: anything
    :func:`~mnist_tui.insight.filters.read_weights` takes."""
    weights = read_weights(model)
    if weights is None:
        raise ValueError("no model yet")
    images = _as_tensor(images)
    labels = np.asarray(labels.cpu() if hasattr(labels, "cpu") else labels, dtype=np.int64)
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    indices = sample_indices(len(labels), sample, seed)
    if include is not None and 0 <= include < len(labels) and include not in indices:
        indices = np.sort(np.append(indices, include))
    features = fc1_features(weights, images[indices])
    coords, mean, axes, explained = pca_2d(features)
    return Embedding(coords, labels[indices], indices, mean, axes, explained, weights.epoch)
