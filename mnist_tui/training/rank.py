"""The rank torchrun gave this process, without importing torch (the dashboard's first frame
comes before torch loads: the command line asks this before anything heavy)."""

from __future__ import annotations

import os


def environment_rank() -> int:
    """0 without torchrun (or for its rank 0)."""
    return int(os.environ.get("RANK", "0") or 0)
