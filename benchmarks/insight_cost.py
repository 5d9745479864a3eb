"""What the model view's per-epoch statistics cost the training run (issue 13: at most 2 %).

    python benchmarks/insight_cost.py --data-dir ../shared/mnist

Trains real MNIST epochs with the default recipe through the real trainer, then times what
the trainer adds per epoch for the model view: ``weights_copy`` at the epoch's start and
``epoch_layer_stats`` at its end (on the trained model, with its last gradients), against
the epoch's own training time. Everything else of the model view (activations, saliency,
the embedding) runs on demand in the UI's workers, never in the training loop.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_description, usable_cores  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "mnist")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--limit-train", type=int, default=None, help="train on the first N samples")
    p.add_argument("--repeats", type=int, default=50, help="timings of the statistics per epoch")
    args = p.parse_args(argv)

    from mnist_tui.config import Config
    from mnist_tui.insight.layer_stats import epoch_layer_stats, weights_copy
    from mnist_tui.training.events import EpochRecord
    from mnist_tui.training.loop import Trainer

    config = Config(epochs=args.epochs, data_dir=args.data_dir, dataset="mnist", limit_train=args.limit_train)
    records: list[EpochRecord] = []
    load = os.getloadavg()[0]
    trainer = Trainer(config, lambda e: records.append(e) if isinstance(e, EpochRecord) else None)
    result = trainer.run()
    if result.error is not None:
        print(f"training failed: {result.error}", file=sys.stderr)
        return 1
    model = trainer.model
    costs = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        start = weights_copy(model)
        epoch_layer_stats(1, model, start)
        costs.append(time.perf_counter() - started)
    epoch_seconds = statistics.median(r.seconds for r in records)
    cost = statistics.median(costs)
    print(f"CPU: {cpu_description()} ({usable_cores()} cores), load average {load:.2f} → {os.getloadavg()[0]:.2f}")
    print(f"epoch training time (median of {len(records)}): {epoch_seconds:.3f} s")
    print(f"per-epoch statistics (weights_copy + epoch_layer_stats), median of {args.repeats}: {cost * 1000:.2f} ms")
    print(f"share of the epoch: {cost / epoch_seconds:.3%} (goal ≤ 2 %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
