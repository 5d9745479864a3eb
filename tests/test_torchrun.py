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
    # each epoch's last report counts both ranks' samples, as its rate does (it said half: an ETA too long)
    ends = [json.loads(line) for line in (tmp_path / "ddp" / "batches.jsonl").read_text().splitlines()]
    ends = [b for b in ends if b["batch"] == b["batches_per_epoch"]]
    assert [b["samples_seen"] for b in ends] == [info["train_size"]] * 2


@pytest.mark.skipif(TORCHRUN is None, reason="torchrun is not installed beside this Python")
def test_a_followers_stop_ends_every_rank_at_the_same_batch(tmp_path):
    """Rank 0 returned alone from the epoch and rank 1, left in the batch's all-reduce, died with
    "Connection closed by peer": torchrun exited 1 (4 of 4 times)."""
    import time

    from mnist_tui.runfolder.reader import read_metrics, read_status
    from mnist_tui.sources.follow import FollowSource

    run_dir = tmp_path / "ddp"
    args = ["--headless", "--dataset", "synthetic", "--limit-train", "4000", "--epochs", "200", "--batch-size", "256"]
    args += ["--device", "cpu", "--precision", "fp32", "--run-dir", str(run_dir)]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "MNIST_TUI_DATA": str(tmp_path / "cache")}
    command = [TORCHRUN, "--standalone", "--nproc_per_node=2", "-m", "mnist_tui", *args]
    job = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    try:
        deadline = time.monotonic() + 240
        while not (run_dir / "metrics.jsonl").exists() or not read_metrics(run_dir).records:
            assert job.poll() is None and time.monotonic() < deadline, job.communicate()
            time.sleep(0.1)
        FollowSource(run_dir, lambda saved: None).stop()
        out, err = job.communicate(timeout=120)
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()
    assert job.returncode == 0, err[-3000:]
    assert "closed by peer" not in err
    status = read_status(run_dir)
    assert status.state == "stopped" and 1 <= status.epochs_done < 200
