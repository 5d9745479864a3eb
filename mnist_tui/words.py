"""Words a person reads, counted: "1 epoch", "3 epochs" ("3 epoch(s)" read as a form, "1 rows" as a slip)."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str = "") -> str:
    """``1 run``, ``3 runs``, ``10,000 digits``; ``plural`` for the others ("batches")."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def planned(epochs: int, last_fraction: float = 1.0) -> str:
    """The epochs a plan trains, as a number: "3"; sprint's "2.5" (3 epochs, the last one half)."""
    return str(epochs) if last_fraction >= 1 else format(epochs - 1 + last_fraction, "g")


def plan_epochs(epochs: int, last_fraction: float = 1.0) -> str:
    """ "1 epoch", "3 epochs", sprint's "2.5 epochs"."""
    return counted(epochs, "epoch") if last_fraction >= 1 else f"{planned(epochs, last_fraction)} epochs"


def epochs_trained(done: int, planned_epochs: int, last_fraction: float = 1.0) -> str:
    """ "2 epochs"; "2.5 epochs" once a plan whose last epoch is half has trained it (sprint's
    run said "finished after 3 epochs" where the README promised 2.5)."""
    return plan_epochs(planned_epochs, last_fraction) if done >= planned_epochs else counted(done, "epoch")


def epoch_part(epoch: int, planned_epochs: int, last_fraction: float = 1.0) -> str:
    """ " (half)" beside the plan's last epoch when the plan trains only part of it, else ""."""
    if epoch != planned_epochs or last_fraction >= 1:
        return ""
    return " (half)" if last_fraction == 0.5 else f" ({last_fraction:.0%} of it)"
