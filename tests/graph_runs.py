"""Runs for the graphed-step tests (test_graphed_step.py, test_warm_up.py): a stand-in for the CUDA
graph that replays eagerly, and a small one-cycle epoch run on the CPU."""

from __future__ import annotations

import torch

from mnist_tui.model import Net
from mnist_tui.training.build import make_optimizer, one_cycle
from mnist_tui.training.control import TrainingControl
from mnist_tui.training.steps import EpochRun


class EagerGraph:
    """Stands in for CudaGraph: capture records the step, replay runs it into fixed outputs."""

    def __init__(self, fail: bool = False) -> None:
        self.fail, self.captures = fail, 0

    def warm_up(self, fn):
        return fn()

    def capture(self, fn):
        if self.fail:
            raise RuntimeError("CUDA error: operation not permitted when stream is capturing\nmore")
        self.captures += 1
        self.fn = fn
        self.out = (torch.zeros(()), torch.zeros((), dtype=torch.long))
        return self.out

    def replay(self):
        loss, hits = self.fn()
        self.out[0].copy_(loss)
        self.out[1].copy_(hits)


def make_run(small_synthetic, batch_size=64, onecycle=True) -> EpochRun:
    torch.manual_seed(0)
    model = Net(0.1, 0.1).to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model, 1e-2, torch.device("cpu"))
    scheduler = one_cycle(optimizer, 1e-2, 2 * 32) if onecycle else None
    data = small_synthetic
    return EpochRun(
        model, optimizer, scheduler, data.train_images, data.train_labels, batch_size, "fp32", TrainingControl(),
        emit=lambda event: None, base_lr=1e-2,
    )  # fmt: skip


def params(run: EpochRun) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in run.model.parameters()])
