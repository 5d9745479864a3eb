"""What a run is made of: its tensors on the device, the model (and its average), Adam, the schedule."""

from __future__ import annotations

import copy

import torch

from mnist_tui.data import Datasets
from mnist_tui.model import Net
from mnist_tui.training.adam import Adam


def place_data(data: Datasets, device: torch.device) -> tuple[torch.Tensor, ...]:
    """(train images, train labels, test images, test labels) on ``device``.

    Images stay uint8: ``steps.model_input`` normalises each batch as it is taken (a normalised
    float copy of MNIST would cost 220 MB).
    """
    return (
        _to_device(data.train_images, device),
        data.train_labels.to(device, non_blocking=True),
        _to_device(data.test_images, device),
        data.test_labels.to(device, non_blocking=True),
    )


def _to_device(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    if device.type == "cuda":
        images = images.pin_memory()
    return images.to(device, non_blocking=True)  # one channel: each batch is channels-last as made


def make_model(conv_dropout: float, fc_dropout: float, device: torch.device) -> Net:
    """Channels-last on the CPU (oneDNN's fast layout, and mnist_tui.pooling's); contiguous on
    CUDA, where cuDNN ran this net's step faster so (0.356 against 0.397 ms a step at batch 128,
    fp32, replayed from a CUDA graph on an H200)."""
    layout = torch.channels_last if device.type == "cpu" else torch.contiguous_format
    return Net(conv_dropout, fc_dropout).to(device, memory_format=layout)


def make_ema(model: Net, decay: float) -> Net | None:
    """An exponential moving average of ``model``'s weights (updated by the steps), or None."""
    return copy.deepcopy(model).requires_grad_(False) if decay > 0 else None


def make_optimizer(model: torch.nn.Module, lr: float, device: torch.device) -> torch.optim.Adam:
    # fused Adam: one kernel for all parameters, on CUDA and (torch ≥ 2.4) the CPU too,
    # where a step takes 0.05 ms instead of foreach's 0.15 ms (AMD EPYC, 2 threads)
    fused = device.type in ("cuda", "cpu")
    return Adam(model.parameters(), lr=lr, fused=fused, foreach=not fused)  # torch's, unguarded (adam.py)


def one_cycle(optimizer: torch.optim.Optimizer, peak_lr: float, steps: int) -> torch.optim.lr_scheduler.OneCycleLR:
    """A quarter warming up, the rest annealing, ending at the minimum on the last step. A run of
    under 8 steps peaks at its second step (it was given 8 steps, and a 5-step run ended at half
    the peak); OneCycleLR divides by each phase's length, so 2 steps only anneal."""
    total = max(2, steps)
    warm_up = min(0.75, max(0.25, 2 / total))
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=peak_lr, total_steps=total, pct_start=warm_up)
