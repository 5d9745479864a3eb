"""Small writes that a reader never sees half-done (no torch here: followers and the workspace
read and write run folders without loading it)."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_text_atomically(path: Path, text: str, durable: bool = True) -> None:
    """Temporary file in the same folder, then ``os.replace``: a reader sees the old or the new
    file, never a mix. ``durable`` also fsyncs (the heartbeat skips it: it is rewritten each second)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def write_json_atomically(path: Path, value: Any, durable: bool = True) -> None:
    write_text_atomically(path, json.dumps(value, indent=1) + "\n", durable)


def jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, separators=(",", ":")) + "\n" for row in rows)
