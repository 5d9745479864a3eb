"""``layers.jsonl`` in the run folder: one :class:`LayerStatsRecord` a line, one line per epoch.

Beside the checkpoint, never inside it: replay and follow read it without loading torch
tensors, and a run that dies keeps every finished epoch's row.

- :func:`append_layer_stats` adds a line and fsyncs it (call it at each epoch end).
- :func:`read_layer_stats` returns the valid rows and how many lines it skipped: a torn
  last line (a crash mid-write) or a corrupted row costs that row only. When an epoch
  appears twice (a resumed run that was not truncated), the later row wins.
- :func:`truncate_layer_stats` keeps the rows of epochs ≤ N (on resume from epoch N's
  checkpoint), rewriting the file atomically (temporary file, fsync, ``os.replace``).
"""

from __future__ import annotations

import os
from pathlib import Path

from mnist_tui.files import write_atomically
from mnist_tui.insight.layer_stats import LayerStatsError, LayerStatsRecord

LAYERS_NAME = "layers.jsonl"


def layers_path(run_dir: Path) -> Path:
    return Path(run_dir) / LAYERS_NAME


def append_layer_stats(run_dir: Path, record: LayerStatsRecord) -> None:
    """Append ``record`` as one line and fsync. A torn last line is closed off first (it stays
    unreadable and is skipped), so the new row never fuses with it."""
    path = layers_path(run_dir)
    line = (record.to_json() + "\n").encode()
    with open(path, "ab") as f:
        if f.tell() > 0:
            with open(path, "rb") as existing:
                existing.seek(-1, os.SEEK_END)
                if existing.read(1) != b"\n":
                    line = b"\n" + line
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def _parse(path: Path) -> tuple[dict[int, LayerStatsRecord], int]:
    if not path.exists():
        return {}, 0
    by_epoch: dict[int, LayerStatsRecord] = {}
    skipped = 0
    for raw in path.read_bytes().split(b"\n"):
        if not raw.strip():
            continue
        try:
            record = LayerStatsRecord.from_json(raw)
        except LayerStatsError:
            skipped += 1
            continue
        by_epoch[record.epoch] = record
    return by_epoch, skipped


def read_layer_stats(run_dir: Path) -> tuple[list[LayerStatsRecord], int]:
    """(valid records in epoch order, number of lines skipped as torn or invalid); ([], 0) with no file."""
    by_epoch, skipped = _parse(layers_path(run_dir))
    return [by_epoch[epoch] for epoch in sorted(by_epoch)], skipped


def truncate_layer_stats(run_dir: Path, keep_epochs: int) -> int:
    """Keep only the valid rows of epochs ≤ ``keep_epochs`` (invalid lines go too); returns how
    many rows remain. No file: nothing to do (0)."""
    path = layers_path(run_dir)
    if not path.exists():
        return 0
    by_epoch, _ = _parse(path)
    kept = [by_epoch[epoch] for epoch in sorted(by_epoch) if epoch <= keep_epochs]
    text = "".join(record.to_json() + "\n" for record in kept).encode()
    write_atomically(path, lambda f: f.write(text))
    return len(kept)
