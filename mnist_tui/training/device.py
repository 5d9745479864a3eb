"""Device and precision choice, with user-facing errors for impossible requests."""

from __future__ import annotations

import contextlib
import re

import torch

from mnist_tui.errors import UserError
from mnist_tui.words import counted

DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def choose_device(requested: str) -> torch.device:
    """``auto`` → CUDA when available, else CPU. ``cuda[:N]`` must exist."""
    if not DEVICE_PATTERN.match(requested):
        raise UserError(f"unknown device {requested!r} (use auto, cpu, cuda or cuda:N)")
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(requested)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError(f"--device {requested}: CUDA is not available on this machine (try --device cpu)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UserError(f"--device {requested}: only {counted(torch.cuda.device_count(), 'CUDA device')} here")
    return device


def cpu_has_fast_bf16() -> bool:
    """AMX or AVX-512 BF16: bf16 autocast is faster than fp32 there (measured: ~1.4×)."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            flags = cpuinfo.read()
    except OSError:
        return False
    return " amx_bf16" in flags or " avx512_bf16" in flags


def choose_precision(requested: str, device: torch.device) -> str:
    """``auto``: bf16 autocast on a CPU with AMX/AVX512-BF16; fp32 elsewhere, CUDA included.

    On CUDA this net's 10- and 20-channel convolutions gain nothing from bf16, and autocast adds
    a cast per weight and activation: replayed from a CUDA graph, fp32 (contiguous) took 0.356 ms
    a step at batch 128 and 0.845 ms at 1024, bf16 (channels-last) 0.507 and 1.582 ms; eager,
    2.35 against 3.77 ms (H200, torch 2.11, ``benchmarks/cuda_profile.py``).
    """
    if requested != "auto":
        return requested
    if device.type == "cuda":
        return "fp32"
    return "bf16" if cpu_has_fast_bf16() else "fp32"


def autocast(device: torch.device, precision: str, cache_enabled: bool = True):
    """bf16 autocast, or nothing. A captured CUDA graph needs ``cache_enabled=False``: the
    weights' bf16 copies must be made inside the graph, not reused from before it."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16, cache_enabled=cache_enabled)
    return contextlib.nullcontext()


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} threads)"
