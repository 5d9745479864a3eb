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

The parts, beside this file: ``sprint_recipes.py`` (the recipes, their schedules and plans),
``sprint_step.py`` (the training step: eager, compiled or a CUDA graph), ``sprint_train.py`` (one run,
warm-up and calibration) and ``sprint_report.py`` (the printed lines, summary rows and table).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo, when not installed
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import cpu_description, usable_cores  # noqa: E402
from sprint_recipes import QUICK_RECIPE, RECIPES, Recipe  # noqa: E402
from sprint_report import print_evals, print_table, summarise  # noqa: E402
from sprint_step import Options, build, make_step, sync  # noqa: E402
from sprint_train import calibrate, load_data, train_run, warm_up  # noqa: E402

from mnist_tui.training.device import choose_precision, cpu_has_fast_bf16  # noqa: E402

# -- the sweep ------------------------------------------------------------------------------


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


def prepare_step(data, recipe: Recipe, opts: Options, figures: dict):
    """A built step, run until steady; its first-step (compile) times go into ``figures``."""
    n, bs, device = len(data.train_y), recipe.batch_size, opts.device
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
    figures["first_step_s"] = round(first, 3)
    figures["first_minus_steady_s"] = round(first - steady, 3)
    if opts.compile:  # an epoch's last batch is another shape: one more compile
        t = time.perf_counter()
        step(torch.arange(n % bs or bs, device=device))
        sync(device)
        figures["second_shape_s"] = round(time.perf_counter() - t, 3)
    return step


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
    if device.type == "cuda":  # the trainer's CUDA default, captured (its step replays in one launch)
        variants["fp32 contiguous, CUDA graph"] = (Options(device, "fp32", False, cuda_graphs=True), 2)
    if args.tp_compile:
        variants[f"{bf16} channels-last, compiled"] = (Options(device, bf16, True, compile=True), 2)
        if device.type == "cuda":  # torch 2.11's inductor failed the channels-last one: try the default layout
            variants["fp32 contiguous, compiled"] = (Options(device, "fp32", False, compile=True), 2)
    recipe = Recipe("tp", epochs=1, batch_size=bs, eval_every=None)
    steps_n = args.tp_samples // bs
    results: dict[str, dict] = {k: {"rates": [], "cpu_per_wall": [], "loads": []} for k in variants}
    prepared = {}
    for name, (opts, threads) in variants.items():
        torch.set_num_threads(threads)
        try:  # torch 2.11's inductor failed a stride assert in convolution_backward on an H200
            prepared[name] = (prepare_step(data, recipe, opts, results[name]), threads)
        except Exception as e:  # noqa: BLE001 - a variant that fails is reported, the others still run
            lines = str(e).strip().splitlines()
            print(f"  {name}: failed ({type(e).__name__}: {lines[-1][:160] if lines else ''}); left out", flush=True)
            del results[name]
            continue
        print(f"  prepared {name}: first step {results[name]['first_step_s']:.3f} s", flush=True)
    g = torch.Generator().manual_seed(0)
    for rnd in range(args.tp_rounds):
        for name, (step, threads) in list(prepared.items()):
            torch.set_num_threads(threads)
            order = torch.randperm(n, generator=g).to(device)
            load = os.getloadavg()[0]
            sync(device)
            w, c = time.perf_counter(), time.process_time()
            try:  # torch 2.11's inductor passed the first steps on an H200, then failed a stride assert
                for b in range(steps_n):
                    step(order[b * bs : (b + 1) * bs])
                sync(device)
            except Exception as e:  # noqa: BLE001 - reported; the other variants still run
                lines = str(e).strip().splitlines()
                why = f"{type(e).__name__}: {lines[0][:160] if lines else ''}"
                print(f"  {name}: failed in round {rnd + 1} ({why}); left out", flush=True)
                del prepared[name], results[name]
                continue
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
    p.add_argument(
        "--layout",
        choices=("auto", "channels-last", "contiguous"),
        default="auto",
        help="the weights' memory format; auto as the trainer: channels-last on the CPU, contiguous on CUDA",
    )
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
    decayed = [name for name in args.recipe_names if RECIPES[name].weight_decay or RECIPES[name].optimizer != "adam"]
    if args.cuda_graphs and decayed and not args.throughput and not (args.quick and not args.recipes):
        p.error(f"--cuda-graphs replays plain Adam (no weight decay); leave out {', '.join(decayed)} (--recipes)")
    if args.cuda_graphs and args.compile:
        p.error("--cuda-graphs and --compile: pick one (the captured step is eager code)")
    return args


def machine(device: torch.device) -> dict:
    out = {"cpu": cpu_description(), "cores": usable_cores(), "torch": torch.__version__}
    out["threads"] = torch.get_num_threads()
    out["fast_bf16"] = cpu_has_fast_bf16()
    if device.type == "cuda":
        out["gpu"] = torch.cuda.get_device_name(device)
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    precision = choose_precision(args.precision, device)  # auto as the trainer: bf16 on fast CPUs, fp32 on CUDA
    channels_last = args.layout == "channels-last" or (args.layout == "auto" and device.type == "cpu")
    opts = Options(device, precision, channels_last, args.compile, args.cuda_graphs)
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
