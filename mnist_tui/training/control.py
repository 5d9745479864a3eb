"""A small thread-safe control the training loop obeys: pause, resume, stop."""

from __future__ import annotations

import threading

from mnist_tui.config import MAX_EPOCHS

# Steering's bounds on the lr scale (20 halvings or doublings): control.json refuses others
LR_SCALE_MIN, LR_SCALE_MAX = 2.0**-20, 2.0**20


class TrainingControl:
    """Shared between the thread that trains and the one that steers.

    The loop calls :meth:`wait_while_paused` once per batch: it returns at once while running,
    blocks without spinning while paused, and returns ``False`` once stop is asked.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._paused = False
        self._stopped = False
        self.lr_scale = 1.0  # on top of the schedule, from the next batch (+ and - in the dashboard)
        self.asked = 1.0  # the factors asked since the scale a checkpoint holds (see continue_from)
        self.target_epochs: int | None = None  # a new plan, taken at the next epoch boundary

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def stopped(self) -> bool:
        return self._stopped

    def pause(self) -> None:
        with self._cond:
            self._paused = True

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def scale_lr(self, factor: float) -> float:
        """Multiply the learning rate by ``factor`` from the next batch; returns the new scale.

        Under the lock, as every change of the scale: the dashboard's request thread, a follower's
        control.json (read on the training thread) and a resume's load may change it at once."""
        with self._cond:
            self.lr_scale = min(max(self.lr_scale * factor, LR_SCALE_MIN), LR_SCALE_MAX)
            self.asked *= factor
            return self.lr_scale

    def set_lr_scale(self, scale: float) -> None:
        """A follower's asked scale (control.json has checked its bounds)."""
        with self._cond:
            self.lr_scale = scale

    def continue_from(self, saved_scale: float) -> None:
        """A resumed run's scale: the checkpoint's, times what was asked while it loaded (a `+`
        then was lost: the checkpoint's scale was put over it)."""
        with self._cond:
            self.lr_scale = min(max(saved_scale * self.asked, LR_SCALE_MIN), LR_SCALE_MAX)
            self.asked = 1.0

    def set_epochs(self, epochs: int) -> None:
        """Train to ``epochs`` in all (more, or a finished run further), at most the configuration's
        MAX_EPOCHS: `a` took a plan past it, one the configuration refuses, whose rows past it every
        reader skips as damaged."""
        self.target_epochs = min(max(1, int(epochs)), MAX_EPOCHS)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def wait_while_paused(self, on_pause=None, on_resume=None) -> bool:
        """Block while paused. Return False if stop was asked (before or while paused).

        ``on_pause`` and ``on_resume`` run outside the lock: they write status.json and tell the
        face, and a space, + or stop from the UI thread waited for them (on a slow disk, seconds).
        A pause is said before it is waited on, and a pause that was said is followed by its resume."""
        if not self._paused:  # fast path: no lock per batch while running
            return not self._stopped
        said = False
        while True:
            with self._cond:
                while said and self._paused and not self._stopped:
                    self._cond.wait()
                if self._stopped or not self._paused:
                    break
            if on_pause is not None:  # paused and not said yet (a resume and a new pause meanwhile)
                on_pause()
            said = True
        if said and not self._stopped and on_resume is not None:
            on_resume()
        return not self._stopped
