"""Run folders for the workspace tests: three short headless runs (made once per session), plus
broken and foreign folders, and a format-1 copy."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# name → options: three learning rates, one with more dropout, one with another batch size (the
# batch and dropout are given, not the defaults: 500 samples make one step of the default batch)
RUNS = {
    "lr-0.003": ["--lr", "0.003", "--batch-size", "512", "--dropout", "0.1"],
    "lr-0.01": ["--lr", "0.01", "--batch-size", "512", "--dropout", "0.2"],
    "sweep/lr-0.001": ["--lr", "0.001", "--batch-size", "128", "--dropout", "0.1"],
}
_made: dict[str, Path] = {}


def headless(run_dir: Path, *options: str, epochs: int | None = 2) -> subprocess.Popen:
    """A short run on synthetic data; ``epochs=None``: the recipe's plan (sprint's 2.5)."""
    command = [sys.executable, "-m", "mnist_tui", "--headless", "--dataset", "synthetic", "--device", "cpu"]
    command += ["--limit-train", "500", "--run-dir", str(run_dir), *options]
    command += [] if epochs is None else ["--epochs", str(epochs)]
    env = os.environ | {"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def made_runs(tmp_path_factory) -> Path:
    """A folder holding the three runs of RUNS (trained once per session, then copied)."""
    if "runs" not in _made:
        root = tmp_path_factory.mktemp("workspace-runs")
        jobs = [(name, headless(root / name, *options)) for name, options in RUNS.items()]
        for name, job in jobs:
            out, _ = job.communicate(timeout=300)
            assert job.returncode == 0, f"{name}: {out}"
        _made["runs"] = root
    return _made["runs"]


def workspace(tmp_path: Path, tmp_path_factory) -> Path:
    """A fresh copy of the three runs plus: a broken run.json, a foreign folder, a format-1 run,
    and a folder that holds no run (not listed)."""
    root = tmp_path / "runs"
    shutil.copytree(made_runs(tmp_path_factory), root)
    (root / "broken").mkdir()
    (root / "broken" / "run.json").write_text('{"config": ')
    (root / "foreign").mkdir()
    (root / "foreign" / "metrics.jsonl").write_text('{"loss": 0.5, "step": 10}\n')
    old = root / "old" / "format1"
    old.mkdir(parents=True)
    rows = (root / "lr-0.003" / "metrics.jsonl").read_text().splitlines()
    legacy = []
    for line in rows:
        row = json.loads(line)
        row.pop("world_size", None)
        row.pop("eval_seconds", None)
        legacy.append(json.dumps(row))
    (old / "metrics.jsonl").write_text("\n".join(legacy) + "\n")
    (root / "notes").mkdir()
    (root / "notes" / "readme.txt").write_text("not a run")
    return root
