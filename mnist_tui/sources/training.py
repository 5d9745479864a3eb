"""The local trainer as a run source: trains in this process (a worker thread or the main one)."""

from __future__ import annotations

import threading
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from mnist_tui.config import Config
from mnist_tui.sources.base import Capabilities
from mnist_tui.training.control import TrainingControl
from mnist_tui.training.events import Listener, RunResult
from mnist_tui.training.rank import environment_rank


class TrainingSource:
    title = "training"

    def __init__(
        self,
        config: Config,
        resume_state: dict[str, Any] | None = None,
        datasets: Any = None,
        hold: bool = False,
        world: Any = None,
        tensorboard: bool = False,
        logs_from: Path | None = None,
    ) -> None:
        """``hold``: load, then wait at the first batch for :meth:`start` (the dashboard's space).
        ``logs_from``: the run folder ``resume_state`` was saved in (its earlier epochs' logs)."""
        self.logs_from = logs_from
        self.config = config
        self.run_dir: Path | None = config.run_dir
        self.resume_state = resume_state
        self.datasets = datasets
        self.world = world
        self.tensorboard = tensorboard  # also write TensorBoard event files (the tensorboard extra)
        self.control = TrainingControl()
        if hold:
            self.control.pause()
        self.capabilities = Capabilities(
            start=hold,
            pause=True,
            stop=True,
            save=config.run_dir is not None,
            live=True,
            steer=True,
            extend=True,
            local=True,
        )
        self.trainer = None
        self.planned = config.epochs
        # held while run() runs: Finished is told before the trainer has closed its run folder, and
        # `a` at once (add_epochs) must not set up the next run until this one has let go of it
        self._running = threading.Lock()
        self.closed = False  # its screen or the app closed it: `a` asked meanwhile trains nothing

    def run(self, listener: Listener) -> RunResult:
        from mnist_tui.training.loop import Trainer  # torch loads here: after a dashboard's first frame

        with self._running:
            board = None
            if self.tensorboard and self.run_dir is not None and environment_rank() == 0:
                from mnist_tui.workspace.tensorboard_events import TensorBoardListener

                listener = board = TensorBoardListener(self.run_dir, self.config.to_dict(), forward=listener)
            trainer = self.trainer = Trainer(
                self.config, listener, self.control, self.resume_state, self.datasets, self.world, self.logs_from
            )
            try:
                result = trainer.run()
            finally:
                if board is not None:
                    board.close()
            self.planned = trainer.config.epochs
            return result

    def start(self) -> None:
        self.control.resume()

    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    def stop(self) -> None:
        self.control.stop()

    def close(self) -> None:
        self.closed = True
        self.control.stop()  # the loop sees it within one batch, also while paused

    def steer_lr(self, factor: float) -> None:
        self.control.scale_lr(factor)

    def add_epochs(self, epochs: int) -> None:
        """More epochs: taken at the next epoch boundary while training; after the run ended,
        the next :meth:`run` continues it from its last checkpoint, in the same folder."""
        trainer = self.trainer
        ended = trainer is not None and trainer.finished  # once: it may turn True meanwhile
        with self._running if ended else nullcontext():  # an ended run's run() has returned
            if not self.closed:  # a quit while this waited: nothing more to train
                self._add_epochs(trainer if ended else None, epochs)

    def _add_epochs(self, ended, epochs: int) -> None:
        """``ended``: the finished trainer to continue; None while training (taken at an epoch's end)."""
        trainer = ended or self.trainer
        planned = self.control.target_epochs or (trainer.config.epochs if trainer is not None else self.planned)
        fresh = ended is not None and self.control.stopped
        if fresh:  # `a`, S S, then `a`: the stop of a run that trained nothing ended nothing (the
            self.control = TrainingControl()  # scale in force comes back with the checkpoint, as for every resume)
        self.control.set_epochs(planned + epochs)
        if ended is not None:
            import io

            import torch

            done, data = ended.saved_state
            self.resume_state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
            # the checkpoint holds the scale its last epoch trained with: a `+` during that epoch's
            # test set or since the end is asked on top of it (the resume's continue_from)
            saved_scale = float(self.resume_state.get("lr_scale", 1.0))
            self.control.asked = 1.0 if fresh else self.control.lr_scale / saved_scale
            self.logs_from = None  # its own folder holds them now
            # the plan it finished; the longer one is a steering change the trainer takes (and
            # records in steering.jsonl) at its first epoch boundary, as while training
            self.config = ended.config
            self.datasets = self.datasets or ended.data
            self.trainer = None

    def save_now(self) -> tuple[int, Path] | None:
        """Safe from any thread; None before the first epoch (or before torch loaded)."""
        trainer = self.trainer  # read once: `a` on a finished run sets it to None from another thread
        return trainer.save_now() if trainer is not None else None
