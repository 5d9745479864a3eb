"""Where a training step's time goes on a GPU: milliseconds a step per variant, and a profile.

    python benchmarks/cuda_profile.py --data-dir DIR [--device cuda]

For each batch size: the wall time a step (host clock around many steps, synchronised once) of
the eager step in bf16 and fp32, channels-last and contiguous, with cuDNN's autotuner on, with
torch's own max pooling instead of mnist_tui.pooling's (written for the CPU), and replayed from a
CUDA graph. A wall time flat across batch sizes means the host (Python, autograd, kernel
launches) sets the pace; a graph's replay shows what the GPU itself needs. Then torch's profiler
over the eager step in bf16 channels-last (the CUDA default until these figures made it fp32
contiguous): the ops with the most host time and the most device time.

It runs on the CPU too (``--device cpu``: no graphs, no device time); ``tests/test_sprint.py``
runs it so on a slice.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo, when not installed
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sprint_recipes import Recipe  # noqa: E402
from sprint_step import Options, build, make_step, sync  # noqa: E402
from sprint_train import load_data  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from mnist_tui import model as model_module  # noqa: E402

POOLS = {"ours": model_module.max_pool2x2, "torch": lambda x: F.max_pool2d(x, 2)}


def variants(device: torch.device) -> dict[str, tuple[Options, bool, str]]:
    """name → (options, cuDNN autotuner on, pooling)."""
    out = {
        "bf16 channels-last": (Options(device, "bf16", True), False, "ours"),
        "bf16 channels-last, torch pool": (Options(device, "bf16", True), False, "torch"),
        "bf16 contiguous": (Options(device, "bf16", False), False, "ours"),
        "fp32 channels-last": (Options(device, "fp32", True), False, "ours"),
        "fp32 contiguous": (Options(device, "fp32", False), False, "ours"),
    }
    if device.type == "cuda":
        out["bf16 channels-last, cudnn.benchmark"] = (Options(device, "bf16", True), True, "ours")
        for precision in ("bf16", "fp32"):
            for cl in (True, False):
                for pool in ("ours", "torch") if cl else ("ours",):
                    name = f"{precision} {'channels-last' if cl else 'contiguous'}, {pool} pool, CUDA graph"
                    out[name] = (Options(device, precision, cl, cuda_graphs=True), False, pool)
    return out


def use_pool(pool: str) -> None:
    model_module.max_pool2x2 = POOLS[pool]  # Net.forward looks it up at each call


def time_steps(step, n: int, bs: int, steps: int, device: torch.device) -> float:
    """Wall ms a step over ``steps`` steps on shuffled batches."""
    order = torch.randperm(n, device=device)
    starts = [(i * bs) % (n - bs) for i in range(steps)]
    sync(device)
    t = time.perf_counter()
    for s in starts:
        step(order[s : s + bs])
    sync(device)
    return (time.perf_counter() - t) * 1e3 / steps


def measure(data, sizes: list[int], steps: int, rounds: int) -> None:
    device, n = data.train_x.device, len(data.train_y)
    print(f"wall ms a step (median of {rounds} interleaved rounds of {steps} steps) and samples/s")
    print(f"{'variant':<48}" + "".join(f"{'batch ' + str(bs):>20}" for bs in sizes))
    prepared = {}
    for name, (opts, tune, pool) in variants(device).items():
        for bs in sizes:
            torch.backends.cudnn.benchmark = tune
            use_pool(pool)
            recipe = Recipe("p", batch_size=bs, eval_every=None)
            model, optimizer = build(recipe, 0, opts)
            step = make_step(model, optimizer, data, recipe, opts)
            for _ in range(5):  # warm-up; a graph is captured on the fourth
                step(torch.arange(bs, device=device))
            prepared[name, bs] = (step, tune, pool)
    got: dict[tuple[str, int], list[float]] = {k: [] for k in prepared}
    for _ in range(rounds):
        for (name, bs), (step, tune, pool) in prepared.items():
            torch.backends.cudnn.benchmark = tune
            use_pool(pool)
            got[name, bs].append(time_steps(step, n, bs, steps, device))
    torch.backends.cudnn.benchmark = False
    use_pool("ours")
    for name in variants(device):
        ms = [statistics.median(got[name, bs]) for bs in sizes]
        cells = [f"{m:7.3f} {bs / m:7.1f}k/s" for m, bs in zip(ms, sizes, strict=True)]
        print(f"{name:<48}" + "".join(f"{c:>20}" for c in cells))


def profile(data, bs: int, steps: int) -> None:
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    device = data.train_x.device
    opts = Options(device, "bf16" if device.type == "cuda" else "fp32", True)  # what the README's profile is of
    recipe = Recipe("p", batch_size=bs, eval_every=None)
    model, optimizer = build(recipe, 0, opts)
    step = make_step(model, optimizer, data, recipe, opts)
    for _ in range(5):
        step(torch.arange(bs, device=device))
    sync(device)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with torch_profile(activities=activities) as prof:
        for i in range(steps):
            step(torch.arange(bs, device=device) + i)
        sync(device)
    table = prof.key_averages()
    print(f"\nprofile of the eager step ({opts.precision}, channels-last), batch {bs}, {steps} steps:")
    print(table.table(sort_by="self_cpu_time_total", row_limit=14, max_name_column_width=44))
    if device.type == "cuda":
        for key in ("self_device_time_total", "self_cuda_time_total"):
            try:
                print(table.table(sort_by=key, row_limit=14, max_name_column_width=44))
                break
            except (AttributeError, KeyError, ValueError):
                continue


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", type=Path, required=True, help="folder holding MNIST/raw")
    p.add_argument("--device", default="cuda")
    p.add_argument("--sizes", default="128,256,1024", help="batch sizes (default 128,256,1024)")
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--profile-batch", type=int, default=128)
    p.add_argument("--limit-train", type=int)
    args = p.parse_args(argv)
    args.limit_test = 1000
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: CUDA is not available on this machine")
    torch.set_num_threads(2)
    data = load_data(args, device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"{name}, torch {torch.__version__}")
    measure(data, [int(s) for s in args.sizes.split(",")], args.steps, args.rounds)
    profile(data, args.profile_batch, 20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
