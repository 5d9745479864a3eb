"""One run of benchmarks/sprint.py and the passes around the runs: ``train_run`` trains a recipe
from a seed on the device-resident data, with its EMA of the weights (``Ema``) where the recipe has
one, evaluates the test set (``accuracy``) at the plan's points with the clock stopped, and returns a
``RunResult`` (its time to 99 % and the calibrated estimate of it); ``load_data`` puts MNIST on the
device, ``warm_up`` pays the kernels' first-shape cost before anything is timed, and ``calibrate``
measures the loop's samples/s per batch size.
"""

from __future__ import annotations

import copy
import os
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo, when not installed
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sprint_recipes import Recipe, make_plan, schedule_values  # noqa: E402
from sprint_step import Data, Options, build, make_step, sync  # noqa: E402

from mnist_tui.data import load_mnist, normalise  # noqa: E402
from mnist_tui.training.inner_evals import inner_eval_batches  # noqa: E402

TARGET = 0.99


# -- one run --------------------------------------------------------------------------------


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
    # where the trainer tests: an epoch's end, the schedule's, and inside epochs (--tests-per-epoch)
    sizes = {recipe.batch_size, *(b for _, b in recipe.ramp)}
    trainer_tests = {bs: {b * bs for b in inner_eval_batches(recipe.tests_per_epoch, n, n, bs)} for bs in sizes}
    model.train()
    train_s = cpu_s = eval_s = 0.0
    seg_wall, seg_cpu = time.perf_counter(), time.process_time()
    for i, (epoch, start, stop) in enumerate(plan.steps):
        if epoch not in orders:  # the trainer's shuffle: one randperm per epoch from the seeded generator
            orders = {epoch: torch.randperm(n, generator=shuffle).to(device, non_blocking=True)}
        for g in groups:  # floats: a CUDA graph's step reads them into device tensors before each replay
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
            ev["trainer_sees"] = i == len(plan.steps) - 1 or stop == n or stop in trainer_tests[nominal]
            ev["loss"] = float(losses[: i + 1].mean())
            result.evals.append(ev)
            seg_wall, seg_cpu = time.perf_counter(), time.process_time()
    result.train_s, result.cpu_s, result.eval_s = train_s, cpu_s, eval_s
    result.load_after = os.getloadavg()[0]
    return result


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
