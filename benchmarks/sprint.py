"""Sprint to 99 %: the recipe sweep behind ``--recipe sprint`` (issue 14), and the throughput tricks.

    python benchmarks/sprint.py                                  # the sweep: every recipe, seeds 0 1 2
    python benchmarks/sprint.py --recipes issue,sprint --seeds 0,1,2,3,4
    python benchmarks/sprint.py --throughput                     # channels-last, bf16, threads, compile
    python benchmarks/sprint.py --device cuda --cuda-graphs      # the same loop on a GPU
    python benchmarks/sprint.py --quick                          # a smoke run on a slice (tests)

A self-contained copy of the trainer's fast path (``mnist_tui/training/steps.py``): uint8
images resident on the device, batches taken by index and normalised as they are taken, a
channels-last model, bf16 autocast where the CPU (or GPU) has it, losses and correct counts
kept on the device (no host sync per batch). The random streams are the trainer's:
``torch.manual_seed(seed)`` before the net is built, a ``torch.Generator`` seeded with the
seed for each epoch's ``randperm``.

Each run evaluates the test set (fp32, as the trainer does; with the EMA weights when the
recipe has an EMA) at the end of the schedule and, when the recipe says so, at points
inside it. The clock runs only while training: evaluation time is reported apart. The time
to 99 % is the training time up to the first evaluation at ≥ 99.0 %. Runs are interleaved
(seed by seed, every recipe in turn) so a change in the machine's load falls on all recipes
alike; wall time, CPU time and the load average are printed for each. Beside the measured time,
``est.`` divides the samples trained to 99 % by the best calibrated samples/s of the batch size
(passes before and after the runs, interleaved): on a shared machine, the figure a quiet one gives.

The sweep this chose ``sprint`` from, with the machine and its load: ``sprint_results.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo, when not installed

from mnist_tui.data import load_mnist, normalise  # noqa: E402
from mnist_tui.model import Net  # noqa: E402
from mnist_tui.training.device import cpu_has_fast_bf16  # noqa: E402
from mnist_tui.training.steps import take_batch  # noqa: E402

TARGET = 0.99


@dataclass(frozen=True)
class Recipe:
    """Everything but the layers. ``epochs`` may be fractional: the last epoch stops part-way."""

    name: str
    epochs: float = 3.0
    batch_size: int = 256
    # (from_epoch, batch_size) steps overriding batch_size from that epoch on, e.g. ((0, 128), (1, 256))
    ramp: tuple[tuple[float, int], ...] = ()
    lr: float = 1e-2
    schedule: str = "onecycle"  # onecycle (cos anneal), onecycle-linear, linear (warm-up, linear decay to 0)
    pct_start: float = 0.25
    div_factor: float = 25.0
    final_div_factor: float = 1e4
    cycle_momentum: bool = True  # OneCycleLR's default: beta1 0.95 → 0.85 → 0.95
    optimizer: str = "adam"  # adam | adamw
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    conv_dropout: float = 0.1
    fc_dropout: float = 0.1
    label_smoothing: float = 0.0
    ema_decay: float | None = None  # per-step decay of an EMA of the weights, used at evaluation
    ema_every: int = 1  # update the EMA every k steps (decay**k)
    eval_every: float | None = 0.25  # also evaluate every this many epochs, from eval_from on
    eval_from: float = 1.5
    note: str = ""

    def batch_size_at(self, epoch: float) -> int:
        size = self.batch_size
        for start, bs in self.ramp:
            if epoch + 1e-9 >= start:
                size = bs
        return size


RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        # the starting point: 99.14–99.22 % after 3 epochs
        Recipe("issue", epochs=3, batch_size=256, lr=1e-2),
        Recipe("fast-default", epochs=3, batch_size=512, lr=1e-2, note="the project's default recipe, cut to 3 ep"),
        Recipe("e2.5", epochs=2.5),
        Recipe("e2", epochs=2),
        Recipe("e2.5-b128", epochs=2.5, batch_size=128),
        Recipe("e2-b128", epochs=2, batch_size=128, eval_from=1.25),
        Recipe("e2.5-b128-lr5e-3", epochs=2.5, batch_size=128, lr=5e-3),
        Recipe("e2.5-b512-lr2e-2", epochs=2.5, batch_size=512, lr=2e-2),
        Recipe("e2.5-ramp", epochs=2.5, ramp=((0, 128), (1, 256), (2, 512))),
        Recipe("e2.5-ls", epochs=2.5, label_smoothing=0.1),
        Recipe("e2.5-do0", epochs=2.5, conv_dropout=0.0, fc_dropout=0.0),
        Recipe("e2.5-ema", epochs=2.5, ema_decay=0.99),
        Recipe("e2.5-pct15", epochs=2.5, pct_start=0.15),
        Recipe("e2.5-lin", epochs=2.5, schedule="linear", pct_start=0.2),
        Recipe("e2.5-adamw", epochs=2.5, optimizer="adamw", weight_decay=5e-4),
        Recipe("e2.5-lr2e-2", epochs=2.5, lr=2e-2),
        # round 2: batch 128 trains about as fast per sample as 256 here and reaches 99 % sooner
        Recipe("e1.75-b128", epochs=1.75, batch_size=128, eval_from=1.25),
        Recipe("e1.5-b128", epochs=1.5, batch_size=128, eval_from=1.0),
        Recipe("e2-b128-ema", epochs=2, batch_size=128, ema_decay=0.99),
        Recipe("e2-b128-do0", epochs=2, batch_size=128, conv_dropout=0.0, fc_dropout=0.0),
        Recipe("e2-b128-do05", epochs=2, batch_size=128, conv_dropout=0.05, fc_dropout=0.05),
        Recipe("e2-b128-pct15", epochs=2, batch_size=128, pct_start=0.15),
        Recipe("e2-b128-lr15", epochs=2, batch_size=128, lr=1.5e-2),
        Recipe("e2-b64-lr5e-3", epochs=2, batch_size=64, lr=5e-3),
        # round 3: seed 2 misses 99 % after 2 epochs of batch 128 (98.93); a little more schedule
        Recipe("e3-b128", epochs=3, batch_size=128),
        Recipe("e2.5-b128-ema", epochs=2.5, batch_size=128, ema_decay=0.99),
        # the choice (see the module docstring's table): e2.5-b128-ema, the one recipe here at >= 99.0 %
        # at the end of epoch 2 and of its schedule for every seed tried (0-5)
        Recipe("sprint", epochs=2.5, batch_size=128, ema_decay=0.99, note="= e2.5-b128-ema"),
    )
}

QUICK_RECIPE = Recipe("quick", epochs=1, batch_size=128, lr=1e-2, eval_every=0.5, eval_from=0.5)


# -- schedule -------------------------------------------------------------------------------


def schedule_values(recipe: Recipe, total_steps: int) -> tuple[list[float], list[float]]:
    """The lr and beta1 of every step: torch's own OneCycleLR stepped on a dummy optimizer
    (so the trainer's scheduler gives the very same values), or a linear warm-up and decay."""
    beta1 = recipe.betas[0]
    if recipe.schedule in ("onecycle", "onecycle-linear"):
        dummy = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=recipe.lr, betas=recipe.betas)
        sched = torch.optim.lr_scheduler.OneCycleLR(
            dummy,
            max_lr=recipe.lr,
            total_steps=max(8, total_steps),
            pct_start=recipe.pct_start,
            div_factor=recipe.div_factor,
            final_div_factor=recipe.final_div_factor,
            anneal_strategy="cos" if recipe.schedule == "onecycle" else "linear",
            cycle_momentum=recipe.cycle_momentum,
        )
        lrs, b1s = [], []
        for _ in range(total_steps):
            group = dummy.param_groups[0]
            lrs.append(float(group["lr"]))
            b1s.append(float(group["betas"][0]))
            dummy.step()  # keeps the scheduler's "optimizer.step() before scheduler.step()" check quiet
            sched.step()
        return lrs, b1s
    if recipe.schedule == "linear":
        warm = max(1, round(recipe.pct_start * total_steps))
        lrs = [
            recipe.lr * (i + 1) / warm if i < warm else recipe.lr * (total_steps - i) / max(1, total_steps - warm)
            for i in range(total_steps)
        ]
        return lrs, [beta1] * total_steps
    raise ValueError(f"unknown schedule {recipe.schedule!r}")


# -- the plan: which slice of which epoch's order each step takes, and where to evaluate ------


@dataclass
class Plan:
    steps: list[tuple[int, int, int]]  # (epoch index, start, stop) into that epoch's order
    evals: dict[int, float]  # step index after which to evaluate → epochs done there
    samples: int


def make_plan(recipe: Recipe, n: int) -> Plan:
    total = round(recipe.epochs * n)
    points = []
    if recipe.eval_every:
        k = 0
        while True:
            at = recipe.eval_from + k * recipe.eval_every
            if at >= recipe.epochs - 1e-9:
                break
            points.append(round(at * n))
            k += 1
    points.append(total)
    steps, evals, done = [], {}, 0
    while done < total:
        epoch, pos = divmod(done, n)
        bs = recipe.batch_size_at(done / n)
        stop = min(pos + bs, n, pos + (total - done))
        steps.append((epoch, pos, stop))
        done += stop - pos
        if points and done >= points[0]:
            evals[len(steps) - 1] = done / n
            while points and done >= points[0]:
                points.pop(0)
    return Plan(steps, evals, total)


# -- one run --------------------------------------------------------------------------------


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


@dataclass
class RunResult:
    recipe: str
    seed: int
    evals: list[dict] = field(default_factory=list)  # epoch, acc, raw_acc, train_s, cpu_s, eval_s
    train_s: float = 0.0
    cpu_s: float = 0.0
    eval_s: float = 0.0
    samples: int = 0
    load_before: float = 0.0
    load_after: float = 0.0
    compile_s: float | None = None  # first-step time of a compiled / captured run (included in train_s)

    @property
    def final_acc(self) -> float:
        return self.evals[-1]["acc"]

    def first_99(self, anywhere: bool = False) -> dict | None:
        """The first evaluation at >= 99 %: among those the trainer makes (each epoch's end and the
        schedule's end), or among every evaluation point with ``anywhere``."""
        return next((e for e in self.evals if e["acc"] >= TARGET and (anywhere or e["trainer_sees"])), None)

    @property
    def to_99(self) -> float | None:
        e = self.first_99()
        return e["train_s"] if e else None

    @property
    def epoch_99(self) -> float | None:
        e = self.first_99()
        return e["epoch"] if e else None

    @property
    def samples_per_s(self) -> float:
        return self.samples / max(self.train_s, 1e-9)

    def estimate_to_99(self, rates: dict[int, float]) -> float | None:
        """The training time to 99 % at the calibrated (best, least-contended) samples/s of each batch size."""
        ev = self.first_99()
        if ev is None or not rates:
            return None
        return sum(samples / rates[bs] for bs, samples in ev["by_size"].items())


def autocast(opts: Options, cache_enabled: bool = True):
    if opts.precision == "bf16":
        return torch.autocast(opts.device.type, dtype=torch.bfloat16, cache_enabled=cache_enabled)
    return contextlib.nullcontext()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@torch.inference_mode()
def accuracy(model: torch.nn.Module, data: Data, batch_size: int) -> float:
    """fp32, as the trainer's evaluate(); one host sync at the end."""
    was_training = model.training
    model.eval()
    correct = torch.zeros((), dtype=torch.long, device=data.test_x.device)
    for i in range(0, len(data.test_x), batch_size):
        logits = model(normalise(data.test_x[i : i + batch_size]))
        correct += (logits.argmax(1) == data.test_y[i : i + batch_size]).sum()
    model.train(was_training)
    return int(correct) / len(data.test_x)


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


class Ema:
    """An EMA of the weights (Net has no buffers), with the usual warm-up of the decay."""

    def __init__(self, model: torch.nn.Module, decay: float, every: int) -> None:
        self.model = copy.deepcopy(model)
        self.model.requires_grad_(False)
        self.decay, self.every, self.updates = decay, every, 0
        self.src = list(model.parameters())
        self.dst = list(self.model.parameters())

    @torch.no_grad()
    def update(self) -> None:
        self.updates += 1
        d = min(self.decay, (1 + self.updates * self.every) / (10 + self.updates * self.every)) ** self.every
        torch._foreach_lerp_(self.dst, self.src, 1.0 - d)


def train_run(recipe: Recipe, seed: int, data: Data, opts: Options, evaluate: bool = True) -> RunResult:
    """Train ``recipe`` from ``seed``; evaluate at the plan's points (not at all with ``evaluate=False``)."""
    n = len(data.train_y)
    plan = make_plan(recipe, n)
    lrs, b1s = schedule_values(recipe, len(plan.steps))
    model, optimizer = build(recipe, seed, opts)
    shuffle = torch.Generator().manual_seed(seed)
    ema = Ema(model, recipe.ema_decay, recipe.ema_every) if recipe.ema_decay else None
    step_fn = make_step(model, optimizer, data, recipe, opts)
    device = opts.device
    losses = torch.zeros(len(plan.steps), device=device)
    correct = torch.zeros((), dtype=torch.long, device=device)
    result = RunResult(recipe.name, seed, load_before=os.getloadavg()[0], samples=plan.samples)
    groups = optimizer.param_groups
    beta2 = recipe.betas[1]
    orders: dict[int, torch.Tensor] = {}
    by_size: dict[int, int] = {}  # samples trained so far at each nominal batch size (for the estimate)
    model.train()
    train_s = cpu_s = eval_s = 0.0
    seg_wall, seg_cpu = time.perf_counter(), time.process_time()
    for i, (epoch, start, stop) in enumerate(plan.steps):
        if epoch not in orders:  # the trainer's shuffle: one randperm per epoch from the seeded generator
            orders = {epoch: torch.randperm(n, generator=shuffle).to(device, non_blocking=True)}
        for g in groups:
            if opts.cuda_graphs:
                g["lr"].fill_(lrs[i])
                g["betas"][0].fill_(b1s[i])
            else:
                g["lr"] = lrs[i]
                g["betas"] = (b1s[i], beta2)
        first = time.perf_counter() if i == 0 else None
        loss, hits = step_fn(orders[epoch][start:stop])
        if first is not None and (opts.compile or opts.cuda_graphs):
            sync(device)
            result.compile_s = time.perf_counter() - first
        losses[i] = loss
        correct += hits
        nominal = recipe.batch_size_at(epoch + start / n)
        by_size[nominal] = by_size.get(nominal, 0) + stop - start
        if ema is not None and (i + 1) % recipe.ema_every == 0:
            ema.update()
        if i in plan.evals and (evaluate or i == len(plan.steps) - 1):
            sync(device)
            train_s += time.perf_counter() - seg_wall
            cpu_s += time.process_time() - seg_cpu
            t = time.perf_counter()
            acc = raw = float("nan")
            if evaluate:
                acc = accuracy(ema.model if ema else model, data, opts.eval_batch_size)
                raw = accuracy(model, data, opts.eval_batch_size) if ema else acc
            eval_s += time.perf_counter() - t
            ev = dict(epoch=round(plan.evals[i], 4), acc=acc, raw_acc=raw, train_s=train_s, cpu_s=cpu_s)
            ev["by_size"] = dict(by_size)
            ev["trainer_sees"] = i == len(plan.steps) - 1 or stop == n  # an epoch's end or the schedule's
            ev["loss"] = float(losses[: i + 1].mean())
            result.evals.append(ev)
            seg_wall, seg_cpu = time.perf_counter(), time.process_time()
    result.train_s, result.cpu_s, result.eval_s = train_s, cpu_s, eval_s
    result.load_after = os.getloadavg()[0]
    return result


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


# -- the sweep ------------------------------------------------------------------------------


def load_data(args, device: torch.device) -> Data:
    d = load_mnist(args.data_dir, download=False)
    ntr = args.limit_train or len(d.train_labels)
    nte = args.limit_test or len(d.test_labels)
    return Data(
        d.train_images[:ntr].to(device),
        d.train_labels[:ntr].to(device),
        d.test_images[:nte].to(device),
        d.test_labels[:nte].to(device),
    )


def warm_up(recipes: list[Recipe], data: Data, opts: Options) -> None:
    """oneDNN / cuDNN pick and cache their kernels per shape: pay that once, for every batch size
    the recipes use (an epoch's last batch included), before anything is timed."""
    n = len(data.train_y)
    sizes = {stop - start for r in recipes for _, start, stop in make_plan(r, n).steps}
    w = Recipe("warm-up", epochs=0.01, eval_every=None)
    model, optimizer = build(w, 0, replace(opts, cuda_graphs=False))
    step = make_step(model, optimizer, data, w, replace(opts, cuda_graphs=False, compile=False))
    for bs in sorted(sizes):
        for _ in range(2):
            step(torch.arange(bs, device=opts.device) % n)
    accuracy(model, data, opts.eval_batch_size)
    sync(opts.device)


def calibrate(sizes: list[int], data: Data, opts: Options, passes: int, samples: int) -> dict[int, list[float]]:
    """Samples/s of the very training loop of :func:`train_run` for each batch size, over ``passes``
    passes of ``samples`` samples, sizes interleaved. On a shared machine the best pass is the
    estimate of what the loop does uncontended; every pass is kept and printed."""
    n = len(data.train_y)
    rates: dict[int, list[float]] = {bs: [] for bs in sizes}
    for _ in range(passes):
        for bs in sizes:
            r = Recipe(f"calibrate-{bs}", epochs=samples / n, batch_size=bs, eval_every=None)
            res = train_run(r, 0, data, opts, evaluate=False)
            rates[bs].append(round(res.samples_per_s))
    return rates


def fmt_t(x: float | None) -> str:
    return f"{x:5.2f}" if x is not None else "  -  "


def summarise(recipes: list[Recipe], results: list[RunResult], best_rates: dict[int, float]) -> list[dict]:
    rows = []
    for r in recipes:
        runs = sorted((x for x in results if x.recipe == r.name), key=lambda x: x.seed)
        t99 = [x.to_99 for x in runs]
        est = [x.estimate_to_99(best_rates) for x in runs]
        reached = all(t is not None for t in t99)
        rows.append(
            dict(
                recipe=r.name,
                seeds=[x.seed for x in runs],
                final_acc=[round(100 * x.final_acc, 2) for x in runs],
                to_99_s=[None if t is None else round(t, 2) for t in t99],
                epoch_99=[x.epoch_99 for x in runs],
                median_to_99_s=round(statistics.median(t99), 2) if reached else None,
                est_to_99_s=[None if t is None else round(t, 2) for t in est],
                median_est_to_99_s=round(statistics.median(est), 2) if reached and best_rates else None,
                all_reached=reached,
                samples_per_s=round(statistics.median(x.samples_per_s for x in runs)),
                cpu_per_wall=round(sum(x.cpu_s for x in runs) / max(sum(x.train_s for x in runs), 1e-9), 2),
                train_s=[round(x.train_s, 2) for x in runs],
                eval_s=round(statistics.median(x.eval_s for x in runs), 2),
                load=[round(min(x.load_before for x in runs), 2), round(max(x.load_after for x in runs), 2)],
                compile_s=[round(x.compile_s, 2) for x in runs if x.compile_s is not None] or None,
            )
        )
    return rows


def print_table(rows: list[dict], recipes: dict[str, Recipe], rates: dict[int, list[float]]) -> None:
    print()
    if rates:
        print("calibration, samples/s of the training loop per batch size (every pass; the best is the estimate):")
        for bs, passes in rates.items():
            print(f"  batch {bs:>4}: best {max(passes):>7,.0f}  median {statistics.median(passes):>7,.0f}  {passes}")
        print()
    print(
        "recipe              final acc % per seed   measured s to 99 % per seed  median"
        "   est. s to 99 % per seed  median  samples/s cpu/wall  eval s  load min–max"
    )
    for row in rows:
        accs = " ".join(f"{a:6.2f}" for a in row["final_acc"])
        t99 = " ".join(fmt_t(t) for t in row["to_99_s"])
        est = " ".join(fmt_t(t) for t in row["est_to_99_s"])
        print(
            f"{row['recipe']:<19} {accs:<22} {t99:<28} {fmt_t(row['median_to_99_s']):>6}   {est:<23} "
            f"{fmt_t(row['median_est_to_99_s']):>6}  {row['samples_per_s']:>9,} {row['cpu_per_wall']:>8.2f}"
            f"  {row['eval_s']:>6.2f}  {row['load'][0]:.2f}–{row['load'][1]:.2f}"
        )
    print()
    print("measured: wall-clock training time (evaluation excluded) up to the first evaluation at >= 99.0 %")
    print("  among those the trainer makes (each epoch's end, the schedule's end; * marks the other points);")
    print("est.: the same run's samples to that point at the calibrated best samples/s of its batch size(s).")
    print("samples/s, cpu/wall: of the whole run (cpu/wall well under the thread count = a contended machine).")
    print()
    print("recipes:")
    for row in rows:
        r = recipes[row["recipe"]]
        knobs = {k: v for k, v in asdict(r).items() if k not in ("name", "note") and v != getattr(Recipe, k, None)}
        print(f"  {r.name}: {knobs}{'  # ' + r.note if r.note else ''}")
    print("  (defaults:", {k: v for k, v in asdict(Recipe("defaults")).items() if k not in ("name", "note")}, ")")


def print_evals(res: RunResult) -> None:
    pts = " ".join(f"{e['epoch']:g}{'' if e['trainer_sees'] else '*'}:{100 * e['acc']:.2f}" for e in res.evals)
    anywhere = res.first_99(anywhere=True)
    pts += f"  (first >= 99 % anywhere: {anywhere['epoch']:g} ep, {anywhere['train_s']:.2f} s)" if anywhere else ""
    print(
        f"  {res.recipe:<19} seed {res.seed}  {pts}  | to99 {fmt_t(res.to_99)} s  train {res.train_s:.2f} s "
        f"(cpu {res.cpu_s:.2f})  {res.samples_per_s:,.0f}/s  load {res.load_before:.2f}→{res.load_after:.2f}",
        flush=True,
    )


def sweep(args, opts: Options) -> dict:
    recipes = [QUICK_RECIPE] if args.quick and not args.recipes else [RECIPES[name] for name in args.recipe_names]
    if args.quick:
        recipes = [replace(r, epochs=min(r.epochs, 1.0), eval_from=0.5, eval_every=0.5) for r in recipes]
    data = load_data(args, opts.device)
    warm_up(recipes, data, opts)
    sizes = sorted({bs for r in recipes for bs in [r.batch_size, *(b for _, b in r.ramp)]})
    rates: dict[int, list[float]] = {bs: [] for bs in sizes}
    samples = min(args.calibrate_samples, len(data.train_y))

    def calibrate_some(passes: int) -> None:
        for bs, got in calibrate(sizes, data, opts, passes, samples).items():
            rates[bs].extend(got)

    calibrate_some(args.calibrate_passes // 2)  # half before the runs, half after: drift falls on both
    results = []
    for seed in args.seed_list:  # interleaved: every recipe for one seed, then the next seed
        for r in recipes:
            res = train_run(r, seed, data, opts)
            results.append(res)
            print_evals(res)
    calibrate_some(args.calibrate_passes - args.calibrate_passes // 2)
    best = {bs: max(got) for bs, got in rates.items() if got}
    rows = summarise(recipes, results, best)
    print_table(rows, {r.name: r for r in recipes}, rates)
    return {"rows": rows, "calibration": rates, "runs": [asdict(x) for x in results]}


# -- throughput tricks ----------------------------------------------------------------------


def throughput(args, device: torch.device) -> dict:
    """Samples/s of the training step over ``--tp-samples`` samples, variants interleaved by round."""
    data = load_data(args, device)
    n = len(data.train_y)
    bs = args.tp_batch_size
    bf16 = "bf16" if (device.type == "cuda" or cpu_has_fast_bf16()) else "fp32"
    variants = {
        f"{bf16} channels-last": (Options(device, bf16, True), 2),
        f"{bf16} contiguous": (Options(device, bf16, False), 2),
        "fp32 channels-last": (Options(device, "fp32", True), 2),
        "fp32 contiguous": (Options(device, "fp32", False), 2),
        f"{bf16} channels-last, 1 thread": (Options(device, bf16, True), 1),
    }
    if args.tp_compile:
        variants[f"{bf16} channels-last, compiled"] = (Options(device, bf16, True, compile=True), 2)
    recipe = Recipe("tp", epochs=1, batch_size=bs, eval_every=None)
    steps_n = args.tp_samples // bs
    results: dict[str, dict] = {k: {"rates": [], "cpu_per_wall": [], "loads": []} for k in variants}
    prepared = {}
    for name, (opts, threads) in variants.items():
        torch.set_num_threads(threads)
        model, optimizer = build(recipe, 0, opts)
        step = make_step(model, optimizer, data, recipe, opts)
        t = time.perf_counter()
        step(torch.arange(bs, device=device))
        sync(device)
        first = time.perf_counter() - t
        for _ in range(3):
            step(torch.arange(bs, device=device))
        t = time.perf_counter()
        step(torch.arange(bs, device=device) + bs)
        sync(device)
        steady = time.perf_counter() - t
        results[name]["first_step_s"] = round(first, 3)
        results[name]["first_minus_steady_s"] = round(first - steady, 3)
        if opts.compile:  # an epoch's last batch is another shape: one more compile
            t = time.perf_counter()
            step(torch.arange(n % bs or bs, device=device))
            sync(device)
            results[name]["second_shape_s"] = round(time.perf_counter() - t, 3)
        prepared[name] = (step, threads)
        print(f"  prepared {name}: first step {first:.3f} s", flush=True)
    g = torch.Generator().manual_seed(0)
    for rnd in range(args.tp_rounds):
        for name, (step, threads) in prepared.items():
            torch.set_num_threads(threads)
            order = torch.randperm(n, generator=g).to(device)
            load = os.getloadavg()[0]
            sync(device)
            w, c = time.perf_counter(), time.process_time()
            for b in range(steps_n):
                step(order[b * bs : (b + 1) * bs])
            sync(device)
            wall, cpu = time.perf_counter() - w, time.process_time() - c
            results[name]["rates"].append(round(steps_n * bs / wall))
            results[name]["cpu_per_wall"].append(round(cpu / wall, 2))
            results[name]["loads"].append(round(load, 2))
            print(f"  round {rnd + 1} {name:<34} {steps_n * bs / wall:>8,.0f}/s  load {load:.2f}", flush=True)
    torch.set_num_threads(args.threads)
    base = statistics.median(results[f"{bf16} channels-last"]["rates"])
    print(f"\nthroughput, batch {bs}, {steps_n * bs:,} samples per pass, {args.tp_rounds} interleaved rounds:")
    print(f"{'variant':<36} {'median/s':>9}  {'vs ' + bf16 + ' CL':>9}  passes/s                        load")
    for name, r in results.items():
        r["median"] = statistics.median(r["rates"])
        print(
            f"{name:<36} {r['median']:>9,.0f}  {r['median'] / base:>9.2f}  {str(r['rates']):<32} "
            f"{min(r['loads']):.2f}–{max(r['loads']):.2f}"
        )
    comp = f"{bf16} channels-last, compiled"
    if comp in results:
        r = results[comp]
        per_epoch_eager = 60_000 / base
        per_epoch_comp = 60_000 / r["median"]
        cost = r["first_minus_steady_s"] + r.get("second_shape_s", 0.0)
        gain10 = 10 * (per_epoch_eager - per_epoch_comp)
        print(
            f"\ntorch.compile: {cost:.1f} s to compile (train step, two batch shapes; eval not compiled); "
            f"{per_epoch_eager:.2f} → {per_epoch_comp:.2f} s per 60k-sample epoch; "
            f"a 10-epoch run {'gains' if gain10 > cost else 'loses'} {abs(gain10 - cost):.1f} s"
        )
        r.update(compile_cost_s=round(cost, 2), gain_10_epochs_s=round(gain10, 2))
    return results


# -- CLI --------------------------------------------------------------------------------------


def default_data_dir() -> Path:
    for name in ("MNIST_TUI_TEST_DATA", "MNIST_TUI_DATA"):
        if os.environ.get(name):
            return Path(os.environ[name])
    beside = Path(__file__).resolve().parent.parent.parent / "shared" / "mnist"
    return beside if beside.exists() else Path.home() / ".cache" / "mnist-tui"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", type=Path, default=default_data_dir(), help="folder holding MNIST/raw")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    p.add_argument("--recipes", help=f"comma-separated, from: {', '.join(RECIPES)} (default: all)")
    p.add_argument("--quick", action="store_true", help="smoke mode: 3000 train / 1000 test images, ≤ 1 epoch, seed 0")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default cpu)")
    p.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto")
    p.add_argument("--no-channels-last", action="store_true", help="contiguous (NCHW) weights")
    p.add_argument("--compile", action="store_true", help="torch.compile the training step")
    p.add_argument("--cuda-graphs", action="store_true", help="capture the training step in a CUDA graph")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    p.add_argument("--limit-train", type=int, help="use the first N training images")
    p.add_argument("--limit-test", type=int, help="use the first N test images")
    p.add_argument("--throughput", action="store_true", help="measure the throughput tricks instead of the sweep")
    p.add_argument("--tp-samples", type=int, default=15_360, help="samples per throughput pass")
    p.add_argument("--tp-batch-size", type=int, default=256)
    p.add_argument("--tp-rounds", type=int, default=3)
    p.add_argument("--tp-compile", action="store_true", help="include torch.compile in --throughput (slow)")
    p.add_argument("--calibrate-passes", type=int, default=6, help="calibration passes per batch size (default 6)")
    p.add_argument("--calibrate-samples", type=int, default=15_360, help="samples per calibration pass")
    p.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    args = p.parse_args(argv)
    try:
        args.seed_list = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        p.error(f"--seeds: not a list of integers: {args.seeds!r}")
    args.recipe_names = [s.strip() for s in args.recipes.split(",")] if args.recipes else list(RECIPES)
    unknown = [r for r in args.recipe_names if r not in RECIPES]
    if unknown:
        p.error(f"unknown recipe(s) {', '.join(unknown)}; known: {', '.join(RECIPES)}")
    if args.quick:
        args.limit_train = args.limit_train or 3000
        args.limit_test = args.limit_test or 1000
        args.calibrate_passes = min(args.calibrate_passes, 2)
        if args.seeds == "0,1,2":
            args.seed_list = [0]
    if not (args.data_dir / "MNIST" / "raw").is_dir():
        p.error(f"no MNIST/raw in {args.data_dir} (pass --data-dir)")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        p.error("--device cuda: CUDA is not available on this machine")
    if args.cuda_graphs and not args.device.startswith("cuda"):
        p.error("--cuda-graphs needs --device cuda")
    if args.cuda_graphs and args.compile:
        p.error("--cuda-graphs and --compile: pick one (the captured step is eager code)")
    return args


def machine(device: torch.device) -> dict:
    cpu = "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        names = [line.split(":", 1)[1].strip() for line in info if line.startswith("model name")]
        cpu = names[0] if names else cpu
    out = {"cpu": cpu, "cores": os.cpu_count(), "torch": torch.__version__, "threads": torch.get_num_threads()}
    out["fast_bf16"] = cpu_has_fast_bf16()
    if device.type == "cuda":
        out["gpu"] = torch.cuda.get_device_name(device)
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    precision = args.precision
    if precision == "auto":
        fast = torch.cuda.is_bf16_supported() if device.type == "cuda" else cpu_has_fast_bf16()
        precision = "bf16" if fast else "fp32"
    opts = Options(device, precision, not args.no_channels_last, args.compile, args.cuda_graphs)
    info = machine(device)
    figures: dict = {"machine": info, "load_before": [round(x, 2) for x in os.getloadavg()]}
    print(
        f"{info['cpu']} ({info['cores']} cores{', ' + info['gpu'] if 'gpu' in info else ''}), torch {info['torch']}, "
        f"{info['threads']} threads, device {device}, {precision}, "
        f"{'channels-last' if opts.channels_last else 'contiguous'}"
        f"{', compiled' if opts.compile else ''}{', CUDA graphs' if opts.cuda_graphs else ''}; "
        f"load average {figures['load_before']}",
        flush=True,
    )
    if args.throughput:
        figures["throughput"] = throughput(args, device)
    else:
        figures.update(sweep(args, opts))
    figures["load_after"] = [round(x, 2) for x in os.getloadavg()]
    print(f"\nload average before {figures['load_before']}, after {figures['load_after']}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
