"""A CUDA run's one-time set-up, done before its training clock starts: a few throwaway steps
on a copy of the model.

Why: on an H200 (torch 2.11, ``cuda_check.sh``) ``--recipe sprint``'s first epoch took 0.6-0.8 s
and each later one 0.17 s. The difference is the libraries starting, once per process: cuDNN
choosing its convolutions, CUDA loading each kernel's module on its first launch, the graph's
capture. The first epoch's samples/s, its ETA and the time to 99 % counted that as training.

So the run's own step (graphed or eager) trains a copy of the model with a fresh optimizer for
a few full batches and one of the epoch's last size, then the copy is dropped. The run's weights,
its optimizer's state and the random streams (dropout's included) are as they were: the run
trains as it would have. The seconds are reported (a Notice), not hidden.
"""

from __future__ import annotations

import copy
import dataclasses
import time

import torch

from mnist_tui.training.build import make_optimizer
from mnist_tui.training.graphed import GraphedStep
from mnist_tui.training.steps import EpochRun, release, train_step, update_ema, use_cuda_graph


def wants_warm_up(run: EpochRun) -> bool:
    """CUDA in one process: where the set-up is worth moving (on the CPU the first step costs
    ~20 ms more than the next, Intel Xeon, 2 cores; a distributed model is wrapped)."""
    return run.images.device.type == "cuda" and not run.world.distributed


def warm_up(run: EpochRun, graph=None) -> float:
    """Train a copy of ``run``'s model through ``run``'s step and drop it → the seconds it took.

    ``graph``: a stand-in for :class:`~mnist_tui.training.graphed.CudaGraph` where ``run`` steps from
    one (tests on the CPU).
    """
    device = run.images.device
    started = time.perf_counter()
    cpu_rng = torch.get_rng_state()
    cuda_rng = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    model = copy.deepcopy(run.model).train()  # a resumed run's model was last evaluated: dropout's kernels too
    live = list(model.parameters())
    spare = dataclasses.replace(
        run,
        model=model,
        optimizer=make_optimizer(model, run.optimizer.param_groups[0]["lr"], device),
        scheduler=None,
        graphed=None,
        split=None,
        core_share=None,
        ema=([p.detach().clone() for p in live], live) if run.ema is not None else None,  # of the copy's own
        emit=lambda event: None,
        inner_eval=None,
    )
    steps = 2
    if run.graphed is not None:  # its eager steps, the capture and a replay
        use_cuda_graph(spare, "auto", graph=graph)
        steps += GraphedStep.WARMUP
    step = spare.graphed or (lambda idx: train_step(spare, idx))
    idx = torch.arange(min(run.batch_size, len(run.labels)), device=device)
    try:
        for _ in range(steps):
            step(idx)
        if last := len(run.labels) % run.batch_size:  # an epoch's last batch: other shapes
            step(idx[:last])
        if spare.ema is not None:  # the averaging's kernel
            update_ema(spare)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    finally:
        torch.set_rng_state(cpu_rng)
        if cuda_rng is not None:
            torch.cuda.set_rng_state(cuda_rng, device)
        release(spare)
    return time.perf_counter() - started
