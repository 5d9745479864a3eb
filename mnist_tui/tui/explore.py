"""Exploring what the model learned: draw a digit, the confusion drill-down, browser orders, replay.

A mixin for :class:`mnist_tui.tui.app.MnistApp`, so the dashboard's own module stays about
training. Textual calls message handlers of every class in the app's MRO, so the
``on_*`` handlers here run beside the app's own (after them).

The drawing screen predicts with :attr:`snapshot`, a private CPU copy of the network. The
trainer's listener refreshes it on the training thread when an epoch's predictions are
reported (between epochs, so the weights are not moving while copied); a replay loads it
from the checkpoint. Drawing therefore never touches, pauses or slows the model in training.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
from textual.app import SystemCommand
from textual.binding import Binding

from mnist_tui.drawing import ModelSnapshot
from mnist_tui.predictions_order import ORDERS, confusion_cell, next_order, ordering
from mnist_tui.training.events import Predictions
from mnist_tui.tui import messages as msg
from mnist_tui.tui.screens.confusion import ConfusionScreen
from mnist_tui.tui.screens.draw import DrawScreen
from mnist_tui.tui.views import from_ordering

EXPLORE_BINDINGS = [
    Binding("d", "draw", "Draw"),
    Binding("x", "confusion", "Confusion"),
    Binding("o", "cycle_order", "Order"),
]


def _ordered(probabilities: np.ndarray, labels: np.ndarray, name: str, digit: int):
    return ordering(name, probabilities, labels, digit=digit)


class ExploreMixin:
    replay: Any = None  # a mnist_tui.replay.ReplayRequest: show a recorded run, do not train

    # -- state, made on first use (the app's __init__ stays the dashboard's) -------------------

    @property
    def snapshot(self) -> ModelSnapshot:
        if getattr(self, "_snapshot", None) is None:
            self._snapshot = ModelSnapshot()
        return self._snapshot

    @property
    def browse_order(self) -> tuple[str, int]:
        return getattr(self, "_browse_order", ("index", 0))

    def snapshot_listener(self, listener: Callable, model: Callable[[], Any]) -> Callable:
        """Wrap the trainer's listener: copy the model for drawing when an epoch is evaluated.

        Runs on the training thread, before the UI hears of the epoch, so a draw screen
        refreshed by the message already predicts with the new weights.
        """

        def listen(event) -> None:
            if isinstance(event, Predictions):
                try:
                    self.snapshot.update_from(model(), event.epoch)
                except Exception:  # drawing is a bonus: it must never fail the training run
                    pass
            listener(event)

        return listen

    def run_replay(self, listener: Callable):
        """In the worker thread: load the recorded run, then report it like the trainer would."""
        from mnist_tui.replay import Replayer

        record, config = self.replay.open()
        self._replay_epochs = config.epochs  # the run's plan, for the progress bars
        if record.model_state is not None:
            self.snapshot.update(record.model_state, record.epoch)
        return Replayer(record, config, listener).run()

    # -- messages (the app's own handlers run first) ----------------------------------------------

    def on_trainer_loaded(self, message: msg.TrainerLoaded) -> None:
        """A replay: progress against the run's own plan (epoch 3/3 done, not 4/10 to go)."""
        planned = getattr(self, "_replay_epochs", None)
        if self.replay is None or planned is None:
            return
        progress = self.progress
        progress.epochs = max(planned, progress.epochs_done)
        progress.epoch = min(progress.epochs_done + 1, progress.epochs)
        if progress.epochs_done >= progress.epochs:
            progress.batch = progress.batches_per_epoch
        self._show_progress()

    def on_predictions_ready(self, message: msg.PredictionsReady) -> None:
        e = message.event
        self._confusion = (e.confusion, e.epoch)
        for screen in self.screen_stack:
            if isinstance(screen, ConfusionScreen):
                screen.set_confusion(e.confusion, e.epoch)
            elif isinstance(screen, DrawScreen):
                screen.refresh_guess()

    def on_mount(self) -> None:
        server = os.environ.get("MNIST_TUI_SERVER_PID")  # set by mnist_tui.serve for its sessions
        if server and server.isdigit():
            self.set_interval(2.0, lambda: self._exit_if_gone(int(server)))

    def _exit_if_gone(self, pid: int) -> None:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            self.control.stop()
            self.exit()
        except PermissionError:
            pass

    def on_unmount(self) -> None:
        """Every way out stops the trainer, not only ``q``: a browser tab closed under
        ``--serve`` exits through the web driver, and a worker left paused would keep
        the session's process alive for ever (asyncio waits for its thread)."""
        self.control.stop()

    # -- actions ---------------------------------------------------------------------------

    def action_draw(self) -> None:
        if isinstance(self.screen, DrawScreen):
            return
        self.push_screen(
            DrawScreen(self.snapshot, self._model_note, getattr(self, "_drawing", None)),
            self._keep_drawing,
        )

    def _keep_drawing(self, grid: np.ndarray | None) -> None:
        self._drawing = grid

    def _model_note(self) -> str:
        epoch = self.snapshot.epoch
        source = "the replayed checkpoint" if self.replay is not None else "the model"
        return f"{source} after epoch {epoch}" if epoch is not None else source

    def action_confusion(self) -> None:
        if isinstance(self.screen, ConfusionScreen):
            return
        confusion, epoch = getattr(self, "_confusion", (None, None))
        cell = getattr(self, "_cell", None)
        self.push_screen(ConfusionScreen(confusion, epoch, cell), self._browse_cell)

    def _browse_cell(self, cell: tuple[int, int] | None) -> None:
        if cell is None:
            return
        self._cell = cell
        view = self._show_from_start(from_ordering(confusion_cell, *cell))
        if view is not None and not len(view.indices):
            self.notify(f"no test digit is a true {cell[0]} predicted as {cell[1]}", timeout=4)

    def action_cycle_order(self) -> None:
        """Next order; a confusion-cell filter is left for the first order."""
        name, digit = self.browse_order
        if getattr(self, "_cell", None) is not None:
            self._cell = None
            name, digit = "index", 0
        else:
            name, digit = next_order(name, digit)
        self._browse_order = (name, digit)
        self._show_from_start(from_ordering(_ordered, name, digit))

    def _show_from_start(self, builder):
        """A new order or filter starts at its first digit (the hardest, the most confident...)."""
        view = self.show_view(builder)
        if view is not None and len(view.indices):
            self.predictions.move_to(0)
        return view

    def get_system_commands(self, screen):
        yield from super().get_system_commands(screen)
        yield SystemCommand("Draw a digit", "Draw and see the model's guess live (d)", self.action_draw)
        yield SystemCommand("Confusion matrix", "Pick a cell to browse those digits (x)", self.action_confusion)
        yield SystemCommand("Browser order", f"Cycle {' → '.join(ORDERS)} (o)", self.action_cycle_order)
