"""``layers.jsonl`` in the run folder: one :class:`LayerStatsRecord` a line, one line per epoch.

Beside the checkpoint, never inside it: replay and follow read it without loading torch
tensors, and a run that dies keeps every finished epoch's row.

- :func:`append_layer_stats` adds a line and fsyncs it (call it at each epoch end).
- :func:`read_layer_stats` reads it as every other log of the folder is read
  (:func:`mnist_tui.runfolder.reader.read_rows`: never blocking on a FIFO, a folder in its
  place one line, a torn last line left for the next read, each damaged row counted). When an
  epoch appears twice (a resumed run that was not truncated), the later row wins.
- :func:`truncate_layer_stats` keeps the rows of epochs ≤ N (on resume from epoch N's
  checkpoint), rewriting the file atomically (temporary file, fsync, ``os.replace``).
"""

from __future__ import annotations

import os
from pathlib import Path

from mnist_tui.files import write_atomically
from mnist_tui.insight.layer_records import LayerStatsRecord
from mnist_tui.runfolder.names import LAYERS_NAME
from mnist_tui.runfolder.reader import Rows, read_rows


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


def read_layer_stats(run_dir: Path) -> Rows:
    """The valid records in epoch order (the later of two rows of an epoch) and what was skipped;
    no file: no records."""
    rows = read_rows(layers_path(run_dir), LayerStatsRecord.from_dict)
    by_epoch = {record.epoch: record for record in rows.records}
    rows.records = [by_epoch[epoch] for epoch in sorted(by_epoch)]
    return rows


def truncate_layer_stats(run_dir: Path, keep_epochs: int, source: Path | None = None) -> int:
    """Keep only the valid rows of epochs ≤ ``keep_epochs`` (invalid lines go too), read from
    ``source`` (another run folder: a resume into a new one) or ``run_dir``; returns how many rows
    remain. No file: nothing to do (0)."""
    source = source or run_dir
    if not layers_path(source).exists():
        return 0
    kept = [record for record in read_layer_stats(source).records if record.epoch <= keep_epochs]
    text = "".join(record.to_json() + "\n" for record in kept).encode()
    write_atomically(layers_path(run_dir), lambda f: f.write(text))
    return len(kept)
