"""metrics.jsonl: one JSON object per finished epoch, in the run folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mnist_tui.rundir import METRICS_NAME
from mnist_tui.training.checkpoint import write_atomically

__all__ = ["METRICS_NAME", "read_metrics", "write_metrics"]
FIELDS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "seconds", "samples_per_s", "dataset", "device")


def write_metrics(run_dir: Path, history: list[dict[str, Any]]) -> None:
    """Rewrite the whole log from the history (atomically), so a resumed run never duplicates."""
    text = "".join(json.dumps(row) + "\n" for row in history)
    write_atomically(Path(run_dir) / METRICS_NAME, lambda f: f.write(text.encode()))


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    path = Path(run_dir) / METRICS_NAME
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line:
            rows.append(json.loads(line))
    return rows
