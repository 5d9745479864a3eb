"""Small writes that a reader never sees half-done (no torch here: followers and the workspace
read and write run folders without loading it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mnist_tui.files import write_atomically


def write_text_atomically(path: Path, text: str, durable: bool = True, new: bool = False) -> None:
    """Text through :func:`mnist_tui.files.write_atomically`: a reader sees the old or the new file,
    never a mix. ``durable`` also fsyncs (the heartbeat skips it: it is rewritten each second);
    ``new`` never replaces a file (FileExistsError)."""
    data = text.encode("utf-8")
    write_atomically(path, lambda f: f.write(data), durable, new)


def write_json_atomically(path: Path, value: Any, durable: bool = True) -> None:
    write_text_atomically(path, json.dumps(value, indent=1) + "\n", durable)


def jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, separators=(",", ":")) + "\n" for row in rows)
