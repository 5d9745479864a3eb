"""TensorBoard event files in a run folder, so ``tensorboard --logdir runs`` shows our runs.

Written with tensorboardX (the optional ``tensorboard`` extra: it needs only numpy, packaging
and protobuf, where tensorboard's own writer brings grpcio and more). Two ways in:

* :class:`TensorBoardListener` sits in a training run's listener chain and writes as it
  trains: every batch's loss and lr (``batch/loss``, ``batch/lr``, step = batches done),
  every epoch's metrics (``epoch/test_acc``, ``epoch/test_loss``, ``epoch/train_loss``, …,
  step = epoch) and the run's settings as hparams (metrics: ``epoch/test_acc`` and
  ``epoch/test_loss``, whose last values the hparams table shows).
* :func:`~mnist_tui.workspace.tensorboard_export.export_tensorboard` converts finished folders
  from ``metrics.jsonl`` and ``batches.jsonl`` (the same tags, the recorded wall times).

Every test (those inside an epoch too, ``--tests-per-epoch``) is also ``test/acc`` and
``test/loss`` at step = the samples trained by then: TensorBoard's steps are whole numbers, and
the epoch axis has no 1.5 for sprint's half-way test.

Each run folder holds one such file, named ``events.out.tfevents.*.mnist-tui``: a resumed run
or a second conversion replaces it with one that tells the whole story again, so TensorBoard
never shows an epoch twice. A write that fails (a full disk) stops the event log, never the
training: :attr:`TensorBoardListener.error` says why.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

from mnist_tui.errors import UserError, told
from mnist_tui.runfolder.names import EVENTS_GLOB
from mnist_tui.training.events import BatchEnd, DataReady, EpochRecord, Failed, Finished, Notice
from mnist_tui.training.inner_evals import tests_of
from mnist_tui.workspace.summary import SETTINGS

EXTRA_MISSING = "{option} needs the optional extra: pip install -c constraints.txt -e '.[tensorboard]'"
SUFFIX = ".mnist-tui"  # the file names EVENTS_GLOB matches
FLUSH_S = 2  # tensorboardX's default is 120 s: a live run would show nothing for two minutes
EPOCH_TAGS = ("train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds", "eval_seconds", "samples_per_s")
HPARAM_METRICS = ("epoch/test_acc", "epoch/test_loss")
# What the workspace compares runs by (summary.SETTINGS), and the plan and data size besides
HPARAMS = (*SETTINGS, "epochs", "limit_train")


def require_tensorboardx(option: str = "--tensorboard"):
    """The tensorboardX module, or the one line the command line prints (exit 2), naming ``option``."""
    try:
        import tensorboardX
    except ImportError:
        raise UserError(EXTRA_MISSING.format(option=option)) from None
    return tensorboardX


def hparams_of(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings TensorBoard's hparams table shows (plain values only)."""
    return {k: settings[k] for k in HPARAMS if isinstance(settings.get(k), (str, int, float, bool))}


class EventLog:
    """One event file in ``run_dir``, replacing the earlier one this module wrote there.

    Written in the calling thread with tensorboardX's record writer, not its ``SummaryWriter``:
    that one writes from a thread of its own, where a full disk printed a traceback and its
    ``close`` then waited forever. ``atomic`` (an export): the file is written under a temporary
    name and replaces the earlier one only once complete; a failure leaves the earlier one as it was.
    A live run's log (not atomic) is written in place, so TensorBoard shows it as it grows.
    """

    def __init__(self, run_dir: Path, atomic: bool = False) -> None:
        import socket

        require_tensorboardx()
        from tensorboardX.proto.event_pb2 import Event
        from tensorboardX.record_writer import RecordWriter

        self.run_dir = Path(run_dir)
        self.atomic = atomic
        self.path = self.run_dir / f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}{SUFFIX}"
        # the temporary name holds no "tfevents": a running TensorBoard would load it too
        self._writing = self.run_dir / f".mnist-tui-export-{os.getpid()}.tmp" if atomic else self.path
        if not atomic:
            self._remove_earlier()
        self._event = Event
        self._writer = RecordWriter(str(self._writing))
        self._last_flush = time.monotonic()
        self._batches_per_epoch: dict[int, int] = {}  # as each epoch's reports said (a resume may change it)
        self._samples_done = 0  # trained before the next epoch written: the tests' step
        try:
            self._write(Event(wall_time=time.time(), file_version="brain.Event:2"))
        except BaseException:  # the caller gets no log to discard: its temporary file would stay
            self.discard()
            raise

    def _write(self, event) -> None:
        self._writer.write(event.SerializeToString())

    def _summary(self, summary, step: int = 0, walltime: float | None = None) -> None:
        self._write(self._event(wall_time=walltime or time.time(), step=step, summary=summary))

    def _remove_earlier(self) -> None:
        for old in self.run_dir.glob(EVENTS_GLOB):
            if old != self.path:
                with contextlib.suppress(OSError):
                    old.unlink()

    def hparams(self, settings: dict[str, Any]) -> None:
        from tensorboardX.summary import hparams

        experiment, start, _ = hparams(hparams_of(settings), dict.fromkeys(HPARAM_METRICS, 0.0))
        self._summary(experiment)
        self._summary(start)

    def scalars(self, step: int, values: dict[str, float], walltime: float | None = None) -> None:
        """Several scalars of one step in one event: half the cost of one event each (measured
        with tensorboardX: 62 µs a batch for loss and lr, against 126 µs), on the trainer's thread."""
        from tensorboardX.proto.summary_pb2 import Summary

        summary = Summary(value=[Summary.Value(tag=tag, simple_value=value) for tag, value in values.items()])
        self._summary(summary, step, walltime)
        if not self.atomic and time.monotonic() - self._last_flush >= FLUSH_S:
            self.flush()

    def flush(self) -> None:
        self._writer.flush()
        self._last_flush = time.monotonic()

    def batch(self, report: BatchEnd) -> None:
        walltime = report.time or None
        # batches done before this epoch, each epoch with its own count: a resume with another
        # --batch-size wrote epoch 2 over epoch 1's steps (512 → 1024: steps 1-20, then 11-20)
        self._batches_per_epoch.setdefault(report.epoch, report.batches_per_epoch)
        done = sum(self._batches_per_epoch.get(e, report.batches_per_epoch) for e in range(1, report.epoch))
        base = done + report.first_batch
        for i, loss in enumerate(report.losses):
            values = {"batch/loss": loss, "batch/lr": report.lrs[i]} if report.lrs else {"batch/loss": loss}
            self.scalars(base + i, values, walltime)

    def epoch(self, record: EpochRecord, train_size: int | None, walltime: float | None = None) -> None:
        """The epoch's metrics at step = the epoch; each of its tests (inside it too) as ``test/*`` at
        step = the samples trained by then (``train_size``: a whole epoch's; None: left out)."""
        self.scalars(record.epoch, {f"epoch/{tag}": getattr(record, tag) for tag in EPOCH_TAGS}, walltime)
        trained = record.samples or train_size or 0
        for test in tests_of(record) if train_size else ():  # ``at``'s 4 decimals: within a few samples
            inside = trained if test.at == record.epoch else round((test.at - record.epoch + 1) * train_size)
            values = {"test/acc": test.test_acc, "test/loss": test.test_loss}
            self.scalars(self._samples_done + inside, values, walltime)
        self._samples_done += trained

    def end(self, status: str) -> None:
        """``status``: success, failure or unknown, as the hparams plugin names them. A run stopped
        before its plan's end is "unknown": it neither failed nor finished, and the plugin has no
        "killed" (asking for one crashed every export that held a stopped run)."""
        from tensorboardX.proto.api_pb2 import Status
        from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData, SessionEndInfo
        from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata

        content = HParamsPluginData(session_end_info=SessionEndInfo(status=Status.Value(f"STATUS_{status.upper()}")))
        metadata = SummaryMetadata(
            plugin_data=SummaryMetadata.PluginData(plugin_name="hparams", content=content.SerializeToString())
        )
        self._summary(Summary(value=[Summary.Value(tag="_hparams_/session_end_info", metadata=metadata)]))

    def close(self) -> None:
        """Flush (with fsync) and close; an atomic log then takes the earlier file's place."""
        try:
            self.flush()
        finally:
            self._writer.close()
        if self.atomic:
            os.replace(self._writing, self.path)
            self._remove_earlier()

    def discard(self) -> None:
        """After a failure: close, and an atomic log's partial file goes (the earlier one stays)."""
        with contextlib.suppress(OSError):
            self._writer.close()
        if self.atomic:
            with contextlib.suppress(OSError):
                self._writing.unlink()


class TensorBoardListener:
    """A listener for the trainer's chain: writes each event it sees, then passes it to ``forward``.

    Build it before training (it raises the extra's :class:`UserError` when tensorboardX is
    missing); the file is opened at :class:`DataReady`, when the run's resolved settings and
    any resumed history are known. Under torchrun, give it to rank 0 only.
    """

    def __init__(self, run_dir: Path, settings: dict[str, Any] | None = None, forward=None) -> None:
        require_tensorboardx()
        self.run_dir = Path(run_dir)
        self.settings = dict(settings or {})
        self.forward = forward
        self.log: EventLog | None = None
        self.error: str | None = None
        self.train_size: int | None = None  # the run's, once its data is ready

    def __call__(self, event: Any) -> None:
        stopped = None
        try:
            self._write(event)
        except Exception as exc:  # the event log must never end the training run
            stopped = None if self.error is not None else Notice(f"TensorBoard events stopped: {told(exc)}")
            self.error = f"TensorBoard events stopped: {type(exc).__name__}: {exc}"
            self._close_quietly()
        if self.forward is not None:
            self.forward(event)
            if stopped is not None:  # said once, after the event it failed on (a full disk was silent)
                self.forward(stopped)

    def _write(self, event: Any) -> None:
        match event:
            case DataReady():
                self._close_quietly()
                if self.error is None:
                    self.log = EventLog(self.run_dir)
                    self.log.hparams({**self.settings, **event.settings, "world_size": event.world_size})
                    self.train_size = event.train_size
                    for record in event.history:
                        self.log.epoch(record, self.train_size)
            case BatchEnd() if self.log is not None:
                self.log.batch(event)
            case EpochRecord() if self.log is not None:
                self.log.epoch(event, self.train_size)
                self.log.flush()
            case Finished(stopped=stopped) if self.log is not None:
                self.log.end("unknown" if stopped else "success")
                self.close()
            case Failed() if self.log is not None:
                self.log.end("failure")
                self.close()

    def close(self) -> None:
        if self.log is not None:
            self.log.close()
            self.log = None

    def _close_quietly(self) -> None:
        if self.log is not None:
            self.log.discard()
        self.log = None
