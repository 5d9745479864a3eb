"""What a checkpoint may hold, field by field: anything else is refused with one line naming the field.

The reference shapes and kinds come from this program's own objects (``Net``, a fresh Adam, a
fresh OneCycleLR), so the check follows the model and the installed torch without a copy of
either. Every check runs on the unpickled dictionary, before any of it reaches the trainer:
a field that would make ``load_state_dict`` or the first training step fail is caught here.
The optimizer's and the scheduler's state are checked in :mod:`mnist_tui.training.optimizer_schema`.
"""

from __future__ import annotations

import math
import re
from functools import cache
from pathlib import Path
from typing import Any

import torch

from mnist_tui.errors import UserError
from mnist_tui.training.adam import Adam
from mnist_tui.words import counted

FORMAT_VERSION = 1  # raised when a checkpoint changes so that this version could not read it
FORMAT = f"mnist-tui-checkpoint/{FORMAT_VERSION}"
_NEWER_FORMAT = re.compile(r"mnist-tui-checkpoint/(\d{1,9})")
REQUIRED = {"epoch": int, "model": dict, "optimizer": dict, "config": dict, "history": list}
OPTIONAL = {
    "scheduler",
    "shuffle_rng",
    "torch_rng",
    "cuda_rng",
    "dataset",
    "lr_scale",
    "ema",
    "ema_steps",
}  # older checkpoints lack some
KEYS = {*REQUIRED, *OPTIONAL, "format"}  # resume.checkpoint_state's keys and the format marker
MAX_CUDA_DEVICES = 64  # one RNG state per GPU; each is a few bytes (Philox seed and offset)
MAX_CUDA_STATE = 1024


class CheckpointError(UserError):
    """A checkpoint that cannot be used: unsafe, truncated, or of another model."""


class SchemaError(CheckpointError):
    """One field is wrong; the message names it (the loader prefixes the file)."""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    return "a tensor" if isinstance(value, torch.Tensor) else type(value).__name__


def _show(value: Any) -> str:
    """A value for a one-line message: tensors by kind and shape, anything else cut short."""
    if isinstance(value, torch.Tensor):
        return f"a {str(value.dtype).removeprefix('torch.')} tensor of shape {tuple(value.shape)}"
    text = " ".join(repr(value).split())
    return text if len(text) <= 60 else text[:57] + "..."


def check_history_rows(rows: Any) -> list[dict[str, Any]]:
    """Each row through the one epoch-row schema (:meth:`EpochRecord.from_json`, as metrics.jsonl),
    epochs rising. Raises :class:`SchemaError` (a :class:`CheckpointError`) naming the row and field."""
    from mnist_tui.schema import RecordError
    from mnist_tui.training.events import EpochRecord

    if not isinstance(rows, list):
        raise SchemaError(f"history is {_kind(rows)}, not a list of rows")
    last = 0
    for i, row in enumerate(rows):
        where = f"history row {i + 1}"
        try:
            record = EpochRecord.from_json(row)
        except RecordError as exc:
            raise SchemaError(f"{where}: {exc}") from None
        if record.epoch <= last:
            raise SchemaError(f"{where}: epoch {record.epoch} does not follow epoch {last}")
        last = record.epoch
    return rows


@cache
def _references() -> tuple[dict[str, tuple[int, ...]], dict[str, Any], dict[str, Any]]:
    """This program's model shapes, a fresh Adam param group and a fresh OneCycleLR state."""
    from mnist_tui.model import shaped_net

    net = shaped_net()
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    optimizer = Adam(net.parameters(), lr=1e-3, foreach=False)  # no torch._dynamo (training.adam)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-3, total_steps=8)
    group = {k: v for k, v in optimizer.state_dict()["param_groups"][0].items() if k != "params"}
    return shapes, group, scheduler.state_dict()


def check_model(model: Any) -> None:
    """Same layers and shapes as this program's model, or one line saying what differs."""
    shapes = _references()[0]
    if not isinstance(model, dict):
        raise SchemaError(f"model is {_kind(model)}, not a state dict")
    missing, extra = sorted(shapes.keys() - model.keys()), sorted(map(str, model.keys() - shapes.keys()))
    if missing or extra:
        detail = ", ".join([f"missing {k}" for k in missing[:2]] + [f"unexpected {k}" for k in extra[:2]])
        raise SchemaError(f"it holds another model ({detail})")
    for key, shape in shapes.items():
        tensor = model[key]
        found = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else None
        if found != shape:
            raise SchemaError(f"it holds another model ({key} has shape {found}, this model {shape})")
        if not tensor.is_floating_point() or tensor.layout != torch.strided:
            raise SchemaError(f"model {key} is a {tensor.dtype} {tensor.layout} tensor, not a dense float one")
        if not torch.isfinite(tensor).all():  # else resumed, it "diverged" at its first batch
            raise SchemaError(f"model {key} holds values that are not finite (NaN or infinite)")


def check_rng(state: dict[str, Any]) -> None:
    """Generator states are uint8 vectors of the CPU generator's fixed length; CUDA's, one per GPU."""
    length = torch.Generator().get_state().numel()
    for key in ("shuffle_rng", "torch_rng"):
        if key not in state:
            continue
        value = state[key]
        if not isinstance(value, torch.Tensor) or value.dtype != torch.uint8 or tuple(value.shape) != (length,):
            raise SchemaError(f"{key} is not a generator state ({length} bytes)")
    cuda = state.get("cuda_rng", [])
    if not isinstance(cuda, list) or len(cuda) > MAX_CUDA_DEVICES:
        raise SchemaError("cuda_rng is not a list of GPU generator states")
    for i, value in enumerate(cuda):
        if not isinstance(value, torch.Tensor) or value.dtype != torch.uint8 or value.dim() != 1:
            raise SchemaError(f"cuda_rng[{i}] is not a generator state")
        if not 0 < value.numel() <= MAX_CUDA_STATE:
            raise SchemaError(f"cuda_rng[{i}] has {value.numel()} bytes, not a generator state")


def check_newer(state: Any) -> None:
    """A later mnist-tui's checkpoint is refused as such (as ``run.json`` of a newer format is),
    not called foreign: the fix is to upgrade mnist-tui, not to give the run up."""
    fmt = state.get("format") if isinstance(state, dict) else None
    found = _NEWER_FORMAT.fullmatch(fmt) if isinstance(fmt, str) else None
    if found and int(found.group(1)) > FORMAT_VERSION:
        raise SchemaError(
            f"it was written by a newer mnist-tui: format {found.group(1)} is newer than this mnist-tui reads "
            f"({FORMAT_VERSION}): upgrade mnist-tui"
        )


def check_state(state: Any) -> None:
    """The whole dictionary: its keys, then every field. Raises :class:`SchemaError`."""
    # imported here, not at the top: optimizer_schema imports this module's SchemaError and helpers
    from mnist_tui.training.optimizer_schema import check_optimizer, check_scheduler

    if not isinstance(state, dict) or state.get("format") != FORMAT:
        check_newer(state)
        raise SchemaError("it is not an mnist-tui checkpoint")
    unknown = sorted(map(str, state.keys() - KEYS))
    if unknown:
        raise SchemaError(f"it holds {_show(unknown[0])}, which mnist-tui never writes")
    for key, kind in REQUIRED.items():
        if not isinstance(state.get(key), kind) or isinstance(state.get(key), bool):
            raise SchemaError(f"its {key!r} is missing or of the wrong kind")
    if state["epoch"] < 0:
        raise SchemaError(f"epoch {state['epoch']}")
    check_model(state["model"])
    if "ema" in state:
        check_model(state["ema"])  # the weight average has the model's own shapes
    steps = state.get("ema_steps", 0)
    if not _is_int(steps) or steps < 0:
        raise SchemaError(f"ema_steps is {_show(steps)}, not a whole number ≥ 0")
    check_scheduler(state.get("scheduler"))
    check_optimizer(state["optimizer"], with_scheduler=state.get("scheduler") is not None)
    check_rng(state)
    config = state["config"]
    if not all(isinstance(k, str) and (v is None or isinstance(v, (bool, int, float, str))) for k, v in config.items()):
        raise SchemaError("config holds something other than named plain values")
    if "dataset" in state and not isinstance(state["dataset"], str):
        raise SchemaError(f"dataset is {_kind(state['dataset'])}, not a name")
    scale = state.get("lr_scale", 1.0)
    if not _is_number(scale) or not 0 < scale <= 2**20:
        raise SchemaError(f"lr_scale is {_show(scale)}, not a positive number (the steering factor)")
    rows = check_history_rows(state["history"])
    if len(rows) != state["epoch"] or (rows and rows[-1]["epoch"] != state["epoch"]):
        # every epoch up to the checkpoint's has its row: a resume rewrites metrics.jsonl from them,
        # and a missing one deleted that epoch's row on disk
        reach = f"epochs up to {rows[-1]['epoch']}" if rows else "no epoch"
        raise SchemaError(
            f"history holds {counted(len(rows), 'row')}, {reach}, but the checkpoint is of epoch {state['epoch']}"
        )


def describe(path: Path, error: SchemaError) -> str:
    """``it holds another model`` → ``<path> holds another model``; a field → ``<path> is damaged: …``."""
    text = str(error)
    return f"{path}{text[2:]}" if text.startswith("it ") else f"{path} is damaged: {text}"
