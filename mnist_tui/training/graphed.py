"""The training step captured once in a CUDA graph and replayed for every full batch.

Why: on an H200 (torch 2.11, ``benchmarks/cuda_profile.py``) the eager step took 2.0–3.3 ms
whatever the batch size, 128 or 1024: the host launching a hundred small kernels sets the
pace, not the GPU. Replayed from a graph the same step took 0.50 ms at batch 128 and 1.57 ms
at 1024, and ``--recipe issue`` of the sprint sweep reached 99 % in 0.46 s of training (seeds
0, 1, 2) against 2.06 s eager.

What is captured: the gather of the batch from the device-resident images (its indices are
copied into a fixed buffer before each replay), the forward pass under bf16 autocast (its
weight cache off: the casts must be inside the graph), the loss, the backward pass and Adam.
torch's Adam cannot be captured here with the one-cycle schedule: its lr and beta1 change every
step, and its capturable paths read a tensor beta back to the host (torch 2.11: "operation not
permitted when stream is capturing"). So :func:`adam_update` does torch's Adam arithmetic on the
optimizer's own state tensors with lr and beta1 as device tensors, filled from the param group
(where the schedule and steering write them) before each replay. The state stays torch's:
checkpoints, resume and the schedule see no difference.

The first steps run eagerly on a side stream (CUDA's libraries allocate their workspaces there,
as capture requires); a batch of another size (an epoch's last) runs eagerly too. Gradients are
zeroed in place, never set to None, so ``.grad`` stays the tensor the graph writes (the layer
statistics read it after the epoch). A capture that fails stops the run with one line naming
``--cuda-graphs off`` (:class:`GraphCaptureFailed`)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from mnist_tui.errors import GraphCaptureFailed

Step = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


@torch.no_grad()
def adam_update(optimizer: torch.optim.Adam, lr: torch.Tensor, beta1: torch.Tensor) -> None:
    """torch's Adam (no weight decay, no amsgrad) on ``optimizer``'s params and state, with
    ``lr`` and ``beta1`` read from device tensors: nothing goes back to the host.

    The bias correction uses the current beta1, ``1 - beta1 ** step``, as torch's does under a
    cycling beta1. The state (``exp_avg``, ``exp_avg_sq``, ``step``) must exist: one eager
    ``optimizer.step()`` makes it.
    """
    group = optimizer.param_groups[0]
    beta2, eps = group["betas"][1], group["eps"]
    params = [p for p in group["params"] if p.grad is not None]
    grads = [p.grad for p in params]
    states = [optimizer.state[p] for p in params]
    exp_avgs = [s["exp_avg"] for s in states]
    exp_avg_sqs = [s["exp_avg_sq"] for s in states]
    steps = [s["step"] for s in states]
    torch._foreach_add_(steps, 1)
    torch._foreach_mul_(exp_avgs, beta1)
    torch._foreach_add_(exp_avgs, torch._foreach_mul(grads, 1 - beta1))
    torch._foreach_mul_(exp_avg_sqs, beta2)
    torch._foreach_addcmul_(exp_avg_sqs, grads, grads, value=1 - beta2)
    step = steps[0]  # every parameter has taken every step
    bias1 = 1 - beta1**step
    bias2_sqrt = (1 - torch.pow(beta2, step)).sqrt()
    denom = torch._foreach_sqrt(exp_avg_sqs)
    torch._foreach_div_(denom, bias2_sqrt)
    torch._foreach_add_(denom, eps)
    update = torch._foreach_div(exp_avgs, denom)
    torch._foreach_mul_(update, lr / bias1)
    torch._foreach_sub_(params, update)


class CudaGraph:
    """``torch.cuda.CUDAGraph`` behind the two calls :class:`GraphedStep` makes."""

    def __init__(self, device: torch.device) -> None:
        self.graph = torch.cuda.CUDAGraph()
        self.side = torch.cuda.Stream(device)
        self.device = device

    def warm_up(self, fn: Callable[[], object]):
        """Run ``fn`` eagerly on a side stream, as capture needs of the steps before it."""
        main = torch.cuda.current_stream(self.device)
        self.side.wait_stream(main)
        with torch.cuda.stream(self.side):
            out = fn()
        main.wait_stream(self.side)
        return out

    def capture(self, fn: Callable[[], object]):
        # thread_local: the dashboard trains in a worker thread; its other threads' CUDA calls
        # (the system panel's memory query) must not break this capture, nor be captured
        stream = torch.cuda.current_stream(self.device)
        try:
            with torch.cuda.graph(self.graph, capture_error_mode="thread_local"):
                return fn()
        except BaseException:
            torch.cuda.set_stream(stream)  # a failed capture_end leaves torch's capture stream current
            raise

    def replay(self) -> None:
        self.graph.replay()


class GraphedStep:
    """``step(idx) → (loss, correct)``: eager for the first ``WARMUP`` full batches and for
    batches of another size, then captured once and replayed.

    ``eager(idx, keep_grads=True, lr=None, beta1=None)`` is the step itself (``steps.train_step``):
    it zeroes gradients in place, and given ``lr``/``beta1`` turns autocast's weight cache off and
    updates with :func:`adam_update`; without them, with the optimizer's own (fused) step.
    ``graph`` is a :class:`CudaGraph` (a test hands in a stand-in that replays eagerly).
    """

    WARMUP = 3

    def __init__(self, eager: Callable[..., tuple[torch.Tensor, torch.Tensor]], optimizer, batch_size: int,
                 graph) -> None:  # fmt: skip
        self.eager, self.optimizer, self.batch_size, self.graph = eager, optimizer, batch_size, graph
        device = optimizer.param_groups[0]["params"][0].device
        self.lr = torch.zeros((), device=device)
        self.beta1 = torch.zeros((), device=device)
        self.captured = False
        self.eager_steps = self.replays = 0

    def __call__(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        full = len(idx) == self.batch_size
        if self.captured and full:
            self._fill_hyperparameters()
            self.static_idx.copy_(idx)
            self.graph.replay()
            self.replays += 1
            return self.static_out
        if full and self.eager_steps >= self.WARMUP:
            return self._capture(idx)
        self.eager_steps += 1
        return self.graph.warm_up(lambda: self.eager(idx, keep_grads=True))

    def _fill_hyperparameters(self) -> None:
        group = self.optimizer.param_groups[0]  # the schedule and steering write floats here
        self.lr.fill_(group["lr"])
        self.beta1.fill_(group["betas"][0])

    def _capture(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.static_idx = idx.clone()
        self._fill_hyperparameters()
        step = lambda: self.eager(self.static_idx, keep_grads=True, lr=self.lr, beta1=self.beta1)  # noqa: E731
        try:
            self.static_out = self.graph.capture(step)
            self.graph.replay()  # capture records the step; this runs it
        except RuntimeError as exc:  # torch's CUDA errors are RuntimeErrors
            lines = str(exc).strip().splitlines()
            reason = lines[0] if lines else type(exc).__name__
            raise GraphCaptureFailed(f"the CUDA graph of the training step failed ({reason}); "
                                     "train with --cuda-graphs off") from exc  # fmt: skip
        self.captured = True
        self.replays += 1
        return self.static_out

    def release(self) -> None:
        """Drop the graph and its memory now (the run holds this step, and the step the run: a
        reference cycle that kept the graph's memory pool until the garbage collector ran)."""
        self.graph = self.eager = self.static_out = self.static_idx = None
        self.captured = False
