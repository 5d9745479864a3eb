"""Follow a run folder that another process writes (a headless run, another dashboard, torchrun).

The follower polls the folder four times a second: new lines of ``batches.jsonl`` and
``metrics.jsonl`` become the same events the trainer reports, a new ``checkpoint.pt`` is
loaded and evaluated here (off the UI thread) for predictions and drawing, and
``status.json`` gives the state, or ``lost`` once its heartbeat is stale and its process
gone. Steering writes ``control.json``, which the writer's keeper thread reads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mnist_tui.config import Config
from mnist_tui.errors import UserError
from mnist_tui.insight.layers_log import read_layer_stats
from mnist_tui.runfolder.atomic import write_json_atomically
from mnist_tui.runfolder.layout import (
    CHECKPOINT_NAME,
    CONTROL_NAME,
    LAYERS_NAME,
    METRICS_NAME,
    STEERING_NAME,
    ControlRequest,
    RunStatus,
)
from mnist_tui.runfolder.reader import (
    BatchTail,
    effective_state,
    read_control,
    read_info,
    read_metrics,
    read_rows,
    read_status,
)
from mnist_tui.schema import RecordError
from mnist_tui.sources.base import Capabilities, SourceResult
from mnist_tui.sources.recorded import dataset_option, load_test_data, model_events, ready_event, with_resolved
from mnist_tui.training.events import (
    ENDED,
    BatchEnd,
    Failed,
    Finished,
    Listener,
    PlanChanged,
    StateChanged,
    Steered,
    best_accuracy,
)

POLL_S = 0.25


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
        self._closed = threading.Event()
        self._control_lock = threading.RLock()

    # -- steering: the writer reads control.json -----------------------------------------------

    def _pending(self) -> tuple[ControlRequest | None, RunStatus | None]:
        """The request in control.json while the writer has not taken it yet (status.json's
        ``control_seq`` is older), and the status: what a new request must build on."""
        earlier, status = read_control(self.run_dir), read_status(self.run_dir)
        taken = status.control_seq if status is not None else 0
        return (earlier if earlier is not None and earlier.seq > taken else None), status

    def _request(self, paused: bool | None = None, stop: bool = False, **extra: Any) -> None:
        """Write the next request, keeping what a request not yet taken asked: the writer reads
        control.json 4 times a second, and "space +" within that time lost the pause."""
        with self._control_lock:
            earlier = read_control(self.run_dir)
            pending, _ = self._pending()
            if pending is not None:
                paused = pending.paused if paused is None else paused
                stop, extra = stop or pending.stop, pending.extra | extra
            seq = (earlier.seq if earlier is not None else 0) + 1
            request = ControlRequest(seq, paused, stop, extra)
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
        with self._control_lock:  # re-entrant: _request takes it too
            pending, status = self._pending()
            asked = pending.extra.get("lr_scale") if pending is not None else None
            scale = asked if isinstance(asked, (int, float)) else (status.lr_scale if status is not None else 1.0)
            self._request(lr_scale=scale * factor)

    def add_epochs(self, epochs: int) -> None:
        """``epochs`` more than the plan asked last (a request not yet taken), else the writer's."""
        with self._control_lock:
            pending, status = self._pending()
            if status is None:
                return
            asked = pending.extra.get("epochs") if pending is not None else None
            self._request(epochs=(asked if isinstance(asked, int) else status.epochs) + epochs)

    def close(self) -> None:
        self._closed.set()  # the writer trains on

    def save_now(self) -> tuple[int, Path] | None:
        return None

    # -- following -------------------------------------------------------------------------------

    def run(self, listener: Listener) -> SourceResult:
        result = SourceResult()
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
            except RecordError as exc:
                raise UserError(f"{self.run_dir}/run.json is damaged: {exc}") from None
            if info is not None and info.train_size:  # the writer has loaded its data
                return info
            if not said:
                said = True
                listener(StateChanged("waiting", f"waiting for a run to start writing {self.run_dir}"))
            self._closed.wait(self.poll_s)
        return None

    def _follow(self, listener: Listener, result: SourceResult) -> None:
        info = self._wait_for_run(listener)
        if info is None:
            return
        config = dataset_option(self.make_config(info.config), info.dataset)
        data, problem = load_test_data(config, self.datasets) if self.model_views else (None, None)
        history = read_metrics(self.run_dir).records
        status = read_status(self.run_dir)
        epochs = status.epochs if status is not None else config.epochs
        device = f"{info.device} (followed)"
        ready = ready_event(data, config, history, epochs, problem, device, info.parameters, info.world_size)
        listener(with_resolved(ready, info.device, info.precision))  # what the writer runs with, not auto
        watch = _Watch(self.run_dir, history, epochs, self.model_views)
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


class _Watch:
    """What the follower has reported so far, and one polling step."""

    # A checkpoint is evaluated (10,000 digits) at most this share of the time, on one thread: a
    # follower beside its writer took the cores it trains on (49-55k samples/s alone; 5-24k with a
    # dashboard follower evaluating every checkpoint on torch's default threads).
    EVAL_SHARE = 0.2

    def __init__(self, run_dir: Path, history: list, epochs: int, model_views: bool = True) -> None:
        self.run_dir = run_dir
        self.model_views = model_views
        self.next_eval = 0.0  # monotonic time from which the next checkpoint may be evaluated
        self.held: list[BatchEnd] = []  # batches of an epoch after one whose row is not yet read
        self.batches = BatchTail(run_dir)
        self.history = list(history)
        self.epochs = epochs
        self.state = ""
        self.message = ""
        self.stamps: dict[str, int] = {}
        self.layers_epoch = 0
        self.steered: tuple = (-1, -1, 0.0)

    @property
    def epochs_done(self) -> int:
        return self.history[-1].epoch if self.history else 0

    def _changed(self, name: str) -> bool:
        try:
            stamp = (self.run_dir / name).stat().st_mtime_ns
        except OSError:
            return False
        if self.stamps.get(name) == stamp:
            return False
        self.stamps[name] = stamp
        return True

    def step(self, listener: Listener, data, config: Config) -> bool:
        """Report what changed on disk; True once the run has ended (and all it wrote is reported)."""
        try:
            status = read_status(self.run_dir)
        except (RecordError, UserError):
            status = None  # a damaged status is read again at the next poll
        fresh = self.held + self.batches.read_new()
        if self._changed(METRICS_NAME):
            for record in read_metrics(self.run_dir).records:
                if record.epoch > self.epochs_done:
                    self._report_batches(listener, [b for b in fresh if b.epoch <= record.epoch])
                    fresh = [b for b in fresh if b.epoch > record.epoch]
                    self.history.append(record)
                    listener(record)
        # An epoch's row comes after its batches and before the next epoch's: a row not yet
        # written (the writer saves the checkpoint first) holds the next epoch's batches back.
        self.held = [b for b in fresh if b.epoch > self.epochs_done + 1]
        self._report_batches(listener, [b for b in fresh if b.epoch <= self.epochs_done + 1])
        if self._changed(STEERING_NAME):
            for steered in read_rows(self.run_dir / STEERING_NAME, Steered.from_json).records:
                if (steered.epoch, steered.batch, steered.time) > self.steered:
                    self.steered = (steered.epoch, steered.batch, steered.time)
                    listener(steered)
        if self._changed(LAYERS_NAME):
            for layer_record in read_layer_stats(self.run_dir)[0]:
                if layer_record.epoch > self.layers_epoch:
                    self.layers_epoch = layer_record.epoch
                    listener(layer_record)
        if self.model_views and time.monotonic() >= self.next_eval and self._changed(CHECKPOINT_NAME):
            self._report_checkpoint(listener, data, config)
        if status is not None and effective_state(status, time.time()) in ENDED:  # no row is coming (a kill)
            self._report_batches(listener, self.held)
            self.held = []
        return status is not None and self._report_status(listener, status)

    @staticmethod
    def _report_batches(listener: Listener, reports: list[BatchEnd]) -> None:
        for report in reports:
            listener(report)

    def _report_checkpoint(self, listener: Listener, data, config: Config) -> None:
        import torch

        from mnist_tui.training.checkpoint import CheckpointError, load_checkpoint

        started = time.monotonic()
        try:
            state = load_checkpoint(self.run_dir)
        except CheckpointError:
            self.stamps.pop(CHECKPOINT_NAME, None)  # try again at the next poll
            return
        torch.set_num_threads(1)  # this process trains nothing: its writer may be on the same cores
        for event in model_events(state["model"], int(state["epoch"]), data, config):
            listener(event)
        self.next_eval = time.monotonic() + (time.monotonic() - started) * (1 / self.EVAL_SHARE - 1)

    def _report_status(self, listener: Listener, status: RunStatus) -> bool:
        if status.epochs and status.epochs != self.epochs:
            self.epochs = status.epochs
            listener(PlanChanged(status.epochs))
        state = effective_state(status, time.time())
        if state == self.state:
            return state in ENDED
        self.state, self.message = state, status.message
        if state == "lost":
            where = f"pid {status.pid} on {status.host}" if status.host else f"pid {status.pid}"
            self.message = f"the writer ({where}) stopped without a word: killed or crashed"
            listener(StateChanged("lost", self.message))
        elif state == "failed":
            listener(Failed(status.message or "the run failed", self.epochs_done))
        elif state in ("finished", "stopped"):
            listener(Finished(self.epochs_done, best_accuracy(self.history), state == "stopped"))
        else:
            listener(StateChanged(state, status.message))
        return state in ENDED
