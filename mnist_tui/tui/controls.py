"""Training controls of the dashboard: start, pause, resume, quit, save, and signals.

A mixin of :class:`MnistApp`, kept apart so the app module stays about layout and messages.
The trainer is only ever steered through its thread-safe ``TrainingControl``.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

from textual import work


class TrainingControlsMixin:
    """Needs from the app: ``control``, ``state``, ``started``, ``loaded``, ``launch_trainer``,
    ``replay``, ``config``, ``trainer``, ``result``, ``_set_state`` and Textual's ``exit``/``notify``."""

    # SIGTERM and SIGHUP (a closed terminal) quit like q: training stops within a batch, the
    # terminal is restored, finished epochs stay saved. Exit codes match the headless run.
    STOP_SIGNALS = {signal.SIGTERM: 143, signal.SIGHUP: 129}

    def _watch_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for signum, code in self.STOP_SIGNALS.items():
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, self._quit_on_signal, code)

    def _quit_on_signal(self, code: int) -> None:
        self.quitting = True
        self.control.stop()
        self.exit(code)

    def on_unmount(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in self.STOP_SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signum)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        live = self.state not in ("finished", "stopped", "failed", "stopping")
        if action in ("start", "pause", "resume", "save") and self.replay is not None:
            return False
        if action == "start":
            return live and not self.started and self.launch_trainer
        if action == "pause":
            return live and self.started and not self.control.paused
        if action == "resume":
            return live and self.started and self.control.paused
        return True

    def action_start(self) -> None:
        self.started = True
        self.control.resume()
        self._set_state("training" if self.loaded else "loading", "" if self.loaded else "starts once loaded")

    def action_pause(self) -> None:
        self.control.pause()
        self._set_state("paused" if self.loaded else "loading", "" if self.loaded else "paused once loaded")

    def action_resume(self) -> None:
        self.control.resume()
        self._set_state("training" if self.loaded else "loading")

    def action_toggle_training(self) -> None:
        for action in ("start", "pause", "resume"):
            if self.check_action(action, ()):
                getattr(self, f"action_{action}")()
                return
        self.notify(f"training is {self.state}", timeout=3)

    async def action_quit(self) -> None:
        self.quitting = True
        self.control.stop()  # the loop sees it within one batch, also while paused
        self.exit(self._exit_code())

    def _exit_code(self) -> int:
        if self.state == "failed":
            from mnist_tui.errors import UserError

            error = getattr(self.result, "error", None) or getattr(self, "result_error", None)
            return 2 if isinstance(error, UserError) else 1
        return 0

    def action_save(self) -> None:
        if self.config.run_dir is None:
            self.notify("this run keeps nothing on disk (no run folder)", timeout=4)
        elif self.trainer is None:
            self.notify("nothing to save yet: training has not loaded", timeout=4)
        else:
            self._save_now(self.trainer)

    @work(thread=True, group="save", exit_on_error=False)
    def _save_now(self, trainer) -> None:
        """The write (with fsync) runs off the UI thread; the trainer serialises it with its own saves."""
        try:
            saved = trainer.save_now()
        except OSError as exc:
            self.call_from_thread(self.notify, f"could not save: {exc}", severity="error", timeout=10)
            return
        if saved is None:
            text = "nothing to save yet: the first checkpoint is written when epoch 1 ends"
        else:
            text = f"saved epoch {saved[0]} to {saved[1]} (checkpoints hold whole epochs)"
        self.call_from_thread(self.notify, text, timeout=6)
