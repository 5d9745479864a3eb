"""One run over two processes under torchrun (gloo on the CPU), against the single-process run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TORCHRUN = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which("torchrun")
pytestmark = [pytest.mark.real_mnist, pytest.mark.slow]


def train(run_dir: Path, data_dir: Path, ranks: int) -> list[dict]:
    args = ["--headless", "--data-dir", str(data_dir), "--limit-train", "12000", "--epochs", "2", "--batch-size", "512"]
    args += ["--device", "cpu", "--precision", "fp32", "--run-dir", str(run_dir)]
    if ranks == 1:
        command = [sys.executable, "-m", "mnist_tui", *args]
    else:
        command = [TORCHRUN, "--standalone", f"--nproc_per_node={ranks}", "-m", "mnist_tui", *args]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    out = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.skipif(TORCHRUN is None, reason="torchrun is not installed beside this Python")
def test_two_ranks_train_one_run_close_to_the_single_process_run(real_mnist_dir, tmp_path):
    together = train(tmp_path / "ddp", real_mnist_dir, ranks=2)
    alone = train(tmp_path / "single", real_mnist_dir, ranks=1)
    assert [r["world_size"] for r in together] == [2, 2] and [r["world_size"] for r in alone] == [1, 1]
    assert [r["epoch"] for r in together] == [1, 2]
    # the same global batch and schedule over the same samples, split between ranks
    assert together[-1]["test_acc"] > 0.9  # 12,000 samples, 2 epochs: ~0.95 (chance is 0.10)
    assert abs(together[-1]["test_acc"] - alone[-1]["test_acc"]) < 0.02
    status = json.loads((tmp_path / "ddp" / "status.json").read_text())
    assert status["state"] == "finished" and status["world_size"] == 2
    info = json.loads((tmp_path / "ddp" / "run.json").read_text())
    assert info["world_size"] == 2
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert sorted(leftovers) == ["ddp", "single"]  # rank 1 made no run folder of its own
