"""Follow a run folder that another process writes (a headless run, another dashboard, torchrun).

The follower polls the folder four times a second (:class:`~mnist_tui.sources.watch.RunWatch`,
off the UI thread): what the writer wrote becomes the same events the trainer reports.
Steering writes ``control.json``, which the writer's keeper thread reads; a request keeps what
one the writer has not yet taken asked.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mnist_tui.config import Config
from mnist_tui.errors import UserError
from mnist_tui.runfolder.atomic import write_json_atomically
from mnist_tui.runfolder.layout import (
    CONTROL_NAME,
    ControlRequest,
    RunStatus,
)
from mnist_tui.runfolder.reader import (
    read_control,
    read_info,
    read_metrics,
    read_status,
)
from mnist_tui.schema import RecordError
from mnist_tui.sources.base import Capabilities
from mnist_tui.sources.recorded import dataset_option, load_test_data, ready_event, with_resolved
from mnist_tui.sources.watch import RunWatch
from mnist_tui.training.control import LR_SCALE_MAX, LR_SCALE_MIN
from mnist_tui.training.events import (
    Failed,
    Listener,
    RunResult,
    StateChanged,
)

POLL_S = 0.25


STEERING_WAIT_S = 2.0


def _lock_folder(fd: int) -> None:
    """``flock`` the open folder ``fd``, waiting at most ``STEERING_WAIT_S``; quietly not at all
    where there are no advisory locks (the UI thread asks: it must never hang here)."""
    try:
        import fcntl
    except ImportError:  # Windows
        return
    deadline = time.monotonic() + STEERING_WAIT_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return
            time.sleep(0.005)
        except OSError:  # ENOLCK, EOPNOTSUPP: a file system without locks
            return


class FollowSource:
    title = "following"
    capabilities = Capabilities(pause=True, stop=True, live=True, steer=True)

    def __init__(
        self,
        run_dir: Path,
        make_config: Callable[[dict[str, Any] | None], Config],
        datasets: Any = None,
        until_ended: bool = False,
        poll_s: float = POLL_S,
        model_views: bool = True,
        eval_threads: int | None = None,
    ) -> None:
        """``until_ended``: return once the run finishes, stops, fails or is lost (headless).
        ``model_views``: evaluate each new checkpoint for predictions and weights (the dashboard);
        a headless follower shows neither, and evaluating cost the writer beside it its speed."""
        self.run_dir: Path | None = Path(run_dir)
        self.make_config = make_config
        self.datasets = datasets
        self.until_ended = until_ended
        self.poll_s = poll_s
        self.model_views = model_views
        self.eval_threads = eval_threads  # torch's threads for evaluating: set process-wide, so only
        # where this process trains nothing (``--follow``), never in an app that may train next
        self._closed = threading.Event()
        self._control_lock = threading.RLock()
        self._steering_fd: int | None = None

    # -- steering: the writer reads control.json -----------------------------------------------

    @contextlib.contextmanager
    def _steering(self):
        """One request at a time: this follower's threads (a lock), and across processes every
        follower of the folder (``flock`` on the run folder itself: no file is added, and the
        writer's ``.lock`` is another). Two followers that each read request N and wrote N + 1
        lost one of the two (the writer takes each seq once), and two "+" doubled once.
        Re-entrant. Best effort: without advisory locks (Windows, some network file systems) or
        past ``STEERING_WAIT_S`` behind a peer that holds it (stopped, hung), it steers without."""
        with self._control_lock:
            if self._steering_fd is not None:
                yield
                return
            try:
                self._steering_fd = os.open(self.run_dir, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
            except OSError:
                yield
                return
            try:
                _lock_folder(self._steering_fd)  # held for small reads and a write
                yield
            finally:
                os.close(self._steering_fd)  # releases it
                self._steering_fd = None

    def _pending(self) -> tuple[ControlRequest | None, ControlRequest | None, RunStatus | None]:
        """(the request in control.json, that request while the writer has not taken it yet
        (status.json's ``control_seq`` is older), the status): what a new request builds on.
        An unreadable status (damaged, a newer writer's) merges nothing: a stop must still go."""
        earlier = read_control(self.run_dir)
        try:
            status = read_status(self.run_dir)
        except (RecordError, UserError):
            return earlier, None, None
        taken = status.control_seq if status is not None else 0
        return earlier, (earlier if earlier is not None and earlier.seq > taken else None), status

    def _request(
        self, paused: bool | None = None, stop: bool = False, lr_scale: float | None = None, epochs: int | None = None
    ) -> None:
        """Write the next request, keeping what a request not yet taken asked: the writer reads
        control.json 4 times a second, and "space +" within that time lost the pause."""
        with self._steering():
            earlier, pending, status = self._pending()
            if pending is not None:
                paused = pending.paused if paused is None else paused
                stop = stop or pending.stop
                lr_scale = pending.lr_scale if lr_scale is None else lr_scale
                epochs = pending.epochs if epochs is None else epochs
            # above the writer's too: a request it could not read (or none) must not restart the count
            taken = status.control_seq if status is not None else 0
            seq = max(earlier.seq if earlier is not None else 0, taken) + 1
            request = ControlRequest(seq, paused, stop, lr_scale, epochs)
            write_json_atomically(self.run_dir / CONTROL_NAME, request.to_json())

    def start(self) -> None:
        self._request(paused=False)

    def pause(self) -> None:
        self._request(paused=True)

    def resume(self) -> None:
        self._request(paused=False)

    def stop(self) -> None:
        self._request(stop=True)

    def steer_lr(self, factor: float) -> None:
        """× ``factor`` on the scale asked last (a request not yet taken), else the writer's."""
        with self._steering():  # re-entrant: _request takes it too
            _, pending, status = self._pending()
            asked = pending.lr_scale if pending is not None else None
            scale = asked if asked is not None else (status.lr_scale if status is not None else 1.0)
            self._request(lr_scale=min(max(scale * factor, LR_SCALE_MIN), LR_SCALE_MAX))  # the schema's bounds

    def add_epochs(self, epochs: int) -> None:
        """``epochs`` more than the plan asked last (a request not yet taken), else the writer's."""
        with self._steering():
            _, pending, status = self._pending()
            if status is None:
                return
            asked = pending.epochs if pending is not None else None
            self._request(epochs=(asked if asked is not None else status.epochs) + epochs)

    def close(self) -> None:
        self._closed.set()  # the writer trains on

    def save_now(self) -> tuple[int, Path] | None:
        return None

    # -- following -------------------------------------------------------------------------------

    def run(self, listener: Listener) -> RunResult:
        result = RunResult()
        try:
            self._follow(listener, result)
        except Exception as exc:  # every failure is an event, never a dead worker
            result.error = exc
            listener(Failed(str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}", 0))
        return result

    def _wait_for_run(self, listener: Listener):
        said = False
        while not self._closed.is_set():
            try:
                info = read_info(self.run_dir)
            except RecordError as exc:  # "damaged" was wrong for a newer program's folder
                raise UserError(f"{self.run_dir}/run.json cannot be followed: {exc}") from None
            if info is not None and info.train_size:  # the writer has loaded its data
                return info
            if not said:
                said = True
                listener(StateChanged("waiting", self._waiting_for(info)))
            self._closed.wait(self.poll_s)
        return None

    def _waiting_for(self, info) -> str:
        """What the follower waits for, said once (a mistyped path shows here, not as a silence)."""
        if info is not None:
            return f"the run in {self.run_dir} is loading its data"
        if not self.run_dir.exists():
            return f"{self.run_dir} does not exist yet: a run started there is followed from its start"
        return f"no run in {self.run_dir} yet: one that starts writing there is followed"

    def _follow(self, listener: Listener, result: RunResult) -> None:
        info = self._wait_for_run(listener)
        if info is None:
            return
        config = dataset_option(self.make_config(info.config), info.dataset)
        data, problem = load_test_data(config, self.datasets) if self.model_views else (None, None)
        try:
            history = read_metrics(self.run_dir).records
        except UserError:  # a folder in its place: the watch tells it, and reads it again
            history = []
        try:
            status = read_status(self.run_dir)
        except (RecordError, UserError):  # damaged: the watch reads it again (it showed "failed RecordError")
            status = None
        epochs = status.epochs if status is not None else config.epochs
        device = info.device or "not recorded"  # the writer's: where the run trains
        ready = ready_event(data, config, history, epochs, problem, device, info.parameters, info.world_size)
        if data is None:  # no digits loaded here (headless, or none to be had): the writer's own account
            sizes = dict(train_size=info.train_size, test_size=info.test_size, batches_per_epoch=info.batches_per_epoch)
            ready = dataclasses.replace(ready, dataset=info.dataset or ready.dataset, **sizes)
        listener(with_resolved(ready, info.device, info.precision))  # what the writer runs with, not auto
        watch = RunWatch(self.run_dir, history, epochs, self.model_views, self.eval_threads, info.created)
        while True:
            ended = watch.step(listener, data, config)
            result.epochs_done = watch.epochs_done
            if ended and self.until_ended:
                result.stopped = watch.state in ("stopped", "lost", "failed")
                if watch.state in ("failed", "lost"):
                    result.error = RuntimeError(watch.message or f"the run is {watch.state}")
                return
            if self._closed.wait(self.poll_s):
                return
