"""The training step of benchmarks/sprint.py, a self-contained copy of the trainer's fast path
(``mnist_tui/training/steps.py``): the run's ``Options`` (device, precision, memory format, compile,
CUDA graphs) and its device-resident ``Data``, the bf16 ``autocast`` and the device ``sync``, the
seeded model and optimizer (``build``), and one step on a batch of indices (``make_step``): eager,
``torch.compile``d, or replayed from a captured CUDA graph (``CudaGraphStep``).
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo, when not installed
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sprint_recipes import Recipe  # noqa: E402

from mnist_tui.model import Net  # noqa: E402
from mnist_tui.training.steps import take_batch  # noqa: E402


@dataclass
class Options:
    device: torch.device
    precision: str  # bf16 | fp32
    channels_last: bool = True
    compile: bool = False
    cuda_graphs: bool = False
    eval_batch_size: int = 2000


@dataclass
class Data:
    train_x: torch.Tensor  # uint8 (N, 28, 28), on the device
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor


def autocast(opts: Options, cache_enabled: bool = True):
    if opts.precision == "bf16":
        return torch.autocast(opts.device.type, dtype=torch.bfloat16, cache_enabled=cache_enabled)
    return contextlib.nullcontext()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def build(recipe: Recipe, seed: int, opts: Options):
    torch.manual_seed(seed)
    model = Net(recipe.conv_dropout, recipe.fc_dropout).to(opts.device)
    if opts.channels_last:
        model = model.to(memory_format=torch.channels_last)
    cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[recipe.optimizer]
    kwargs: dict = dict(lr=recipe.lr, betas=recipe.betas, weight_decay=recipe.weight_decay)
    if opts.cuda_graphs:  # lr and beta1 become device tensors, updated in place between replays
        kwargs.update(
            lr=torch.tensor(recipe.lr, device=opts.device),
            betas=tuple(torch.tensor(b, device=opts.device) for b in recipe.betas),
            capturable=True,
            foreach=True,
        )
    else:  # as the trainer: fused on CUDA and on the CPU (0.05 ms a step against foreach's 0.15)
        kwargs.update(fused=True)
    optimizer = cls(model.parameters(), **kwargs)
    return model, optimizer


def make_step(model, optimizer, data: Data, recipe: Recipe, opts: Options):
    """One training step on ``idx`` → (loss, correct) as device tensors: eager, compiled, or a CUDA graph."""
    smoothing = recipe.label_smoothing

    def forward_backward(idx):
        x, y = take_batch(data.train_x, data.train_y, idx)
        with autocast(opts, cache_enabled=not opts.cuda_graphs):
            logits = model(x)
        loss = F.cross_entropy(logits.float(), y, label_smoothing=smoothing)
        loss.backward()
        return loss.detach(), (logits.argmax(1) == y).sum()

    if opts.compile:
        forward_backward = torch.compile(forward_backward)

    def eager(idx):
        optimizer.zero_grad(set_to_none=not opts.cuda_graphs)
        loss, hits = forward_backward(idx)
        optimizer.step()
        return loss, hits

    if not opts.cuda_graphs:
        return eager
    if opts.device.type != "cuda":
        raise ValueError("--cuda-graphs needs --device cuda")
    return CudaGraphStep(eager, opts.device)


class CudaGraphStep:
    """Replays one captured step (gather, normalise, forward, backward, Adam) per full batch.

    The first three steps run eagerly on a side stream (they train, as any step), the fourth is
    captured and then replayed; a batch of another size (an epoch's last, a ramp) runs eagerly.
    """

    WARMUP = 3

    def __init__(self, eager, device: torch.device) -> None:
        self.eager, self.device = eager, device
        self.graph: torch.cuda.CUDAGraph | None = None
        self.calls = 0
        self.stream = torch.cuda.Stream(device)

    def __call__(self, idx: torch.Tensor):
        self.calls += 1
        if self.graph is not None and idx.shape == self.static_idx.shape:
            self.static_idx.copy_(idx)
            self.graph.replay()
            return self.static_out
        if self.calls <= self.WARMUP or self.graph is not None:
            self.stream.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(self.stream):
                out = self.eager(idx)
            torch.cuda.current_stream(self.device).wait_stream(self.stream)
            return out
        self.static_idx = idx.clone()
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.static_out = self.eager(self.static_idx)
        self.graph.replay()
        return self.static_out
