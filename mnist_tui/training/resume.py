"""A trainer's checkpoint, both ways (what it holds, and continuing from it), and saying why a run
failed (for :mod:`.loop`). ``checkpoint_schema.KEYS`` lists what :func:`checkpoint_state` writes."""

from __future__ import annotations

import errno
import time
import traceback
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import torch

from mnist_tui.config import Config, last_epoch_fraction_of
from mnist_tui.errors import GraphCaptureFailed, TrainingDiverged, UserError
from mnist_tui.plan import Plan
from mnist_tui.schema import RecordError
from mnist_tui.training import checkpoint as ckpt
from mnist_tui.training.events import EpochRecord, PlanChanged, Steered


def history_from_checkpoint(rows: Any) -> list[EpochRecord]:
    """The saved history as epoch records; a damaged row is one clear line naming it."""
    if not isinstance(rows, list):
        raise ckpt.CheckpointError("the checkpoint's history is damaged: not a list")
    history = []
    for number, row in enumerate(rows, 1):
        try:
            history.append(EpochRecord.from_json(row))
        except RecordError as exc:
            raise ckpt.CheckpointError(f"the checkpoint's history is damaged: row {number}: {exc}") from None
    return history


def checkpoint_state(trainer, epoch: int) -> dict[str, Any]:
    """Everything :func:`restore` needs to continue after ``epoch``, as plain tensors and values."""
    ema = trainer.ema
    return {
        "epoch": epoch,
        "model": trainer.model.state_dict(),
        "optimizer": trainer.optimizer.state_dict(),
        "scheduler": trainer.scheduler.state_dict() if trainer.scheduler is not None else None,
        "shuffle_rng": trainer.shuffle.get_state(),
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if trainer.device.type == "cuda" else [],
        "config": trainer.config.to_dict(),
        "history": [r.to_json() for r in trainer.history],
        "dataset": trainer.data.name,
        # the scale the epoch trained with: a `+` during its test set is a row of the next epoch,
        # which a resume cuts with that epoch; saved here, the resume had trained on under it unsaid
        "lr_scale": trainer.epoch_run.applied_scale if trainer.epoch_run is not None else trainer.control.lr_scale,
        **({"ema": ema.state_dict(), "ema_steps": trainer.epoch_run.ema_steps} if ema is not None else {}),
    }


def _match_layouts(optimizer: torch.optim.Optimizer) -> None:
    """Each moment in its parameter's memory layout. The model is channels-last on the CPU and
    contiguous on CUDA, and ``load_state_dict`` keeps the saved layout: the fused Adam kernel
    reads both as one, and a CUDA checkpoint resumed on the CPU trained 0.139 away in weights
    (1 point of test accuracy after an epoch) from the same resume with matching layouts."""
    for param, moments in optimizer.state.items():
        for key, value in moments.items():
            if isinstance(value, torch.Tensor) and value.shape == param.shape and value.stride() != param.stride():
                moments[key] = torch.empty_like(param, dtype=value.dtype).copy_(value)


def restore(trainer, state: dict[str, Any]) -> None:
    """Model, optimizer, schedule, RNGs and history of ``state`` into a set-up trainer."""
    try:
        trainer.model.load_state_dict(state["model"])
    except (RuntimeError, KeyError) as exc:
        raise ckpt.CheckpointError(f"the checkpoint is of another model ({str(exc).splitlines()[0]})") from None
    optimizer, config = trainer.optimizer, trainer.config
    fresh_hyper = [{k: v for k, v in g.items() if k != "params"} for g in optimizer.param_groups]
    try:
        optimizer.load_state_dict(state["optimizer"])
    except (ValueError, KeyError, RuntimeError, TypeError) as exc:
        raise ckpt.CheckpointError(f"the checkpoint's optimizer state does not fit ({exc})") from None
    # This device's kernels (fused, foreach), not the saver's, and this program's one Adam: the
    # switches it never varies come from the fresh optimizer too (a damaged amsgrad=None passes
    # the foreach kernel but makes the fused one raise a TypeError in the first step).
    own = ("fused", "foreach", "capturable", "differentiable", "amsgrad", "maximize", "decoupled_weight_decay")
    for group, fresh in zip(optimizer.param_groups, fresh_hyper, strict=True):
        group.update({key: fresh[key] for key in own if key in fresh})
    _match_layouts(optimizer)
    done = int(state["epoch"])
    saved = state.get("scheduler") or {}
    saved_config = state.get("config") or {}
    same_plan = trainer.scheduler is not None and saved.get("total_steps") == trainer.scheduler.total_steps
    # and as far along as this plan's batches say: 8 steps of 4 a epoch, resumed as 8 of 2, overran
    same_plan = same_plan and saved.get("last_epoch") == done * trainer.batches
    same_plan = same_plan and all(saved_config.get(k) == getattr(config, k) for k in ("lr", "schedule"))
    try:
        if same_plan:
            trainer.scheduler.load_state_dict(saved)
        elif trainer.scheduler is not None:  # another plan (epochs, lr, batches): a fresh cycle for what is left
            trainer.scheduler = trainer.make_scheduler(config.epochs, done * trainer.batches)
        else:  # constant lr: the options given now, not the saved (maybe mid-cycle) values
            for group, fresh in zip(optimizer.param_groups, fresh_hyper, strict=True):
                group.update(lr=fresh["lr"], betas=fresh["betas"])
        if "shuffle_rng" in state:
            trainer.shuffle.set_state(state["shuffle_rng"])
        if "torch_rng" in state:
            torch.set_rng_state(state["torch_rng"])
        if state.get("cuda_rng") and trainer.device.type == "cuda":
            torch.cuda.set_rng_state_all(state["cuda_rng"])
    except (ValueError, KeyError, RuntimeError, TypeError) as exc:
        raise ckpt.CheckpointError(f"the checkpoint's schedule or random state is damaged ({exc})") from None
    if trainer.ema is not None:
        try:  # a checkpoint without an average (another recipe) starts it from the weights
            trainer.ema.load_state_dict(state.get("ema") or state["model"])
        except (RuntimeError, KeyError, TypeError) as exc:
            raise ckpt.CheckpointError(f"the checkpoint's weight average does not fit ({exc})") from None
        steps = state.get("ema_steps", 0)
        counted = isinstance(steps, int) and not isinstance(steps, bool) and steps >= 0
        trainer.restored_ema_steps = steps if counted else 0
    trainer.start_epoch, trainer.history = done + 1, history_from_checkpoint(state.get("history", []))
    scale = state.get("lr_scale", 1.0)
    if isinstance(scale, (int, float)) and not isinstance(scale, bool) and 0 < scale < float("inf"):
        trainer.control.continue_from(float(scale))  # steering (+/-) carries on where it was
    trainer.result.epochs_done = done
    trainer.keeper.restored(done, state)
    _record_new_plan(trainer, saved_config, done)


def _record_new_plan(trainer, saved_config: dict[str, Any], done: int) -> None:
    """``--resume --epochs N`` over another plan is a plan change like `a`'s, recorded as one
    (held until a batch trains): a run steered to 13 epochs and resumed for 6 replayed as
    "epochs 3 → 13", then "6 → 11", and kept its "→13" mark."""
    planned, config, samples = saved_config.get("epochs"), trainer.config, len(trainer.train_y)
    if not isinstance(planned, int) or isinstance(planned, bool) or not done:
        return
    before = Plan.planned(planned, last_epoch_fraction_of(saved_config), trainer.history, samples)
    after = Plan.planned(config.epochs, config.last_epoch_fraction, trainer.history, samples)
    if after.length != before.length:  # a sprint's 2.5 resumed with --epochs 3: the same 3, another plan
        what = f"epochs {before.number} → {after.number} (--resume)"
        trainer.held.append(Steered(done, 0, what, trainer.control.lr_scale, config.epochs, time.time()))


# The settings a resume may be given anew, by the option that gives them (the plan is said as a
# plan change; the dataset is the run's, resolved: a run of "auto" resumes on what it trained on)
RESUMED_OPTIONS = {
    "batch_size": "--batch-size", "lr": "--lr", "schedule": "--schedule", "conv_dropout": "--dropout",
    "fc_dropout": "--dropout", "seed": "--seed", "device": "--device", "precision": "--precision",
    "cuda_graphs": "--cuda-graphs", "split_batch": "--split-batch", "share_cores": "--share-cores",
    "tests_per_epoch": "--tests-per-epoch", "limit_train": "--limit-train",
}  # fmt: skip


def settings_changed(saved_config: dict[str, Any], config: Config) -> str | None:
    """The line a resume with other settings says ("resumed with --batch-size 64 (was 128)"), or
    None: a resume takes the run's saved settings and the options given over them, and had said
    nothing of those it changed. A setting an older checkpoint lacks had its default."""
    defaults = {f.name: f.default for f in fields(Config)}
    said: dict[str, tuple[list[str], list[str]]] = {}
    for name, option in RESUMED_OPTIONS.items():
        was, now = saved_config.get(name, defaults[name]), getattr(config, name)
        if was != now:
            olds, news = said.setdefault(option, ([], []))
            olds.append(_setting(was, now)), news.append(_setting(now, was))
    if not said:
        return None
    changes = (f"{option} {'/'.join(dict.fromkeys(news))} (was {'/'.join(dict.fromkeys(olds))})"
               for option, (olds, news) in said.items())  # fmt: skip
    return "resumed with " + ", ".join(changes)


def _setting(value: Any, other: Any = None) -> str:
    """As an option is written; a float in full where its short form is the other value's too."""
    if value is None:
        return "not set"
    if isinstance(value, float):
        short = f"{value:g}"
        return repr(value) if isinstance(other, float) and short == f"{other:g}" else short
    return str(value)


def as_it_was(trainer) -> None:
    """A resumed run that trained no batch (quit before space; `a` then S S on a finished run)
    changed nothing, and its folder is put back at the end: the faces hear its plan and its end
    as they were (the dashboard said "stopped, epoch 9/14" beside a folder that says "finished
    9/9", and offered to continue it)."""
    saved = trainer.resume_state.get("config") or {}
    planned = int(saved.get("epochs") or trainer.config.epochs)
    if planned != trainer.config.epochs:  # with the share of its last epoch (sprint's 2.5 epochs)
        fraction = float(saved.get("last_epoch_fraction", 1.0))
        trainer.config = trainer.config.with_changes(epochs=planned, last_epoch_fraction=fraction)
        trainer.listener(PlanChanged(planned))
    trainer.control.set_epochs(planned)  # the next `a` adds to this plan, not to the one withdrawn
    trainer.result.stopped = trainer.result.epochs_done < planned
    trainer.finished = not trainer.result.stopped


def leave_untrained_folder(trainer) -> None:
    """After a run no batch was trained in, its folder as it was found: a resumed run's own is put
    back (not after a failure: that is news); a new run's files go (a dashboard opened and quit, a
    served page closed, `--resume RUN --run-dir NEW` quit before space); so does the folder a failed
    start made."""
    from mnist_tui.made_folders import remove_if_unused, remove_unopened

    writer, run_dir = trainer.writer, trainer.config.run_dir
    if writer is not None and not trainer.trained_here:  # its folder opened (rank 0)
        if trainer.result.error is None and writer.restore_earlier():
            return
        remove_if_unused(run_dir, writer.held_results)
    elif writer is None and run_dir is not None and trainer.world.is_main:
        remove_unopened(run_dir)


def saved_reports(run_dir: Path | None, epochs_done: int) -> Iterator[object]:
    """What the finished epochs showed, from the run folder: their batch reports (the loss plot),
    their steering (its marks, and the lr scale in force: a resumed run's settings said nothing
    of it) and their layer statistics (the model view's Layers tab shows every epoch)."""
    if run_dir is None or epochs_done <= 0:
        return iter(())
    from mnist_tui.runfolder.layers_log import read_layer_stats
    from mnist_tui.runfolder.names import STEERING_NAME
    from mnist_tui.runfolder.reader import read_batches, read_rows
    from mnist_tui.training.events import Steered
    from mnist_tui.training.run_order import in_run_order

    batches = [b for b in read_batches(run_dir).records if b.epoch <= epochs_done]
    steered = read_rows(Path(run_dir) / STEERING_NAME, Steered.from_json).records
    steering = [s for s in steered if s.kept_on_resume(epochs_done)]
    layers = [r for r in read_layer_stats(run_dir).records if r.epoch <= epochs_done]
    return iter(in_run_order(batches, layers, steering))  # every change came after every batch


def failure_message(exc: BaseException, world, kept_epoch: int, run_dir) -> str:
    """The one line a face shows for a failed run: what went wrong and what was kept."""
    message = str(exc) if isinstance(exc, UserError) else describe_failure(exc)
    if world.distributed and "by peer" in str(exc):  # gloo: "Connection reset/closed by peer"
        message = f"rank {world.rank}: another process of this torchrun job ended (see its own error)"
    if kept_epoch and run_dir is not None:
        message += f"; the checkpoint of epoch {kept_epoch} in {run_dir} is kept"
    return message


def describe_failure(exc: BaseException) -> str:
    if isinstance(exc, (TrainingDiverged, GraphCaptureFailed)):
        return str(exc)
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return "CUDA ran out of memory (try a smaller --batch-size, or --device cpu)"
    if isinstance(exc, OSError) and exc.strerror:  # the machine's answer (disk full, ...), not our code's place
        in_the_way = exc.errno in (errno.EISDIR, errno.ENOTDIR, errno.EEXIST, errno.ENOTEMPTY)
        name = (exc.filename2 if in_the_way else None) or exc.filename  # a rename's target, not its .tmp
        return f"{exc.strerror}" + (f" ({name})" if name else "")
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    place = f" (at {Path(where.filename).name}:{where.lineno})" if where else ""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}{place}"


def continue_command(run_dir: Path, planned: int | None, headless: bool = True) -> str:
    """How to continue a stopped run. ``--epochs N`` only where the plan in force is not the one its
    checkpoint holds (a ``--resume … --epochs 6`` stopped before its next epoch): a resume takes the
    checkpoint's plan, and an ``--epochs`` it did not need would change one such as --recipe sprint's
    2.5 epochs (a given --epochs trains whole ones)."""
    command = f"mnist-tui{' --headless' if headless else ''} --resume {run_dir}"
    try:
        saved = ckpt.load_checkpoint(run_dir)["config"].get("epochs")
    except (ckpt.CheckpointError, OSError, UserError):
        saved = None
    return f"{command} --epochs {planned}" if planned and saved is not None and planned != saved else command
