"""One run over several processes under ``torchrun``: each rank trains its shard of an epoch.

Without torchrun's variables (``WORLD_SIZE`` unset or 1) :class:`World` is the single
process and every method is a no-op, so the trainer has one code path. Under torchrun:
gloo on the CPU, nccl on CUDA with one GPU per rank (``LOCAL_RANK``); every rank draws the
same shuffled order (same seed) and takes every ``world_size``-th sample of it, the global
batch stays ``--batch-size`` (each rank takes its share), epoch losses and accuracies are
summed over ranks, and rank 0 alone evaluates and writes the run folder.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

import torch

# A pause of the writer holds every rank in its next collective: gloo's default 30-minute
# timeout would turn a long pause into a crash, so the group waits for a week instead.
COLLECTIVE_TIMEOUT = dt.timedelta(days=7)


@dataclass(frozen=True)
class World:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def device(self, device: torch.device) -> torch.device:
        """One GPU per rank: cuda becomes cuda:LOCAL_RANK."""
        if self.distributed and device.type == "cuda":
            return torch.device("cuda", self.local_rank)
        return device

    def batch_size(self, global_batch: int) -> int:
        return max(1, global_batch // self.world_size)

    def shard(self, order: torch.Tensor) -> torch.Tensor:
        """Every rank the same number of samples (a remainder of < world_size is left out)."""
        if not self.distributed:
            return order
        usable = len(order) - len(order) % self.world_size
        return order[:usable][self.rank :: self.world_size]

    def sum(self, values: torch.Tensor) -> torch.Tensor:
        if self.distributed:
            torch.distributed.all_reduce(values, op=torch.distributed.ReduceOp.SUM)
        return values

    def agree(self, stop: bool, lr_scale: float, device: torch.device) -> tuple[bool, float]:
        """One all-reduce a batch: a stop on any rank stops every rank at the same batch, and
        every rank takes rank 0's learning-rate scale (only rank 0 reads the control file)."""
        if not self.distributed:
            return stop, lr_scale
        value = torch.tensor([1.0 if stop else 0.0, lr_scale if self.is_main else 0.0], device=device)
        torch.distributed.all_reduce(value, op=torch.distributed.ReduceOp.SUM)
        return bool(value[0].item() > 0), float(value[1].item())

    def from_main(self, value: int, device: torch.device) -> int:
        """Rank 0's value on every rank (a new plan: every rank must run the same epochs)."""
        if not self.distributed:
            return value
        tensor = torch.tensor([float(value) if self.is_main else 0.0], device=device)
        torch.distributed.all_reduce(tensor, op=torch.distributed.ReduceOp.SUM)
        return int(tensor.item())

    def wrap(self, model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
        if not self.distributed:
            return model
        ids = [device.index] if device.type == "cuda" else None
        return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def close(self) -> None:
        if self.distributed and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def world_from_environment(device: str) -> World:
    """torchrun's WORLD_SIZE/RANK/LOCAL_RANK, with the process group started; else one process."""
    size = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if size <= 1:
        return World()
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if use_cuda:
        torch.cuda.set_device(local)
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if use_cuda else "gloo", timeout=COLLECTIVE_TIMEOUT)
    return World(rank, size, local)
