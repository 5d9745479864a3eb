"""The one interface every face consumes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from mnist_tui.training.events import Listener, RunResult


@dataclass(frozen=True)
class Capabilities:
    """What a source can do; the faces show keys and states from this alone."""

    start: bool = False  # holds at the first batch until start() (a local trainer at launch)
    pause: bool = False  # pause() / resume() act on the run itself
    stop: bool = False  # stop() ends the run (a local trainer, or a followed writer)
    save: bool = False  # save_now() writes a checkpoint
    live: bool = False  # events keep coming after the first screenful (not a replay)
    steer: bool = False  # steer_lr() and add_epochs() change the run as it trains
    extend: bool = False  # add_epochs() on an ended run trains it further here: run() again
    local: bool = False  # trains in this process: the machine line's figures are the run's own


@runtime_checkable
class RunSource(Protocol):
    capabilities: Capabilities
    run_dir: Path | None
    title: str  # what the source shows, for headers ("training", "replay", "following")

    def run(self, listener: Listener) -> RunResult:
        """Report events to ``listener`` until the run ends or :meth:`close`; blocking (a worker thread)."""

    def start(self) -> None: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def stop(self) -> None:
        """End the run itself (the writer, for a follower)."""

    def close(self) -> None:
        """Stop reporting: a trainer stops training, a follower only stops following."""

    def save_now(self) -> tuple[int, Path] | None: ...

    def steer_lr(self, factor: float) -> None:
        """The learning rate × ``factor`` from the next batch, on top of the schedule."""

    def add_epochs(self, epochs: int) -> None:
        """Train ``epochs`` more (with ``capabilities.extend``, also after the run ended)."""


class PassiveSource:
    """Defaults for a source that cannot be steered (replay)."""

    capabilities = Capabilities()

    def start(self) -> None:
        pass

    def pause(self) -> None:
        pass

    def resume(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def save_now(self) -> tuple[int, Path] | None:
        return None

    def steer_lr(self, factor: float) -> None:
        pass

    def add_epochs(self, epochs: int) -> None:
        pass
