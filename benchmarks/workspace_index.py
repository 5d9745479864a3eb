"""How long the runs workspace takes to list N run folders: cold (first scan) and warm (re-scan).

    python benchmarks/workspace_index.py              # 500 generated folders in a temporary folder
    python benchmarks/workspace_index.py -n 300 --keep /tmp/runs300
    python benchmarks/workspace_index.py --dir runs   # time an existing folder of runs instead

The folders are written directly (run.json, status.json, metrics.jsonl, batches.jsonl as a
finished 10-epoch run writes them), no training. "cold" is the first scan of a fresh index
(the page cache is warm: the files were just written or listed); "warm" is the median of
re-scans of the same index, what the workspace's 2 s refresh costs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mnist_tui.config import Config  # noqa: E402
from mnist_tui.runfolder.atomic import jsonl  # noqa: E402
from mnist_tui.workspace.index import RunIndex  # noqa: E402

LRS = (0.001, 0.002, 0.003, 0.005, 0.01, 0.02)
BATCHES = (64, 128, 256, 512)
DROPOUTS = (0.0, 0.1, 0.25, 0.5)


def make_run_folder(run_dir: Path, seed: int, epochs: int = 10, batches_per_epoch: int = 20) -> None:
    """One finished run's files, with plausible numbers that depend on ``seed``."""
    rng = random.Random(seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    lr, batch, dropout = rng.choice(LRS), rng.choice(BATCHES), rng.choice(DROPOUTS)
    config = Config(
        epochs=epochs,
        batch_size=batch,
        lr=lr,
        seed=seed,
        device="cpu",
        dataset="synthetic",
        run_dir=run_dir,
        conv_dropout=dropout,
        fc_dropout=dropout,
    ).to_dict()
    created = time.time() - 86_400 + seed
    info = dict(config=config, created=created, host=socket.gethostname(), world_size=1, dataset="synthetic digits")
    info |= dict(device="cpu", precision="fp32", parameters=21840, train_size=batch * batches_per_epoch)
    info |= dict(test_size=10000, batches_per_epoch=batches_per_epoch, format=2)
    rows, reports, clock, loss = [], [], created, 2.3
    for epoch in range(1, epochs + 1):
        losses = []
        for _ in range(batches_per_epoch):
            loss = max(0.01, loss * rng.uniform(0.9, 0.99))
            losses.append(round(loss, 5))
        for start in range(0, batches_per_epoch, 5):
            clock += 0.1
            chunk = losses[start : start + 5]
            reports.append(
                dict(epoch=epoch, batch=start + len(chunk), batches_per_epoch=batches_per_epoch, losses=chunk)
                | dict(lrs=[lr] * len(chunk), time=clock, samples_per_s=5000.0, samples_seen=(start + 5) * batch)
            )
        acc = min(0.995, 1 - loss / 3 + rng.uniform(-0.01, 0.01))
        row = dict(epoch=epoch, train_loss=loss, train_acc=acc, test_loss=loss * 1.1, test_acc=acc, seconds=2.0)
        rows.append(row | dict(samples_per_s=5000.0, lr=lr, eval_seconds=0.5, dataset="synthetic digits", device="cpu"))
    status = dict(state="finished", pid=0, host=socket.gethostname(), epochs=epochs, epochs_done=epochs, epoch=epochs)
    status |= dict(batch=batches_per_epoch, batches_per_epoch=batches_per_epoch, heartbeat=clock, world_size=1)
    (run_dir / "run.json").write_text(json.dumps(info, indent=1))
    (run_dir / "status.json").write_text(json.dumps(status, indent=1))
    (run_dir / "metrics.jsonl").write_text(jsonl(rows))
    (run_dir / "batches.jsonl").write_text(jsonl(reports))


def make_run_folders(root: Path, n: int, nested_every: int = 50) -> list[Path]:
    """``n`` run folders under ``root``; every ``nested_every``-th group sits one level deeper."""
    folders = []
    for i in range(n):
        group = f"sweep-{i // nested_every:02d}/" if nested_every and (i // nested_every) % 2 else ""
        folder = root / f"{group}run-{i:04d}"
        make_run_folder(folder, seed=i)
        folders.append(folder)
    return folders


def time_scans(root: Path, repeats: int = 5) -> dict:
    index = RunIndex(root)
    start = time.perf_counter()
    summaries = index.scan()
    cold = time.perf_counter() - start
    warm = []
    for _ in range(repeats):
        start = time.perf_counter()
        index.scan()
        warm.append(time.perf_counter() - start)
    problems = sum(1 for s in summaries if s.problem)
    return dict(runs=len(summaries), problems=problems, cold_s=cold, warm_s=statistics.median(warm))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=500, help="run folders to generate (default 500)")
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    parser.add_argument("--dir", type=Path, help="time this existing folder of runs; generate nothing")
    args = parser.parse_args()
    if args.dir is not None:
        root = args.dir
    else:
        root = args.keep or Path(tempfile.mkdtemp(prefix="mnist-tui-workspace-"))
        start = time.perf_counter()
        make_run_folders(root, args.n)
        print(f"generated {args.n} run folders in {root} ({time.perf_counter() - start:.1f} s)")
    figures = time_scans(root)
    load = os.getloadavg()
    print(
        f"{figures['runs']} runs ({figures['problems']} with problems): cold scan {figures['cold_s'] * 1000:.0f} ms, "
        f"warm re-scan {figures['warm_s'] * 1000:.1f} ms (median of 5); "
        f"{os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    if args.dir is None and args.keep is None:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
