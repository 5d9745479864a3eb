"""Words a person reads, counted: "1 epoch", "3 epochs" ("3 epoch(s)" read as a form, "1 rows" as a slip)."""

from __future__ import annotations


def counted(n: int, noun: str) -> str:
    """``1 run``, ``3 runs``, ``10,000 digits``: nouns whose plural takes an s."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
