"""A CPU training step that computes each half of its batch on its own core.

On 2 CPU cores torch runs each op of a step over both threads: a hundred-odd ops a step, each
forking to the second thread and joining it again, and oneDNN's AVX2 kernels for these 10- and
20-channel convolutions gain only 1.5-1.6× from the second (Zen 3, batch 1024: 6.0-7.1k
samples/s on one thread, 9.0-11.3k on two). Two halves of the batch, each computed by a thread
of its own with one op thread, keep both cores busy with no join until the step's end.

Measured on the 2-core AMD EPYC (Zen 3, fp32). The trainer alone (3-epoch runs of 20,000
samples, alternated): batch 1024 1.14-1.18× split over whole; batch 128 0.61-0.72×. Headless
runs through ``benchmarks/throughput.py --whole-batch``: 1.075× (rounds 1.02-1.22). At small
batches each op is short, and the two halves hand the GIL to each other around every op (a
thread wake-up each): in the trainer a 64-image half took 15 ms where the whole 128 took
about 15 ms on two threads. Bare steps alternated in one process, without the trainer's other
threads, gained there too (batch 128 1.15-1.42×), so the trainer's figures decide: from 768.

Two helper threads compute the halves while the trainer's thread waits. They share the model:
autograd adds each half's gradient into a weight's ``.grad`` under that weight's lock, a sum of
two terms that is the same in either order. Each half's loss is its cross-entropy summed over
its samples and divided by the whole batch's size, so the two gradients add up to the whole
batch's mean. Then one optimizer step, on the trainer's thread.

Dropout masks are drawn for the whole batch first, on the trainer's thread (the model's
:meth:`~mnist_tui.model.Net.dropout_masks`, the draws its own dropout makes), and each half
takes its rows: two threads drawing at once would take the generator in either order, and
the same seed would train differently from run to run.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, wait

import torch
from torch.nn import functional as F

from mnist_tui.training.device import autocast
from mnist_tui.training.op_threads import keep_op_threads, torchs_openmp

# auto splits batches from this size (the module docstring: at 128 the trainer lost 30-40 %)
SPLIT_FROM_BATCH = 768


def use_split_step(run, setting: str) -> None:
    """Give ``run`` (an :class:`~mnist_tui.training.steps.EpochRun`) a :class:`SplitStep`.

    ``auto``: where the run trains on the CPU with exactly 2 op threads, in fp32, in one process,
    at batches of 768 or more: where it was measured to pay. ``on``: on the CPU in one process
    with 2 op threads or more, at any precision and batch size, to measure it: on a 2-core Intel
    Xeon with AMX, in bf16 at batch 1024, it did not pay (0.77-1.01× the whole step, 4 rounds);
    with more cores each half gets half the threads (not measured)."""
    cpu_step = run.graphed is None and run.images.device.type == "cpu" and not run.world.distributed
    if not cpu_step or torch.get_num_threads() < 2 or setting == "off":
        return
    measured = run.precision == "fp32" and torch.get_num_threads() == 2 and run.batch_size >= SPLIT_FROM_BATCH
    if setting == "on" or measured:
        run.split = SplitStep(run.model, run.optimizer, run.precision)


class SplitStep:
    """``step(x, y)`` → (loss, correct) as tensors, like :func:`~mnist_tui.training.steps.train_step`.

    Both halves run on helper threads made for them, each keeping its own op-thread count; the
    trainer's thread keeps its own. ``torch.set_num_threads`` also sets the record that threads
    yet to start take their count from: a half computed on the trainer's thread would have held
    it at 1 through each step, and a thread started then (a UI worker, the system line's) kept 1.
    """

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, precision: str) -> None:
        self.model, self.optimizer, self.precision = model, optimizer, precision
        self.threads = max(1, torch.get_num_threads() // 2)
        self._halves: list[ThreadPoolExecutor] = [
            ThreadPoolExecutor(1, thread_name_prefix=f"mnist-tui-half-batch-{n}") for n in (1, 2)
        ]
        threads_before = torch.get_num_threads()
        for started in [helper.submit(keep_op_threads, self.threads) for helper in self._halves]:
            started.result()
        if torchs_openmp() is None:
            torch.set_num_threads(threads_before)  # the record, as it was: only the helpers keep their count

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not self._halves:
            raise RuntimeError("this split step was closed")
        batch = len(x)
        self.optimizer.zero_grad(set_to_none=True)
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float32
        masks = self.model.dropout_masks(batch, dtype)
        cut = (batch + 1) // 2
        parts = ((x[:cut], y[:cut], [m if m is None else m[:cut] for m in masks]),
                 (x[cut:], y[cut:], [m if m is None else m[cut:] for m in masks]))  # fmt: skip
        pending = [helper.submit(self._half, *part, batch) for helper, part in zip(self._halves, parts, strict=True)]
        wait(pending)  # both done (or failed) before anything goes on
        (loss, hits), (other_loss, other_hits) = (half.result() for half in pending)  # the first error, if any
        self.optimizer.step()
        return loss + other_loss, hits + other_hits

    def _half(self, x: torch.Tensor, y: torch.Tensor, masks, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        # autocast and grad mode are per thread: each half sets its own
        with torch.enable_grad(), autocast(x.device, self.precision):
            logits = self.model(x, masks)
        loss = F.cross_entropy(logits.float(), y, reduction="sum") / batch
        loss.backward()
        return loss.detach(), (logits.argmax(1) == y).sum()

    def close(self) -> None:
        """End the helper threads (they would otherwise wait for work until the process exits)."""
        for helper in self._halves:
            helper.shutdown(wait=True)
        self._halves = []
