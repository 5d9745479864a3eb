"""The convolution kernels as numpy, and a CPU copy of the weights the model view draws from.

:func:`read_weights` accepts what the UI is likely to hold: a state dict (tensors or numpy
arrays, keyed like ``Net().state_dict()``), an ``nn.Module``, an object with a
``state_dict()`` method, a :class:`mnist_tui.drawing.ModelSnapshot`, or a :class:`Weights`.
The copy is small (21,840 floats) and independent of the source, so the caller may go on
training while it is drawn.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from mnist_tui.model_snapshot import ModelSnapshot

CONV1, CONV2 = "conv1.weight", "conv2.weight"
CONV1_SHAPE, CONV2_SHAPE = (10, 1, 5, 5), (20, 10, 5, 5)


def _to_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor, on any device, in any precision
        return value.detach().to("cpu").float().numpy().copy()
    return np.array(value, dtype=np.float32, copy=True)


def state_arrays(source: Any) -> dict[str, np.ndarray]:
    """float32 numpy copies of every entry of a state dict, a module's ``state_dict()``, or
    anything with a ``state_dict()`` method."""
    if isinstance(source, Weights):
        return dict(source.state)
    if not isinstance(source, Mapping):
        state_dict = getattr(source, "state_dict", None)
        if not callable(state_dict):
            raise TypeError(f"cannot read weights from {type(source).__name__}")
        source = state_dict()
    return {key: _to_numpy(value) for key, value in source.items()}


def _kernels(state: Mapping[str, Any], key: str, shape: tuple[int, ...]) -> np.ndarray:
    if key not in state:
        raise KeyError(f"the weights have no {key!r}")
    array = state[key] if isinstance(state[key], np.ndarray) else _to_numpy(state[key])
    if array.shape != shape:
        raise ValueError(f"{key} has shape {array.shape}, expected {shape}")
    return np.asarray(array, dtype=np.float32)


def conv1_filters(source: Any) -> np.ndarray:
    """conv1's kernels, (10, 5, 5): one per output channel (the input is one grey channel)."""
    state = source.state if isinstance(source, Weights) else source
    if not isinstance(state, Mapping):
        state = state_arrays(state)
    return _kernels(state, CONV1, CONV1_SHAPE)[:, 0].copy()


def conv2_filters(source: Any) -> np.ndarray:
    """conv2's kernels, (20, 10, 5, 5): [output channel, input channel (a conv1 map), row, column]."""
    state = source.state if isinstance(source, Weights) else source
    if not isinstance(state, Mapping):
        state = state_arrays(state)
    return _kernels(state, CONV2, CONV2_SHAPE).copy()


@dataclass(frozen=True, eq=False)
class Weights:
    """A private CPU copy of the network's parameters (numpy, keyed like ``Net().state_dict()``)."""

    state: Mapping[str, np.ndarray]
    epoch: int | None = None
    in_progress: bool = False  # taken during ``epoch``, not at its end

    @property
    def label(self) -> str:
        """ "epoch 2", "during epoch 2" (taken mid-epoch, every few seconds), "model loaded"."""
        if self.epoch is None:
            return "model loaded"
        return f"during epoch {self.epoch}" if self.in_progress else f"epoch {self.epoch}"

    def same_values(self, other: Weights | None) -> bool:
        """True when ``other`` holds exactly the same parameters (an unchanged model)."""
        if other is None or self.state.keys() != other.state.keys():
            return False
        return all(np.array_equal(v, other.state[k]) for k, v in self.state.items())

    def network(self):
        """A fresh CPU ``Net`` in eval mode holding these weights (a copy: train it, break it, nothing
        leaks). Draws nothing from torch's random generators."""
        import torch

        from mnist_tui.model import net_holding

        return net_holding({k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in self.state.items()})


def read_weights(source: Any, epoch: int | None = None) -> Weights | None:
    """A :class:`Weights` copy of ``source`` (None when there is no model yet).

    ``source`` may be None, a :class:`Weights`, a state dict, a module, anything with
    ``state_dict()`` and optionally ``epoch``, or a :class:`mnist_tui.drawing.ModelSnapshot`.
    ``epoch`` overrides the source's own ``epoch`` attribute.
    """
    if source is None:
        return None
    if isinstance(source, Weights):
        return source if epoch is None else Weights(source.state, epoch, source.in_progress)
    found_epoch = getattr(source, "epoch", None) if not isinstance(source, Mapping) else None
    in_progress = False
    if isinstance(source, ModelSnapshot):
        source, found_epoch, in_progress = source.held()
        if source is None:
            return None
    return Weights(state_arrays(source), epoch if epoch is not None else found_epoch, in_progress)
