"""The trainer: one loop, reported as plain events, steered by a :class:`TrainingControl`.

The dashboard runs :meth:`Trainer.run` in a worker thread; the headless command runs it
in the main thread. Neither face trains on its own.
"""

from __future__ import annotations

import math
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from mnist_tui.config import Config
from mnist_tui.data import Datasets, load_datasets
from mnist_tui.errors import TrainingDiverged, UserError
from mnist_tui.model import Net, parameter_count
from mnist_tui.training import checkpoint as ckpt
from mnist_tui.training.control import TrainingControl
from mnist_tui.training.device import choose_device, choose_precision
from mnist_tui.training.events import BatchEnd, DataReady, EpochEnd, Failed, Finished, Listener, Predictions
from mnist_tui.training.metrics_log import write_metrics
from mnist_tui.training.steps import EpochRun, evaluate, train_epoch


@dataclass
class RunResult:
    epochs_done: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    stopped: bool = False
    error: BaseException | None = None


class Trainer:
    def __init__(
        self,
        config: Config,
        listener: Listener,
        control: TrainingControl | None = None,
        resume_state: dict[str, Any] | None = None,
        datasets: Datasets | None = None,
    ) -> None:
        self.config = config
        self.listener = listener
        self.control = control or TrainingControl()
        self.resume_state = resume_state
        self._datasets = datasets
        self.result = RunResult()
        self._save_lock = threading.Lock()  # the worker's epoch-end saves and save_now() from any thread
        self._saved: tuple[int, bytes] | None = None  # the last finished epoch's checkpoint, frozen
        self._written_epoch: int | None = None  # the epoch of the checkpoint on disk

    def run(self) -> RunResult:
        """Train to the end, until stopped, or until an error (reported as :class:`Failed`)."""
        try:
            self._train()
        except Exception as exc:  # the worker must never die silently: every failure is an event
            self.result.error = exc
            message = str(exc) if isinstance(exc, UserError) else _describe_failure(exc)
            if self._written_epoch and self.config.run_dir is not None:
                message += f"; the checkpoint of epoch {self._written_epoch} in {self.config.run_dir} is kept"
            self.listener(Failed(message, self.result.epochs_done))
        return self.result

    # -- set-up ---------------------------------------------------------------------------

    def _setup(self) -> None:
        cfg = self.config
        torch.manual_seed(cfg.seed)
        self.device = choose_device(cfg.device)
        self.precision = choose_precision(cfg.precision, self.device)
        data = self._datasets or load_datasets(cfg.dataset, cfg.data_dir, cfg.seed, cfg.download)
        self.data = data.limited(cfg.limit_train)
        # uint8 on the device; steps.model_input normalises each batch (a float copy: +220 MB)
        self.train_x = _to_device(self.data.train_images, self.device)
        self.train_y = self.data.train_labels.to(self.device, non_blocking=True)
        self.test_x = _to_device(self.data.test_images, self.device)
        self.test_y = self.data.test_labels.to(self.device, non_blocking=True)
        self.model = Net(cfg.conv_dropout, cfg.fc_dropout).to(self.device, memory_format=torch.channels_last)
        fused = self.device.type == "cuda"
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.lr, fused=fused, foreach=not fused)
        self.batches = (len(self.train_y) + cfg.batch_size - 1) // cfg.batch_size
        self.scheduler = self._make_scheduler(cfg.epochs)
        self.shuffle = torch.Generator().manual_seed(cfg.seed)
        self.start_epoch, self.history = 1, []
        if self.resume_state is not None:
            self._restore(self.resume_state)
        self.result.history = self.history
        if cfg.run_dir is not None:
            _make_run_dir(cfg.run_dir)

    def _make_scheduler(self, epochs: int, done_steps: int = 0):
        if self.config.schedule != "onecycle":
            return None
        # OneCycleLR divides by its warm-up length: a run of a handful of steps needs ≥ 8.
        total = max(8, epochs * self.batches - done_steps)
        return torch.optim.lr_scheduler.OneCycleLR(
            self.optimizer, max_lr=self.config.lr, total_steps=total, pct_start=0.25
        )

    def _restore(self, state: dict[str, Any]) -> None:
        try:
            self.model.load_state_dict(state["model"])
        except (RuntimeError, KeyError) as exc:
            raise ckpt.CheckpointError(f"the checkpoint is of another model ({str(exc).splitlines()[0]})") from None
        fresh_hyper = [{k: v for k, v in g.items() if k != "params"} for g in self.optimizer.param_groups]
        try:
            self.optimizer.load_state_dict(state["optimizer"])
        except (ValueError, KeyError, RuntimeError) as exc:
            raise ckpt.CheckpointError(f"the checkpoint's optimizer state does not fit ({exc})") from None
        for group, fresh in zip(self.optimizer.param_groups, fresh_hyper, strict=True):
            group.update(fused=fresh["fused"], foreach=fresh["foreach"])  # this device's kernels, not the saver's
        done = int(state["epoch"])
        saved = state.get("scheduler") or {}
        same_plan = self.scheduler is not None and saved.get("total_steps") == self.scheduler.total_steps
        same_plan = same_plan and all(state["config"].get(k) == getattr(self.config, k) for k in ("lr", "schedule"))
        if same_plan:
            self.scheduler.load_state_dict(saved)
        elif self.scheduler is not None:  # another plan (epochs, lr, batches): a fresh cycle for what is left
            self.scheduler = self._make_scheduler(self.config.epochs, done * self.batches)
        else:  # constant lr: the options given now, not the saved (maybe mid-cycle) values
            for group, fresh in zip(self.optimizer.param_groups, fresh_hyper, strict=True):
                group.update(lr=fresh["lr"], betas=fresh["betas"])
        if "shuffle_rng" in state:
            self.shuffle.set_state(state["shuffle_rng"])
        if "torch_rng" in state:
            torch.set_rng_state(state["torch_rng"])
        if state.get("cuda_rng") and self.device.type == "cuda":
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        self.start_epoch, self.history = done + 1, list(state.get("history", []))
        self.result.epochs_done = done
        self._saved = (done, ckpt.serialize(state))
        if self.config.run_dir is not None and (Path(self.config.run_dir) / ckpt.CHECKPOINT_NAME).exists():
            self._written_epoch = done

    # -- the run --------------------------------------------------------------------------

    def _train(self) -> None:
        self._setup()
        cfg = self.config
        self.listener(self._data_ready())
        if self.history:  # a resumed run shows its model's predictions before training on
            self._report_predictions(
                self.start_epoch - 1, evaluate(self.model, self.test_x, self.test_y, cfg.eval_batch_size)
            )
        epoch_run = EpochRun(
            self.model,
            self.optimizer,
            self.scheduler,
            self.train_x,
            self.train_y,
            cfg.batch_size,
            self.precision,
            self.control,
            self._emit_checked,
        )
        for epoch in range(self.start_epoch, cfg.epochs + 1):
            order = torch.randperm(len(self.train_y), generator=self.shuffle).to(self.device, non_blocking=True)
            stats = train_epoch(epoch_run, epoch, order)
            if stats is None:
                self.result.stopped = True
                break
            started = time.perf_counter()
            test = evaluate(self.model, self.test_x, self.test_y, cfg.eval_batch_size)
            if not math.isfinite(test.loss):  # a last step can break the weights after its loss was read
                raise TrainingDiverged(f"training diverged: the test loss became {test.loss} after epoch {epoch}")
            row = self._record(epoch, stats, test, time.perf_counter() - started)
            self.listener(
                EpochEnd(
                    epoch,
                    cfg.epochs,
                    row["train_loss"],
                    row["train_acc"],
                    row["test_loss"],
                    row["test_acc"],
                    row["seconds"],
                    row["samples_per_s"],
                    row["lr"],
                )
            )
            self._report_predictions(epoch, test)
            if self.control.stopped:
                self.result.stopped = epoch < cfg.epochs
                break
        best = max((r["test_acc"] for r in self.history), default=None)
        self.listener(Finished(self.result.epochs_done, best, self.result.stopped))

    def _emit_checked(self, event) -> None:
        """Batch reports already carry each loss read back once: check them there, at no extra sync."""
        if isinstance(event, BatchEnd) and not all(map(math.isfinite, event.losses)):
            bad = next(x for x in event.losses if not math.isfinite(x))
            raise TrainingDiverged(
                f"training diverged: the loss became {bad} in epoch {event.epoch} "
                f"by batch {event.batch} (try a lower --lr)"
            )
        self.listener(event)

    def _data_ready(self) -> DataReady:
        return DataReady(
            dataset=self.data.name,
            device=str(self.device),
            precision=self.precision,
            train_size=len(self.train_y),
            test_size=len(self.test_y),
            batches_per_epoch=self.batches,
            parameters=parameter_count(self.model),
            notice=self.data.notice,
            test_images=self.data.test_images.numpy(),
            test_labels=self.data.test_labels.numpy(),
            start_epoch=self.start_epoch,
            history=tuple(self.history),
        )

    def _report_predictions(self, epoch: int, test) -> None:
        self.listener(Predictions(epoch, test.probabilities, self.data.test_labels.numpy(), test.confusion))

    def _record(self, epoch: int, stats, test, eval_seconds: float) -> dict[str, Any]:
        row = {
            "epoch": epoch,
            "train_loss": stats.loss,
            "train_acc": stats.accuracy,
            "test_loss": test.loss,
            "test_acc": test.accuracy,
            "seconds": round(stats.seconds, 4),
            "eval_seconds": round(eval_seconds, 4),
            "samples_per_s": round(stats.samples / max(stats.seconds, 1e-9), 1),
            "lr": self.optimizer.param_groups[0]["lr"],
            "dataset": self.data.name,
            "device": str(self.device),
        }
        self.history.append(row)
        self.result.epochs_done = epoch
        if self.config.run_dir is not None:
            self.save_checkpoint(epoch)
            write_metrics(self.config.run_dir, self.history)
        return row

    def checkpoint_state(self, epoch: int) -> dict[str, Any]:
        return {
            "epoch": epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "shuffle_rng": self.shuffle.get_state(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else [],
            "config": self.config.to_dict(),
            "history": list(self.history),
            "dataset": self.data.name,
        }

    def save_checkpoint(self, epoch: int) -> Path:
        """Write this epoch's checkpoint, and keep its bytes for :meth:`save_now`."""
        data = ckpt.serialize(self.checkpoint_state(epoch))
        with self._save_lock:
            self._saved = (epoch, data)
            return self._write_saved()

    def save_now(self) -> tuple[int, Path] | None:
        """From any thread, at any moment (also paused): write the last finished epoch's checkpoint.

        Never the half-trained weights of an epoch in progress: a checkpoint always holds whole
        epochs, and resume continues from the next one. None when no epoch is done yet.
        """
        with self._save_lock:
            if self._saved is None or self.config.run_dir is None:
                return None
            return self._saved[0], self._write_saved()

    def _write_saved(self) -> Path:
        path = Path(self.config.run_dir) / ckpt.CHECKPOINT_NAME
        try:
            ckpt.write_checkpoint_bytes(path, self._saved[1])
        except OSError as exc:  # disk full, folder gone: the previous checkpoint is still whole
            raise OSError(exc.errno, f"cannot write the checkpoint {path}: {exc.strerror or exc}") from None
        self._written_epoch = self._saved[0]
        return path


def _to_device(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    if device.type == "cuda":
        images = images.pin_memory()
    return images.to(device, non_blocking=True)  # one channel: each batch is channels-last as made


def _make_run_dir(run_dir: Path) -> None:
    try:
        Path(run_dir).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create the run folder {run_dir}: {exc.strerror}") from None


def _describe_failure(exc: BaseException) -> str:
    if isinstance(exc, TrainingDiverged):
        return str(exc)
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return "CUDA ran out of memory (try a smaller --batch-size, or --device cpu)"
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    place = f" (at {Path(where.filename).name}:{where.lineno})" if where else ""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}{place}"
