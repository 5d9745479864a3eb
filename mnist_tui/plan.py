"""The epochs a run plans, and how a person reads them: one value both faces keep.

A plan is whole epochs, of which the last may train only a share of the data: ``--recipe
sprint`` plans 3 epochs, the last one half, and is read as 2.5 ("3" read as three whole ones).
Epochs added later (``a``, ``--epochs``, the form) are whole ones (``Config.with_epochs``), so a
plan that grows becomes whole again. The headless reporter and the dashboard's ``RunProgress``
each tracked this as two fields set in the same three places; they hold a :class:`Plan` now.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mnist_tui.config import last_epoch_fraction_of
from mnist_tui.words import counted


@dataclass(frozen=True)
class Plan:
    epochs: int = 0
    last_fraction: float = 1.0  # the share of the last epoch it trains (sprint: 0.5)

    @classmethod
    def of(cls, epochs: int, settings: Any) -> Plan:
        """A run's plan from its epochs and settings (a DataReady's, a run folder's config)."""
        return cls(epochs, last_epoch_fraction_of(settings))

    @property
    def partial(self) -> bool:
        return self.last_fraction < 1

    @property
    def length(self) -> float:
        """In epochs of data: 3 whole ones 3.0, sprint's 2.5; 0 before there is a plan."""
        return self.epochs - 1 + self.last_fraction if self.epochs else 0.0

    @property
    def number(self) -> str:
        """ "3"; sprint's "2.5"."""
        return format(self.length, "g") if self.partial else str(self.epochs)

    def __str__(self) -> str:
        """ "1 epoch", "3 epochs", sprint's "2.5 epochs"."""
        return f"{self.number} epochs" if self.partial else counted(self.epochs, "epoch")

    def share_of(self, epoch: int) -> float:
        """How much of ``epoch``'s data the plan trains: 1 but for a partial last epoch."""
        return self.last_fraction if epoch == self.epochs else 1.0

    def part(self, epoch: int) -> str:
        """ " (half)" beside the plan's last epoch when it trains only part of it, else ""."""
        if epoch != self.epochs or not self.partial:
            return ""
        return " (half)" if self.last_fraction == 0.5 else f" ({self.last_fraction:.0%} of it)"

    def of_epoch(self, epoch: int) -> str:
        """The plan beside an epoch's number: "3", or "3 (half)" for sprint's last."""
        return f"{self.epochs}{self.part(epoch)}"

    def trained(self, done: int) -> str:
        """ "2 epochs"; "2.5 epochs" once a partial plan has trained its last epoch (sprint's run
        said "finished after 3 epochs" where the README promised 2.5)."""
        return str(self) if done >= self.epochs else counted(done, "epoch")
