"""Ratios, goal checks and the printed table of ``throughput.py``."""

from __future__ import annotations

import statistics
import sys


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _rate(figures: dict, part: str) -> float | None:
    return (figures.get(part) or {}).get("samples_per_s")


# Each ratio: (numerator part, denominator part, digits it is rounded to)
RATIOS = {
    "project_over_seed": ("headless", "seed", 2),
    "dashboard_over_headless": ("dashboard", "headless", 3),
    "split_over_whole": ("headless", "whole", 3),  # with --whole-batch
}


def ratios(figures: dict) -> dict:
    """Each ratio as the median of its rounds' ratios (paired: the parts of one round ran within a
    minute of each other); with one round, the ratio of the parts' medians.

    Why paired: this 2-core AMD EPYC switches between two speeds (~30k and ~45k samples/s for the
    same loop) for minutes at a time. One run of 3 landing in the slow state moved the pooled
    dashboard/headless from ~0.975 to 0.951 while the round ratios read 1.024, 0.823, 0.974.
    """
    result = pooled_ratios(figures)
    for name, rounds in round_ratios(figures).items():
        if len(rounds) > 1:
            result[name] = round(statistics.median(rounds), RATIOS[name][2])
    return result


def pooled_ratios(figures: dict) -> dict:
    """The ratios of the parts' medians over every pass of every round (printed beside)."""
    result = {}
    for name, (top, bottom, digits) in RATIOS.items():
        if "whole" in (top, bottom) and "whole" not in figures:
            continue  # measured only with --whole-batch
        a, b = _rate(figures, top), _rate(figures, bottom)
        result[name] = round(a / b, digits) if a and b else None
    return result


def round_ratios(figures: dict) -> dict:
    """The same ratios within each round (parts measured minutes apart): their spread is the noise."""
    medians = {p: (figures.get(p) or {}).get("round_medians") for p in ("seed", "headless", "dashboard", "whole")}
    result = {}
    for name, (top, bottom, _digits) in RATIOS.items():  # rounds keep 3 digits: they show the spread
        if medians[top] and medians[bottom]:
            result[name] = [round(a / b, 3) for a, b in zip(medians[top], medians[bottom], strict=True)]
    return result


def goals(figures: dict, targets: dict) -> dict:
    """Each goal: the measured value, the target and whether it is met (None: not measured)."""
    rss = [figures[p]["peak_rss_mb"] for p in ("headless", "dashboard") if p in figures]
    to99 = figures.get("to_99_defaults") or {}
    measured = {
        "project_over_seed": figures["ratios"]["project_over_seed"],
        "dashboard_over_headless": figures["ratios"]["dashboard_over_headless"],
        "first_frame_s": (figures.get("dashboard") or {}).get("first_frame_s"),
        "peak_rss_mb": max(rss) if rss else None,
        "defaults_seconds_to_99": to99.get("seconds") if to99 else None,
    }
    at_most = {"first_frame_s", "peak_rss_mb", "defaults_seconds_to_99"}
    result = {}
    for name, value in measured.items():
        if value is None:
            met = False if name == "defaults_seconds_to_99" and to99 else None
        else:
            met = value <= targets[name] if name in at_most else value >= targets[name]
        result[name] = {"value": value, "goal": targets[name], "met": met}
    return result


def _mark(goal: dict) -> str:
    return {True: "ok", False: "MISSED", None: "-"}[goal["met"]]


def _to99(entry: dict | None) -> str:
    if not entry:
        return "not measured"
    if entry["reached"]:
        return f"epoch {entry['epoch']}, {entry['seconds']:.1f} s of training"
    return (
        f"not reached in {entry['epochs_run']} epochs ({entry['seconds_run']:.1f} s); best {max(entry['test_acc'])} %"
    )


def print_table(figures: dict, targets: dict) -> None:
    m, g = figures["machine"], figures["goals"]
    s = figures["settings"]
    host = m.get("host_cores", m["cores"])
    pinned = f" (pinned, of {host})" if host != m["cores"] else ""
    torch = f"torch {m['torch']} ({m['torch_threads']} threads)"
    print(f"\nmnist-tui throughput · {m['cpu']} · {m['cores']} cores{pinned} · {torch}")
    print(
        f"{s['samples']:,} MNIST samples per pass, median of {s['repeats']} passes after a warm-up "
        f"(over {s.get('rounds', 1)} interleaved runs of each part); "
        f"load average before {figures['load_before'][0]}, after {figures['load_after'][0]}\n"
    )
    rows = [("seed pipeline (torchvision + DataLoader, bs 100, fp32)", figures["seed"], "")]
    rows.append(("project trainer, headless (defaults)", figures["headless"], ""))
    if "whole" in figures:
        rows.append(("project trainer, headless, --split-batch off", figures["whole"], ""))
    if "dashboard" in figures:
        rows.append(("project trainer in the dashboard (pty 120x40)", figures["dashboard"], ""))
    width = max(len(r[0]) for r in rows) + 2
    print(f"{'':{width}}{'samples/s':>10}  {'peak RSS':>9}  {'load (1 min)':>12}")
    for label, part, _ in rows:
        load = f"{part.get('load_before', float('nan')):.2f}→{part.get('load_after', float('nan')):.2f}"
        print(f"{label:{width}}{part['samples_per_s']:>10,.0f}  {part['peak_rss_mb']:>6,.0f} MB  {load:>12}")
    print()
    lines = [
        ("project / seed", g["project_over_seed"], "x", "≥"),
        ("dashboard / headless", g["dashboard_over_headless"], "", "≥"),
        ("launch → first frame", g["first_frame_s"], " s", "≤"),
        ("peak RSS (project)", g["peak_rss_mb"], " MB", "≤"),
    ]
    if "whole" in figures:
        split = {"value": figures["ratios"]["split_over_whole"], "goal": 1.0, "met": None}
        lines.insert(1, ("split / whole batch", split, "", "≥"))
    per_round = figures.get("round_ratios") or {}
    names = {"project / seed": "project_over_seed", "dashboard / headless": "dashboard_over_headless"}
    names["split / whole batch"] = "split_over_whole"
    for label, goal, unit, sign in lines:
        value = "-" if goal["value"] is None else f"{goal['value']:g}{unit}"
        rounds = per_round.get(names.get(label, ""))
        pooled = (figures.get("pooled_ratios") or {}).get(names.get(label, ""))
        spread = (
            f"  (median of rounds {', '.join(f'{r:g}' for r in rounds)}; all passes pooled: {pooled:g})"
            if rounds and len(rounds) > 1
            else ""
        )
        if label == "launch → first frame":
            spread = _frames_spread(figures.get("first_frames"))
        print(f"{label:{width}}{value:>10}  goal {sign} {goal['goal']:g}{unit}  {_mark(goal)}{spread}")
    print("\ntime to 99.0 % test accuracy (full MNIST, headless):")
    print(
        f"  project defaults   {_to99(figures.get('to_99_defaults'))}  goal ≤ {targets['defaults_seconds_to_99']:g} s  "
        f"{_mark(g['defaults_seconds_to_99'])}"
    )
    print(f"  --recipe seed      {_to99(figures.get('to_99_seed_recipe'))}")


def _frames_spread(frames: dict[str, list[float]] | None) -> str:
    """ "(10 launches, 0.52-0.71 s; a bare Textual app: median 0.43 s, 0.31-0.55 s)" """
    if not frames or not frames.get("dashboard"):
        return ""
    own, bare = frames["dashboard"], frames.get("bare") or []
    text = f"  ({len(own)} launches, {min(own):g}-{max(own):g} s"
    if bare:
        text += f"; a bare Textual app: median {statistics.median(bare):g} s, {min(bare):g}-{max(bare):g} s"
    return text + ")"
