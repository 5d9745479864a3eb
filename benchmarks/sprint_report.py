"""The printed figures of benchmarks/sprint.py: one line per run as it ends (``print_evals``), the
rows of the summary per recipe (``summarise``: final accuracy, measured and estimated time to 99 %,
samples/s, cpu/wall, load; the rows are also the JSON's), and the summary table with the calibration
passes and every recipe's knobs (``print_table``).
"""

from __future__ import annotations

import statistics
import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sprint_recipes import Recipe  # noqa: E402
from sprint_train import RunResult  # noqa: E402


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
    print("  among those the trainer makes (each epoch's end, the schedule's end, the recipe's tests inside")
    print("  an epoch (tests_per_epoch); * marks the other points);")
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
