"""Keeping a run folder while the run trains: the writer side of the contract.

:class:`RunFolderWriter` is a listener that sits between the trainer and its face: every
event passes through it to the face, and it writes what a reader needs (run.json,
status.json, batches.jsonl, metrics.jsonl). Its keeper thread refreshes the heartbeat
every second, also while the loop is paused or evaluating, and reads ``control.json`` a
few times a second, steering the trainer through its :class:`TrainingControl`: nothing is
added to the training loop but the flag check it already makes per batch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

from mnist_tui.errors import UserError
from mnist_tui.files import change_stamp
from mnist_tui.insight.layer_records import LayerStatsRecord
from mnist_tui.runfolder.atomic import jsonl, write_json_atomically, write_text_atomically
from mnist_tui.runfolder.earlier import EarlierFiles
from mnist_tui.runfolder.layers_log import append_layer_stats, truncate_layer_stats
from mnist_tui.runfolder.layout import (
    BATCHES_NAME,
    CONTROL_NAME,
    HEARTBEAT_S,
    INFO_NAME,
    METRICS_NAME,
    STATUS_NAME,
    STEERING_NAME,
    RunInfo,
    RunStatus,
    pid_namespace,
    process_start,
)
from mnist_tui.runfolder.reader import holds_results, read_batches, read_control, read_info, read_rows
from mnist_tui.schema import RecordError
from mnist_tui.training.control import TrainingControl
from mnist_tui.training.events import (
    ENDED,
    BatchEnd,
    DataReady,
    EpochRecord,
    Event,
    Failed,
    Finished,
    Notice,
    PlanChanged,
    StateChanged,
    Steered,
)

CONTROL_POLL_S = 0.25


class RunFolderWriter:
    def __init__(
        self,
        run_dir: Path,
        settings: dict[str, Any],
        control: TrainingControl,
        listener,
        world_size: int = 1,
    ) -> None:
        self.run_dir = Path(run_dir)
        self.control = control
        self.listener = listener
        self.info = RunInfo(config=settings, created=time.time(), host=socket.gethostname(), world_size=world_size)
        self._lock = threading.Lock()
        self._status: dict[str, Any] = dict(
            state="loading",
            pid=os.getpid(),
            host=self.info.host,
            pid_ns=pid_namespace(),
            pid_start=process_start(os.getpid()) or 0,
            epochs=int(settings.get("epochs", 0)),
            epochs_done=0,
            epoch=0,
            batch=0,
            batches_per_epoch=0,
            heartbeat=0.0,
            world_size=world_size,
        )
        self._history: list[EpochRecord] = []
        self._earlier = EarlierFiles()  # a resumed run's folder as it was
        self.held_results = True  # until open() looks: never remove what may be an earlier run's
        self._batches = None
        self._seen_seq = 0
        self._control_stamp: tuple[int, ...] | None = None
        self._closing = threading.Event()
        self._keeper: threading.Thread | None = None

    # -- life cycle --------------------------------------------------------------------------

    def open(self, epochs_done: int = 0, logs_from: Path | None = None) -> None:
        """Claim the folder for this run: a resumed run keeps its batches of finished epochs only
        (its layer statistics and steering too); ``logs_from``: the folder it was resumed from,
        where that is another (`--resume RUN --run-dir NEW` had left the earlier epochs out).

        A folder that cannot be written is the user's to fix: :class:`UserError`, in one line."""
        try:
            set_aside = self._claim(epochs_done, logs_from)
        except OSError as exc:
            raise UserError(f"cannot write the run folder {self.run_dir}: {exc.strerror or exc}") from None
        for said in set_aside:
            self.listener(Notice(said))
        self._keeper = threading.Thread(target=self._keep, name="run-folder-keeper", daemon=True)
        self._keeper.start()

    def _claim(self, epochs_done: int, logs_from: Path | None) -> list[str]:
        """→ what it says of damaged files it kept aside or left behind (``EarlierFiles.set_aside``,
        :meth:`_keep_steering`)."""
        self.held_results = holds_results(self.run_dir)  # else what it holds on close is this run's
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._earlier = EarlierFiles.read(self.run_dir, epochs_done)
        set_aside = self._earlier.set_aside(self.run_dir) if epochs_done else []
        source = Path(logs_from) if logs_from is not None and epochs_done else self.run_dir
        first = self._earlier.first_start(self.info.created)  # a resume keeps the run's first start,
        if source != self.run_dir:  # in a new folder too (the workspace listed it as started at the resume)
            with contextlib.suppress(RecordError, UserError):
                if (earlier := read_info(source)) is not None:
                    first = earlier.first_start
        self.info = dataclasses.replace(self.info, epochs_kept=epochs_done, started=first)
        # run.json first: a follower that finds batches.jsonl rewritten reads here where this writer starts
        write_json_atomically(self.run_dir / INFO_NAME, self.info.to_json())
        kept = [b for b in read_batches(source).records if b.epoch <= epochs_done]
        write_text_atomically(self.run_dir / BATCHES_NAME, jsonl([b.to_json() for b in kept]))
        truncate_layer_stats(self.run_dir, epochs_done, source)
        set_aside += self._keep_steering(epochs_done, source)
        self._batches = open(self.run_dir / BATCHES_NAME, "a", encoding="utf-8")  # noqa: SIM115 - lives with the run
        earlier = read_control(self.run_dir)
        self._seen_seq = earlier.seq if earlier is not None else 0  # an old request is never replayed
        self._status["control_seq"] = self._seen_seq  # nor merged by a follower into its next one
        self._write_status()
        return set_aside

    def restore_earlier(self) -> bool:
        """After a resumed run that trained no batch (opened, then quit before space): its files
        as they were; a finished 2/2 run had read "stopped 2/4" for good, and a run stopped in
        epoch 3 lost that epoch's batch losses. False where the folder had none (a run of its
        own, or a resume into a new folder)."""
        return self._earlier.restore(self.run_dir)

    def _keep_steering(self, epochs_done: int, source: Path) -> list[str]:
        """A resumed run keeps the steering of its finished epochs (an unfinished one is trained
        again). A plan change at the last kept epoch's end (batch 0) came after its checkpoint:
        the resumed run trains the checkpoint's plan, so that change goes too."""
        path = source / STEERING_NAME
        if not path.exists():
            return []
        rows = read_rows(path, Steered.from_json)
        said = []
        if rows.skipped and source == self.run_dir:  # rewritten below: the file as it was, kept beside it
            if (copy := self._earlier.copy_aside(self.run_dir, STEERING_NAME)) is not None:
                said.append(f"{rows.skipped_note(STEERING_NAME)}; the file as it was is kept as {copy.name}")
        elif rows.skipped:  # resumed into a new folder: those rows are left out of it, and left there
            said.append(f"{rows.skipped_note(str(path))}: left there, not copied")
        kept = [s for s in rows.records if s.kept_on_resume(epochs_done)]
        write_text_atomically(self.run_dir / STEERING_NAME, jsonl([s.to_json() for s in kept]))
        return said

    def close(self) -> None:
        self._closing.set()
        if self._keeper is not None:
            self._keeper.join(timeout=5)
        if self._batches is not None:
            with contextlib.suppress(OSError):
                self._batches.flush()
                os.fsync(self._batches.fileno())
            self._batches.close()
            self._batches = None
        if self._status["state"] not in ENDED:  # no Finished: a second Ctrl-C's exit went through the trainer
            self._status.update(state="stopped", message="exited at a second signal")  # not "lost", as if it crashed
        self._write_status(durable=True)

    # -- the listener ------------------------------------------------------------------------

    def __call__(self, event: Event) -> None:
        match event:
            case BatchEnd():
                self._on_batch(event)
            case EpochRecord():
                self._on_epoch(event)
            case LayerStatsRecord():
                append_layer_stats(self.run_dir, event)
            case DataReady():
                self._on_ready(event)
            case PlanChanged(epochs=epochs):
                self._set(epochs=epochs)
            case Steered(lr_scale=scale):
                with open(self.run_dir / STEERING_NAME, "a", encoding="utf-8") as log:
                    log.write(jsonl([event.to_json()]))
                self._set(lr_scale=scale)
            case StateChanged(state=state, detail=detail):
                self._set(state=state, message=detail)
            case Finished(stopped=stopped):
                self._set(state="stopped" if stopped else "finished", message="")
            case Failed(message=message):
                self._set(state="failed", message=message)
        self.listener(event)

    def _on_ready(self, e: DataReady) -> None:
        self._history = list(e.history)
        self.info = RunInfo(
            **{
                **self.info.to_json(),
                "dataset": e.dataset,
                "device": e.device,
                "precision": e.precision,
                "parameters": e.parameters,
                "train_size": e.train_size,
                "test_size": e.test_size,
                "batches_per_epoch": e.batches_per_epoch,
            }
        )
        write_json_atomically(self.run_dir / INFO_NAME, self.info.to_json())
        write_text_atomically(self.run_dir / METRICS_NAME, jsonl([r.to_json() for r in self._history]))
        done = e.start_epoch - 1
        self._set(
            epochs_done=done,
            epoch=done,
            batches_per_epoch=e.batches_per_epoch,
            epochs=e.epochs,
            lr_scale=self.control.lr_scale,  # a resumed run's steering
        )

    def _on_batch(self, e: BatchEnd) -> None:
        if self._earlier.records or self._earlier.logs:  # a batch trained: nothing will be put back
            self._earlier = EarlierFiles()
        if self._batches is not None:
            self._batches.write(jsonl([e.to_json()]))
            self._batches.flush()  # whole lines reach the reader at once; fsync waits for the epoch end
        with self._lock:
            self._status.update(epoch=e.epoch, batch=e.batch, samples_per_s=round(e.samples_per_s, 1))

    def _on_epoch(self, e: EpochRecord) -> None:
        """After the trainer wrote the epoch's checkpoint: the metrics, then the batches made durable."""
        self._history.append(e)
        write_text_atomically(self.run_dir / METRICS_NAME, jsonl([r.to_json() for r in self._history]))
        if self._batches is not None:
            with contextlib.suppress(OSError):
                os.fsync(self._batches.fileno())
        self._set(epochs_done=e.epoch)

    # -- status and control ------------------------------------------------------------------

    def _set(self, **changes: Any) -> None:
        with self._lock:
            self._status.update(changes)
        self._write_status()

    def _write_status(self, durable: bool = False) -> None:
        with self._lock:
            self._status["heartbeat"] = time.time()
            status = RunStatus(**self._status)
            with contextlib.suppress(OSError):  # a full disk must not kill training: the heartbeat goes stale
                write_json_atomically(self.run_dir / STATUS_NAME, status.to_json(), durable=durable)

    def _keep(self) -> None:
        last_beat = time.monotonic()
        while not self._closing.wait(CONTROL_POLL_S):
            self._check_control()
            if time.monotonic() - last_beat >= HEARTBEAT_S:
                last_beat = time.monotonic()
                self._write_status()

    def _check_control(self) -> None:
        try:
            stamp = change_stamp((self.run_dir / CONTROL_NAME).stat())
        except OSError:
            return
        if stamp == self._control_stamp:
            return
        self._control_stamp = stamp
        request = read_control(self.run_dir)
        if request is None or request.seq <= self._seen_seq:
            return
        self._seen_seq = request.seq
        taken: dict[str, Any] = {"control_seq": request.seq}  # a follower merges what is not yet taken
        if request.lr_scale is not None:
            self.control.set_lr_scale(request.lr_scale)  # applied (and reported) at the next batch
            taken["lr_scale"] = request.lr_scale
        if request.epochs is not None:
            self.control.set_epochs(request.epochs)  # trained from the next epoch's end; the plan from now
            taken["epochs"] = request.epochs
        if request.stop:
            self.control.stop()
        elif request.paused is True:
            self.control.pause()
        elif request.paused is False:
            self.control.resume()
        self._set(**taken)
