"""A private copy of the network that the dashboard predicts with (no Textual, no numpy to import).

Every run screen holds one from its first frame, before numpy or torch has loaded (numpy
costs ~0.1 s of that frame on a 2-core AMD EPYC), so both load only when it is used.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


class ModelSnapshot:
    """A private CPU copy of a network, safe to predict with from any thread.

    The dashboard refreshes it from the trainer's listener when an epoch ends (on the
    training thread, between epochs, so the weights are not being changed while copied)
    or from a checkpoint in replay. Calling it predicts a drawing with the latest copy;
    training is never touched, so drawing costs the run nothing but one small forward pass.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._model: Any = None
        self.epoch: int | None = None
        self.in_progress = False  # weights taken during ``epoch``, not at its end

    @property
    def ready(self) -> bool:
        return self._model is not None

    def held(self) -> tuple[Any, int | None, bool]:
        """(the network held now, its epoch, taken during it): replaced whole at each update,
        never changed in place, so the caller may keep and read it (not train it) unlocked."""
        with self._lock:
            return self._model, self.epoch, self.in_progress

    @property
    def label(self) -> str:
        """ "the model at epoch 2", or "during epoch 2" for the copy taken every few seconds."""
        if self.epoch is None:
            return "the model"
        return f"the model during epoch {self.epoch}" if self.in_progress else f"the model at epoch {self.epoch}"

    def update(self, state_dict: dict[str, Any], epoch: int | None = None, in_progress: bool = False) -> None:
        """Copy ``state_dict`` (tensors on any device) into a fresh CPU network."""
        from mnist_tui.model import net_holding

        # never Net(): it would draw from the training's random generator
        model = net_holding({k: v.detach().to("cpu", copy=True) for k, v in state_dict.items()})
        with self._lock:
            self._model, self.epoch, self.in_progress = model, epoch, in_progress

    def update_arrays(self, weights: dict[str, np.ndarray], epoch: int | None = None, in_progress=False) -> None:
        """From a ModelWeights event's numpy copy."""
        import torch

        self.update({k: torch.from_numpy(v) for k, v in weights.items()}, epoch, in_progress)

    def __call__(self, grid: np.ndarray) -> np.ndarray | None:
        from mnist_tui.drawing import predict_probabilities  # numpy's, once a drawing is made

        with self._lock:
            model = self._model
            if model is None:
                return None
            return predict_probabilities(model, grid)
