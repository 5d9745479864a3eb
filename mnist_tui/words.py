"""Words a person reads, counted: "1 epoch", "3 epochs" ("3 epoch(s)" read as a form, "1 rows" as a slip)."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str = "") -> str:
    """``1 run``, ``3 runs``, ``10,000 digits``; ``plural`` for the others ("batches")."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
