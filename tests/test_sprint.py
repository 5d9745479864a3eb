"""benchmarks/sprint.py: its quick mode on real MNIST, its plan and schedule, and its CUDA path where CUDA is."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import sprint_recipes  # noqa: E402

NUMBER = r"[0-9][0-9,]*\.?[0-9]*"


def run_quick(data_dir: Path, *extra: str) -> str:
    command = [sys.executable, str(BENCH / "sprint.py"), "--quick", "--data-dir", str(data_dir), *extra]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def table_row(output: str, recipe: str) -> list[float]:
    """The numbers of the summary table's row for ``recipe`` (a dash, for not reaching 99 %, is skipped)."""
    header = output.index("final acc % per seed")
    line = next(x for x in output[header:].splitlines() if x.startswith(recipe + " "))
    return [float(x.replace(",", "")) for x in re.findall(NUMBER, line[len(recipe) :])]


def test_the_cli_trains_the_recipe_the_sweep_chose():
    """``--recipe sprint`` and the sweep's ``sprint`` are one recipe: the sweep changed dropout to
    0.05 (round 6) and nothing tied the trainer's copy to it."""
    from mnist_tui.config import make_config

    chosen, trained = sprint_recipes.RECIPES["sprint"], make_config("sprint")
    assert (trained.batch_size, trained.lr, trained.schedule, trained.ema_decay) == (
        chosen.batch_size,
        chosen.lr,
        chosen.schedule,
        chosen.ema_decay,
    )
    assert (trained.conv_dropout, trained.fc_dropout) == (chosen.conv_dropout, chosen.fc_dropout)
    assert trained.epochs - 1 + trained.last_epoch_fraction == chosen.epochs
    assert trained.tests_per_epoch == chosen.tests_per_epoch == 2  # its time to 99 % counts the same tests


@pytest.mark.real_mnist
def test_quick_mode_prints_a_row_of_finite_numbers(real_mnist_dir):
    out = run_quick(real_mnist_dir, "--device", "cpu")
    numbers = table_row(out, "quick")
    assert len(numbers) >= 5  # accuracy, samples/s, cpu/wall, eval s, load
    assert all(math.isfinite(x) for x in numbers)
    accuracy, samples_per_s = numbers[0], numbers[1]
    assert 10 < accuracy <= 100  # a 3000-image epoch learns something
    assert samples_per_s > 0  # finite (above): a speed was measured; how fast is the machine's business
    assert "load average before" in out


@pytest.mark.real_mnist
def test_quick_mode_runs_named_recipes_and_seeds(real_mnist_dir, tmp_path):
    out = run_quick(real_mnist_dir, "--recipes", "issue,e2.5-ema", "--seeds", "0,1", "--json", str(tmp_path / "f.json"))
    for name in ("issue", "e2.5-ema"):
        numbers = table_row(out, name)
        assert all(math.isfinite(x) for x in numbers)
        assert len(re.findall(r"seed \d", "\n".join(x for x in out.splitlines() if x.strip().startswith(name)))) == 2
    assert (tmp_path / "f.json").read_text().count('"recipe": "issue"') >= 2


def test_onecycle_values_are_the_trainers_scheduler():
    recipe = sprint_recipes.Recipe("r", lr=1e-2, pct_start=0.25)
    lrs, betas = sprint_recipes.schedule_values(recipe, 100)
    opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=1e-2)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=100, pct_start=0.25)
    for i in range(100):
        assert lrs[i] == pytest.approx(opt.param_groups[0]["lr"])
        assert betas[i] == pytest.approx(opt.param_groups[0]["betas"][0])
        opt.step()
        sched.step()
    assert max(lrs) == pytest.approx(1e-2)


def test_plan_covers_fractional_epochs_ramps_and_eval_points():
    recipe = sprint_recipes.Recipe("r", epochs=2.5, ramp=((0, 100), (1, 200)), eval_every=0.5, eval_from=1.0)
    plan = sprint_recipes.make_plan(recipe, 1000)
    assert plan.samples == 2500
    assert sum(stop - start for _, start, stop in plan.steps) == 2500
    assert [stop - start for e, start, stop in plan.steps if e == 0] == [100] * 10
    assert [stop - start for e, start, stop in plan.steps if e == 2] == [200, 200, 100]
    assert list(plan.evals.values()) == [1.0, 1.6, 2.0, 2.5]  # 1.5 falls inside a 200-batch: the next boundary
    assert max(plan.evals) == len(plan.steps) - 1


def test_cuda_graphs_are_refused_on_the_cpu(tmp_path):
    """--cuda-graphs without CUDA is refused by name. (Given an empty folder, the test once passed
    on the refusal of the missing MNIST/raw, which comes first, whatever --cuda-graphs did.)"""
    (tmp_path / "MNIST" / "raw").mkdir(parents=True)  # past the data check: no file is read before the refusal
    done = subprocess.run(
        [sys.executable, str(BENCH / "sprint.py"), "--cuda-graphs", "--device", "cpu", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "error: --cuda-graphs needs --device cuda" in done.stderr, done.stderr
    assert "MNIST/raw" not in done.stderr


@pytest.mark.real_mnist
@pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason="CUDA is not available here: the CUDA path (sprint.py --device cuda, with and without --cuda-graphs) "
    "runs only on a machine with a GPU; on this one it is exercised with --device cpu by the tests above",
)
@pytest.mark.parametrize("extra", [[], ["--cuda-graphs"]], ids=["eager", "cuda-graphs"])
def test_cuda_path(real_mnist_dir, extra):
    out = run_quick(real_mnist_dir, "--device", "cuda", *extra)
    numbers = table_row(out, "quick")
    assert all(math.isfinite(x) for x in numbers)
    assert 10 < numbers[0] <= 100
    assert "device cuda" in out


@pytest.mark.real_mnist
def test_the_cuda_profile_runs_on_the_cpu_and_prints_a_row_per_variant(real_mnist_dir):
    command = [sys.executable, str(BENCH / "cuda_profile.py"), "--device", "cpu", "--data-dir", str(real_mnist_dir)]
    command += ["--sizes", "32,64", "--steps", "2", "--rounds", "1", "--limit-train", "512", "--profile-batch", "32"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith(("bf16 ", "fp32 "))]
    assert len(rows) == 5  # the CPU's variants: no graphs, no autotuner
    assert all(len(re.findall(r"k/s", row)) == 2 for row in rows)
    assert "Self CPU time total" in done.stdout
