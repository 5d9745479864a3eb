"""benchmarks/throughput.py runs end to end with tiny options and writes its figures (no timing asserted)."""

from __future__ import annotations

import ast
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import child_runs as runs  # noqa: E402
import throughput_report as report  # noqa: E402


@pytest.mark.slow
@pytest.mark.real_mnist
def test_quick_run_prints_the_table_and_writes_json(real_mnist_dir, tmp_path):
    out_json = tmp_path / "figures.json"
    command = [
        sys.executable,
        str(BENCH / "throughput.py"),
        "--quick",
        "--samples",
        "512",
        "--data-dir",
        str(real_mnist_dir),
        "--json",
        str(out_json),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    figures = json.loads(out_json.read_text())
    for part in ("seed", "headless", "dashboard"):
        assert figures[part]["samples_per_s"] > 0
        assert len(figures[part]["runs"]) == 1
        assert figures[part]["peak_rss_mb"] > 50  # a torch process: far more than an empty interpreter
    assert figures["settings"] == {"samples": 512, "repeats": 1, "rounds": 1, "data_dir": str(real_mnist_dir)}
    assert len(figures["dashboard"]["round_medians"]) == 1  # --quick: one interleaved round
    frames = figures["first_frames"]  # --quick: two launches of each, alternately
    assert len(frames["dashboard"]) == len(frames["bare"]) == 2 and min(frames["dashboard"] + frames["bare"]) > 0
    assert figures["dashboard"]["first_frame_s"] == round(sum(frames["dashboard"]) / 2, 3)  # their median
    autostart = figures["dashboard"]["first_frame_autostart_s"]
    assert math.isfinite(autostart) and autostart > 0  # measured; how long it takes is not asserted
    assert figures["headless"]["dataset"] == "MNIST"
    assert set(figures["ratios"]) == {"project_over_seed", "dashboard_over_headless"}
    assert figures["ratios"]["project_over_seed"] == round(
        figures["headless"]["samples_per_s"] / figures["seed"]["samples_per_s"], 2
    )
    assert set(figures["goals"]) == {
        "project_over_seed",
        "dashboard_over_headless",
        "first_frame_s",
        "peak_rss_mb",
        "defaults_seconds_to_99",
    }
    assert figures["goals"]["defaults_seconds_to_99"]["met"] is None  # --quick skips the accuracy runs
    assert "project / seed" in done.stdout and "launch → first frame" in done.stdout
    assert "2 launches" in done.stdout and "a bare Textual app: median" in done.stdout


def test_a_missing_data_folder_is_one_clear_error(tmp_path):
    done = subprocess.run(
        [sys.executable, str(BENCH / "throughput.py"), "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "no MNIST/raw" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or os.cpu_count() < 2, reason="needs 2 cores and affinity")
def test_a_pinned_run_names_the_cores_it_may_use_and_the_hosts():
    """Under `taskset` on a 16-core host the benchmark had said "16 cores" of a run pinned to 2."""
    code = (
        "import os, sys; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); "
        f"sys.path.insert(0, {str(BENCH)!r}); import throughput; print(throughput.machine())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    machine = ast.literal_eval(done.stdout)
    assert machine["cores"] == 1 and machine["host_cores"] == os.cpu_count()


def test_goals_compare_each_figure_with_its_bound():
    figures = {
        "ratios": {"project_over_seed": 3.2, "dashboard_over_headless": 0.9},
        "headless": {"peak_rss_mb": 800.0},
        "dashboard": {"peak_rss_mb": 1100.0, "first_frame_s": 0.4},
        "to_99_defaults": {"reached": False, "seconds": None},
    }
    goals = report.goals(
        figures,
        {
            "project_over_seed": 3.0,
            "dashboard_over_headless": 0.95,
            "first_frame_s": 1.0,
            "peak_rss_mb": 1024,
            "defaults_seconds_to_99": 15.0,
        },
    )
    assert goals["project_over_seed"]["met"] is True
    assert goals["dashboard_over_headless"]["met"] is False
    assert goals["first_frame_s"]["met"] is True
    assert goals["peak_rss_mb"] == {"value": 1100.0, "goal": 1024, "met": False}  # the larger of the two
    assert goals["defaults_seconds_to_99"]["met"] is False  # measured, never reached


def test_whole_batch_runs_give_the_split_steps_ratio_and_a_table_row(capsys):
    figures = {
        "machine": {"cpu": "a CPU", "cores": 2, "torch": "2", "torch_threads": 2},
        "settings": {"samples": 100, "repeats": 1, "rounds": 2},
        "load_before": [1.0],
        "load_after": [1.0],
    }
    for part, rate in (("seed", 2000.0), ("headless", 12000.0), ("whole", 10000.0)):
        figures[part] = {"samples_per_s": rate, "round_medians": [rate, rate * 1.1], "peak_rss_mb": 600.0}
    figures["round_ratios"] = report.round_ratios(figures)
    figures["ratios"] = report.ratios(figures)
    figures["pooled_ratios"] = report.pooled_ratios(figures)
    figures["goals"] = report.goals(figures, {k: 1 for k in ("project_over_seed", "dashboard_over_headless")} | {
        "first_frame_s": 0.5, "peak_rss_mb": 1024, "defaults_seconds_to_99": 15})  # fmt: skip
    assert figures["ratios"]["split_over_whole"] == 1.2
    assert figures["round_ratios"]["split_over_whole"] == [1.2, 1.2]
    report.print_table(figures, {"defaults_seconds_to_99": 15})
    out = capsys.readouterr().out
    assert "--split-batch off" in out and "split / whole batch" in out and "1.2" in out
    del figures["whole"]
    assert "split_over_whole" not in report.pooled_ratios(figures)


def test_round_ratios_pair_the_parts_measured_in_the_same_round():
    figures = {
        "seed": {"round_medians": [8000.0, 6000.0]},
        "headless": {"round_medians": [48000.0, 30000.0]},
        "dashboard": {"round_medians": [46560.0, 30000.0]},
    }
    assert report.round_ratios(figures) == {
        "project_over_seed": [6.0, 5.0],
        "dashboard_over_headless": [0.97, 1.0],
    }
    del figures["dashboard"]
    assert set(report.round_ratios(figures)) == {"project_over_seed"}


def test_with_several_rounds_the_ratio_is_the_median_of_the_paired_rounds():
    figures = {  # one round caught in the machine's slow state: its pair, not the pool, absorbs it
        "seed": {"samples_per_s": 8000.0, "round_medians": [8000.0, 8000.0, 8000.0]},
        "headless": {"samples_per_s": 48000.0, "round_medians": [48000.0, 48000.0, 48000.0]},
        "dashboard": {"samples_per_s": 44000.0, "round_medians": [47000.0, 40000.0, 46800.0]},
    }
    assert report.ratios(figures)["dashboard_over_headless"] == round(46800 / 48000, 3)
    assert report.pooled_ratios(figures)["dashboard_over_headless"] == round(44000 / 48000, 3)
    one_round = {part: {"samples_per_s": v["samples_per_s"]} for part, v in figures.items()}
    assert report.ratios(one_round) == report.pooled_ratios(one_round)


def test_screen_text_drops_escapes_and_what_came_before_the_app_screen():
    output = b"noise\x1b[?1049h\x1b[1;1H\x1b[38;2;1;2;3mmnist\x1b[0m-tui\x1b]0;title\x07 ready"
    assert runs.screen_text(output) == "mnist-tui ready"


def test_the_timed_children_cache_their_bytecode_as_an_installed_app_does(monkeypatch):
    """With PYTHONDONTWRITEBYTECODE inherited, every launch compiled the app again: 1.24 s to the
    first frame where the same machine shows it in 0.8 s once the bytecode is cached."""
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    env = runs.child_env()
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(runs.REPO)


def test_the_cpu_is_named_with_its_family_model_and_vector_extensions():
    """Zen 3 and Zen 5 VMs both call themselves "AMD EPYC"; their figures differ 5×."""
    from machine import describe_cpu

    def cpuinfo(family: int, model: int, flags: str) -> str:
        one = f"processor\t: 0\nmodel name\t: AMD EPYC\ncpu family\t: {family}\nmodel\t\t: {model}\n"
        one += f"flags\t\t: fpu {flags}\n"
        return one + "\n" + one.replace(": 0", ": 1").replace(flags, "avx2")  # the first processor is named

    assert describe_cpu(cpuinfo(25, 1, "avx2 sse4_2")) == "AMD EPYC (family 25 model 1: AVX2, no AVX-512, no bf16)"
    assert describe_cpu(cpuinfo(26, 2, "avx2 avx512f avx512_bf16")) == "AMD EPYC (family 26 model 2: AVX-512 bf16)"
    intel = describe_cpu(cpuinfo(6, 143, "avx2 avx512f avx512_bf16 amx_bf16"))
    assert intel.endswith("(family 6 model 143: AMX, AVX-512 bf16)")
    assert describe_cpu("model name\t: Some CPU\n") == "Some CPU"
