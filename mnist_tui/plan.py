"""The epochs a run plans, and how a person reads them: one value both faces keep.

A plan is whole epochs, of which one may train only a share of the data: ``--recipe sprint``
plans 3 epochs, the last one half, and is read as 2.5 ("3" read as three whole ones). Epochs
added later (``a``, ``--epochs``, the form) are whole ones (``Config.with_epochs``): added
before the partial epoch trains, they make it whole; added after it trained (``a`` on a finished
sprint), it stays the half it was, and 5 more make 7.5, not 8. The headless reporter and the
dashboard's ``RunProgress`` each tracked this as two fields set in the same three places; they
hold a :class:`Plan` now.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from mnist_tui.config import last_epoch_fraction_of
from mnist_tui.words import counted

if TYPE_CHECKING:
    from mnist_tui.training.events import EpochRecord


@dataclass(frozen=True)
class Plan:
    epochs: int = 0
    share: float = 1.0  # the share of ``partial_epoch``'s data it trains (sprint: 0.5)
    partial_epoch: int = 0  # the epoch that trains only ``share``; 0: none

    @classmethod
    def of(cls, epochs: int, settings: Any, history: Sequence[EpochRecord] = (), train_size: int = 0) -> Plan:
        """A run's plan from its epochs and settings (a DataReady's, a run folder's config; a
        damaged share reads as whole epochs), and the epochs it trained: see :meth:`planned`."""
        return cls.planned(epochs, last_epoch_fraction_of(settings), history, train_size)

    @classmethod
    def planned(
        cls, epochs: int, last_fraction: float, history: Sequence[EpochRecord] = (), train_size: int = 0
    ) -> Plan:
        """``epochs``, the last training ``last_fraction`` of the data (a ``Config``'s), unless the
        epochs it trained (``history``, of ``train_size`` samples each) say otherwise: a finished
        sprint resumed with ``--epochs 4`` or given 5 more has a whole last epoch in its settings,
        and only its rows say that epoch 3 trained half the data (it read "3.5" as "4 epochs")."""
        for row in history:  # under torchrun a whole epoch leaves out a remainder of < world_size samples
            if row.samples is not None and 0 < row.samples <= train_size - row.world_size:
                return cls(max(epochs, row.epoch), round(row.samples / train_size, 2), row.epoch)
        return cls(epochs, last_fraction, epochs) if last_fraction < 1 else cls(epochs)

    @classmethod
    def in_checkpoint(cls, epochs: int, last_fraction: float, history_rows: Sequence[dict[str, Any]]) -> Plan:
        """:meth:`planned` from a checkpoint's history rows, before any data is loaded (``--resume``
        refusing a finished run): a whole epoch's samples are the most any row trained. The rows
        are read as every resume reads them (torch is loaded already, with the checkpoint)."""
        from mnist_tui.training.resume import history_from_checkpoint

        history = history_from_checkpoint(history_rows)
        whole = max((row.samples or 0 for row in history), default=0)
        return cls.planned(epochs, last_fraction, history, whole)

    def extended_to(self, epochs: int, done: int) -> Plan:
        """The plan after epochs were added with ``done`` epochs trained (a PlanChanged)."""
        return replace(self, epochs=epochs) if self.partial and done >= self.partial_epoch else Plan(epochs)

    def change_to(self, epochs: int, done: int) -> str:
        """A change of plan as ``steering.jsonl`` and the plot's mark say it: "epochs 3 → 8";
        "epochs 2.5 → 7.5" after sprint's half epoch (its "3 → 8" counted that half as whole)."""
        return f"epochs {self.number} → {self.extended_to(epochs, done).number}"

    @property
    def partial(self) -> bool:
        return self.share < 1 and self.partial_epoch > 0

    def trained_length(self, done: int) -> float:
        """Epochs of data in the first ``done`` epochs: 3 for 3, 2.5 for sprint's 3."""
        return done - (1 - self.share) if self.partial and done >= self.partial_epoch else float(done)

    @property
    def length(self) -> float:
        """Epochs of data in the plan: 3 whole ones 3.0, sprint's 2.5; 0 before there is a plan."""
        return self.trained_length(self.epochs)

    @property
    def number(self) -> str:
        """ "3"; sprint's "2.5"."""
        return format(self.length, "g") if self.partial else str(self.epochs)

    def __str__(self) -> str:
        """ "1 epoch", "3 epochs", sprint's "2.5 epochs"."""
        return f"{self.number} epochs" if self.partial else counted(self.epochs, "epoch")

    def share_of(self, epoch: int) -> float:
        """How much of ``epoch``'s data the plan trains: 1 but for its partial epoch."""
        return self.share if self.partial and epoch == self.partial_epoch else 1.0

    def part(self, epoch: int) -> str:
        """ " (half)" beside the partial epoch's number, else ""."""
        share = self.share_of(epoch)
        if share >= 1:
            return ""
        return " (half)" if share == 0.5 else f" ({share:.0%} of it)"

    def of_epoch(self, epoch: int) -> str:
        """The plan beside an epoch's number: "3", or "3 (half)" for sprint's last."""
        return f"{self.epochs}{self.part(epoch)}"

    def trained(self, done: int) -> str:
        """ "2 epochs"; "2.5 epochs" once the partial epoch is trained (sprint's run said "finished
        after 3 epochs" where the README promised 2.5)."""
        if self.partial and done >= self.partial_epoch:
            return f"{self.trained_length(done):g} epochs"
        return counted(done, "epoch")
