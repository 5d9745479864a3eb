"""One training epoch and one evaluation: small functions that return metrics.

The hot loop keeps losses and correct counts on the device and reads them back once per
report (at most ``report_every`` seconds apart), so a CUDA run has no per-batch host sync.
Images stay uint8 and each batch is normalised as it is taken (a few microseconds): a
normalised float copy of MNIST would cost 220 MB of memory for no measurable speed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from mnist_tui.data import normalise
from mnist_tui.training.control import TrainingControl
from mnist_tui.training.core_share import CoreShare, use_core_share
from mnist_tui.training.device import autocast
from mnist_tui.training.distributed import World
from mnist_tui.training.events import BatchEnd, StateChanged, Steered
from mnist_tui.training.graphed import CudaGraph, GraphedStep, adam_update
from mnist_tui.training.split_step import SplitStep, use_split_step


@dataclass(frozen=True)
class EpochStats:
    loss: float
    accuracy: float
    seconds: float  # training time, pauses excluded
    samples: int
    last_lr: float  # the lr of the epoch's last batch, steering included


@dataclass(frozen=True)
class EvalStats:
    loss: float  # true mean over test samples
    accuracy: float
    probabilities: np.ndarray
    confusion: np.ndarray


def model_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 (B, 28, 28) → :func:`mnist_tui.data.normalise`; floats are taken as already normalised.

    With one channel the result's layout is also channels-last.
    """
    return normalise(images) if images.dtype == torch.uint8 else images


def take_batch(images: torch.Tensor, labels: torch.Tensor, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's input and the labels of the samples ``idx``.

    ``index_select`` copies whole rows: 0.02 ms for 512 images where ``images[idx]`` (advanced
    indexing, an index computed per element) took 0.18 ms alone and 0.34 ms inside a training
    step (AMD EPYC, 2 threads): 3 % of the step.
    """
    return model_input(torch.index_select(images, 0, idx)), torch.index_select(labels, 0, idx)


@dataclass
class EpochRun:
    """What one epoch needs; built by the trainer."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler | None
    images: torch.Tensor  # uint8 (N, 28, 28) on the device (or already normalised floats)
    labels: torch.Tensor
    batch_size: int
    precision: str
    control: TrainingControl
    emit: Callable[[object], None]
    report_every: float = 0.1
    world: World = World()
    base_lr: float = 0.0  # the constant schedule's lr (a scheduler sets its own)
    applied_scale: float = 1.0  # the lr scale in force
    ema: tuple | None = None  # (EMA parameters, model parameters): averaged after each step
    ema_decay: float = 0.0
    ema_steps: int = 0
    graphed: GraphedStep | None = None  # CUDA: the step replayed from a graph (see use_cuda_graph)
    split: SplitStep | None = None  # 2 CPU cores: each half of a batch on its own (see use_split_step)
    core_share: CoreShare | None = None  # the CPU: fewer op threads while other processes are busy (use_core_share)
    # --tests-per-epoch: after these of an epoch's batches (the trainer sets them each epoch), call
    # inner_eval(epoch, samples trained in it, its training seconds so far); its time is not training
    inner_eval_after: tuple[int, ...] = ()
    inner_eval: Callable[[int, int, float], None] | None = None


def train_step(run: EpochRun, idx: torch.Tensor, keep_grads: bool = False, lr=None, beta1=None):
    """One optimisation step on the samples ``idx`` → (loss, correct) as device tensors.

    For a CUDA graph (:mod:`mnist_tui.training.graphed`): ``keep_grads`` zeroes ``.grad`` in
    place instead of dropping it, and with ``lr``/``beta1`` (device tensors) the update is
    :func:`adam_update` with autocast's weight cache off; without them it is the fused Adam's step.
    """
    x, y = take_batch(run.images, run.labels, idx)
    run.optimizer.zero_grad(set_to_none=not keep_grads)
    with autocast(run.images.device, run.precision, cache_enabled=lr is None):
        logits = run.model(x)
    loss = F.cross_entropy(logits.float(), y)
    loss.backward()
    if lr is None:
        run.optimizer.step()
    else:
        adam_update(run.optimizer, lr, beta1)
    return loss.detach(), (logits.argmax(1) == y).sum()


def use_cuda_graph(run: EpochRun, setting: str, graph=None) -> None:
    """Replay the step from a CUDA graph where ``setting`` is auto, the run is on CUDA in one
    process, and Adam has one group without weight decay or amsgrad (what ``adam_update`` does).
    ``graph``: a stand-in for :class:`CudaGraph` (tests on the CPU)."""
    group = run.optimizer.param_groups
    on_cuda = run.images.device.type == "cuda" or graph is not None
    if setting != "auto" or not on_cuda or run.world.distributed or len(group) != 1:
        return
    if group[0]["weight_decay"] or group[0]["amsgrad"] or group[0].get("maximize"):
        return
    graph = graph or CudaGraph(run.images.device)
    run.graphed = GraphedStep(lambda idx, **kw: train_step(run, idx, **kw), run.optimizer, run.batch_size, graph)


def choose_step(run: EpochRun, cuda_graphs: str, split_batch: str, share_cores: str = "auto") -> None:
    """How ``run`` steps: from a CUDA graph, split over 2 cores, and on how many op threads (the
    split step's halves keep their own counts, so the core share comes last)."""
    use_cuda_graph(run, cuda_graphs)
    use_split_step(run, split_batch)
    use_core_share(run, share_cores)


def release(run: EpochRun) -> None:
    """Free what the run's step holds now: a CUDA graph's memory, the split step's helper threads."""
    if run.graphed is not None:
        run.graphed.release()
    if run.split is not None:
        run.split.close()
    if run.core_share is not None:
        run.core_share.restore()


@torch.no_grad()  # else each lerp_ joins the average to autograd: a chain growing every step, holding
def update_ema(run: EpochRun) -> None:  # the weights' grad accumulators (a CUDA graph capture then fails)
    """ema ← ema + (1 - d)·(w - ema), with d warming up to ``ema_decay`` (no host sync)."""
    run.ema_steps += 1
    decay = min(run.ema_decay, (1 + run.ema_steps) / (10 + run.ema_steps))
    averaged, live = run.ema
    torch._foreach_lerp_(averaged, live, 1.0 - decay)


def _steer_lr(run: EpochRun, scale: float, epoch: int, batch: int) -> None:
    """Set this batch's lr to the schedule's times ``scale``; report a new scale once."""
    scheduled = run.scheduler.get_last_lr()[0] if run.scheduler is not None else run.base_lr
    for group in run.optimizer.param_groups:
        group["lr"] = scheduled * scale
    if scale != run.applied_scale:
        what = f"lr ×{scale / run.applied_scale:g}"
        run.applied_scale = scale
        run.emit(Steered(epoch, batch, what, scale, 0, time.time()))


def _wait_while_paused(run: EpochRun) -> bool:
    """Block while paused (reported as state changes); False once stop is asked."""
    return run.control.wait_while_paused(
        on_pause=lambda: run.emit(StateChanged("paused")), on_resume=lambda: run.emit(StateChanged("training"))
    )


def train_epoch(run: EpochRun, epoch: int, order: torch.Tensor) -> EpochStats | None:
    """Train one pass over ``images[order]``. Returns None when stopped mid-epoch.

    Under torchrun ``order`` is this rank's shard; a stop on any rank ends every rank at the
    same batch (one tiny all-reduce per batch, only when distributed).
    """
    model, n, bs, world = run.model, len(order), run.batch_size, run.world
    batches = (n + bs - 1) // bs
    device = run.images.device
    losses = torch.zeros(batches, device=device)
    correct = torch.zeros((), dtype=torch.long, device=device)
    model.train()
    started = last_report = time.perf_counter()
    paused_for, reported = 0.0, 0
    lrs: list[float] = []  # a Python float per batch: no device sync
    for b in range(batches):
        if run.control.paused or run.control.stopped:
            t = time.perf_counter()
            if not _wait_while_paused(run) and not world.distributed:
                return None  # distributed: every rank stops at this batch, through agree below
            paused_for += time.perf_counter() - t
            last_report = time.perf_counter()
        stop, scale = run.control.stopped, run.control.lr_scale
        if world.distributed:  # a rank that returned alone left the others in this all-reduce: "closed by peer"
            stop, scale = world.agree(stop, scale, device)
            if stop:
                return None
        if scale != 1.0 or run.applied_scale != 1.0:  # a float compare per batch while not steered
            _steer_lr(run, scale, epoch, b + 1)
        lrs.append(run.optimizer.param_groups[0]["lr"])
        idx = order[b * bs : (b + 1) * bs]
        if run.graphed is not None:
            loss, hits = run.graphed(idx)
        elif run.split is not None:
            loss, hits = run.split(*take_batch(run.images, run.labels, idx))
        else:
            loss, hits = train_step(run, idx)
        if run.ema is not None:
            update_ema(run)
        if run.scheduler is not None:
            run.scheduler.step()
        losses[b] = loss
        correct += hits
        if b + 1 in run.inner_eval_after and run.inner_eval is not None:
            if device.type == "cuda":
                torch.cuda.synchronize(device)  # the steps queued so far are training time, not the test's
            t = time.perf_counter()
            run.inner_eval(epoch, min((b + 1) * bs, n) * world.world_size, t - started - paused_for)
            paused_for += time.perf_counter() - t
        now = time.perf_counter()
        if now - last_report >= run.report_every or b == batches - 1:
            elapsed = max(now - started - paused_for, 1e-9)
            seen = min((b + 1) * bs, n) * world.world_size  # every rank's (torchrun): the run's train size
            batch_losses = tuple(losses[reported : b + 1].tolist())  # the one host sync
            rate = seen / elapsed
            report = BatchEnd(epoch, b + 1, batches, batch_losses, rate, seen, tuple(lrs[reported:]), time.time())
            run.emit(report)
            reported, last_report = b + 1, now
            if run.core_share is not None:
                run.core_share.adjust(run.emit)
    seconds = time.perf_counter() - started - paused_for
    sizes = torch.full((batches,), float(bs), device=device)
    sizes[-1] = n - bs * (batches - 1)
    totals = world.sum(torch.stack([(losses * sizes).sum(), correct.float(), torch.tensor(float(n), device=device)]))
    loss_sum, correct_sum, samples = totals.tolist()
    return EpochStats(loss_sum / samples, correct_sum / samples, seconds, int(samples), lrs[-1])


@torch.inference_mode()
def evaluate(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int) -> EvalStats:
    """Loss as the true per-sample mean, accuracy, softmax over every sample, confusion matrix."""
    model.eval()
    loss_sum = torch.zeros((), device=images.device)
    probs = []
    for i in range(0, len(images), batch_size):
        logits = model(model_input(images[i : i + batch_size])).float()
        loss_sum += F.cross_entropy(logits, labels[i : i + batch_size], reduction="sum")
        probs.append(torch.softmax(logits, dim=1))
    probabilities = torch.cat(probs)
    predicted = probabilities.argmax(1)
    confusion = torch.bincount(labels * 10 + predicted, minlength=100).reshape(10, 10)
    accuracy = float((predicted == labels).float().mean())
    return EvalStats(float(loss_sum) / len(images), accuracy, probabilities.cpu().numpy(), confusion.cpu().numpy())
