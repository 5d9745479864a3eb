"""What a checkpoint may hold, field by field: anything else is refused with one line naming the field.

The reference shapes and kinds come from this program's own objects (``Net``, a fresh Adam, a
fresh OneCycleLR), so the check follows the model and the installed torch without a copy of
either. Every check runs on the unpickled dictionary, before any of it reaches the trainer:
a field that would make ``load_state_dict`` or the first training step fail is caught here.
"""

from __future__ import annotations

import itertools
import math
from functools import cache
from pathlib import Path
from typing import Any

import torch

from mnist_tui.errors import UserError

FORMAT = "mnist-tui-checkpoint/1"
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
SCHEDULER_WORDS = {"cos", "linear", "initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum"}
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
    from mnist_tui.model import Net

    net = Net()
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, foreach=False)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-3, total_steps=8)
    group = {k: v for k, v in optimizer.state_dict()["param_groups"][0].items() if k != "params"}
    return shapes, group, scheduler.state_dict()


def parameter_shapes() -> list[tuple[int, ...]]:
    """Shapes in ``Net().parameters()`` order: the optimizer's state is keyed by these indices."""
    from mnist_tui.model import Net

    return [tuple(p.shape) for p in Net().parameters()]


def _like(value: Any, template: Any, where: str) -> None:
    """``value`` has ``template``'s structure: numbers for numbers, the same keys, the same lengths."""
    if template is None or isinstance(template, bool):
        ok = value is None or isinstance(value, bool)
    elif _is_number(template):
        ok = _is_number(value)
    elif isinstance(template, str):
        ok = isinstance(value, str)
    elif isinstance(template, (list, tuple)):
        ok = isinstance(value, (list, tuple)) and len(value) == len(template)
        if ok:
            for i, (item, model) in enumerate(zip(value, template, strict=True)):
                _like(item, model, f"{where}[{i}]")
    elif isinstance(template, dict):
        ok = isinstance(value, dict)
        if ok:
            extra = sorted(map(str, value.keys() - template.keys()))
            if extra:
                raise SchemaError(f"{where} has an unexpected entry {_show(extra[0])}")
            missing = sorted(template.keys() - value.keys())
            if missing:
                raise SchemaError(f"{where}.{missing[0]} is missing")
            for key, item in value.items():
                _like(item, template[key], f"{where}.{key}")
    else:
        ok = True
    if not ok:
        raise SchemaError(f"{where} is {_show(value)}, not like {_show(template)}")


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


def check_optimizer(optimizer: Any, with_scheduler: bool) -> None:
    """Adam's state dict for this model: one group over every parameter, moments of the right shapes."""
    group_template = _references()[1]
    shapes = parameter_shapes()
    if not isinstance(optimizer, dict) or set(optimizer) != {"state", "param_groups"}:
        raise SchemaError("optimizer is not a state dict of 'state' and 'param_groups'")
    groups = optimizer["param_groups"]
    if not isinstance(groups, list) or not groups or not all(isinstance(g, dict) for g in groups):
        raise SchemaError("optimizer.param_groups is not a list of groups")
    covered: list[Any] = []
    for i, group in enumerate(groups):
        where = f"optimizer.param_groups[{i}]"
        params = group.get("params")
        if not isinstance(params, list) or not all(_is_int(p) for p in params):
            raise SchemaError(f"{where}.params is not a list of parameter numbers")
        covered += params
        needed = ["lr", "betas", "eps", "weight_decay"]
        needed += ["initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum"] if with_scheduler else []
        for key in needed:
            if key not in group:
                raise SchemaError(f"{where}.{key} is missing")
        for key, value in group.items():
            if key == "params":
                continue
            if key in group_template:
                _like(value, group_template[key], f"{where}.{key}")
            elif not (value is None or isinstance(value, bool) or _is_number(value)):  # a newer torch's flag
                raise SchemaError(f"{where}.{key} is {_kind(value)}, not a plain value")
        _check_ranges(group, where)
    if sorted(covered) != list(range(len(shapes))):
        raise SchemaError(f"optimizer.param_groups cover parameters {sorted(covered)[:12]}, not 0–{len(shapes) - 1}")
    state = optimizer["state"]
    if not isinstance(state, dict):
        raise SchemaError("optimizer.state is not a dict")
    for index, moments in state.items():
        where = f"optimizer.state[{_show(index)}]"
        if not _is_int(index) or not 0 <= index < len(shapes):
            raise SchemaError(f"{where} names no parameter of this model")
        if not isinstance(moments, dict):
            raise SchemaError(f"{where} is {_kind(moments)}, not a dict of tensors")
        for name in ("step", "exp_avg", "exp_avg_sq"):
            if name not in moments:
                raise SchemaError(f"{where}.{name} is missing")
        for name, value in moments.items():
            if name == "step":  # Adam keeps a one-element tensor and divides by 1 - beta1 ** step
                ok = isinstance(value, torch.Tensor) and value.numel() == 1
                ok = ok and value.dtype in (torch.float32, torch.float64)  # what Adam's kernels accept
                ok = ok and math.isfinite(float(value)) and float(value) >= 0
            else:
                ok = name in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq") and isinstance(value, torch.Tensor)
                ok = ok and tuple(value.shape) == shapes[index] and value.dtype == torch.float32  # as the weights
            if not ok:
                raise SchemaError(f"{where}.{name} is not a tensor of shape {shapes[index]}")


def _check_ranges(group: dict[str, Any], where: str) -> None:
    """What Adam's constructor checks, and ``load_state_dict`` does not: a beta of 1 divides by zero."""
    fractions = [*group.get("betas", ()), *(group[k] for k in ("max_momentum", "base_momentum") if k in group)]
    if not all(0 <= beta < 1 for beta in fractions):
        raise SchemaError(f"{where} has a beta or momentum of {_show(fractions)}, not in [0, 1)")
    if not group["eps"] > 0:
        raise SchemaError(f"{where}.eps is {_show(group['eps'])}, not > 0")
    for key in ("lr", "initial_lr", "max_lr", "min_lr", "weight_decay"):
        if key in group and not group[key] >= 0:
            raise SchemaError(f"{where}.{key} is {_show(group[key])}, not ≥ 0")


def check_scheduler(scheduler: Any) -> None:
    """None (constant lr) or a OneCycleLR state whose step count is inside its plan."""
    if scheduler is None:
        return
    template = _references()[2]
    if not isinstance(scheduler, dict):
        raise SchemaError(f"scheduler is {_kind(scheduler)}, not a state dict or None")
    # A torch of another version may save fewer entries (the fresh scheduler keeps its own);
    # inside an entry, everything OneCycleLR reads must be there.
    for key, value in scheduler.items():
        if key not in template:
            raise SchemaError(f"scheduler has an unexpected entry {_show(key)}")
        _like(value, template[key], f"scheduler.{key}")
    words = [w for phase in scheduler.get("_schedule_phases", []) for k, w in phase.items() if k != "end_step"]
    for word in [*words, scheduler.get("_anneal_func_type", "cos")]:
        if word not in SCHEDULER_WORDS:  # names of param-group entries and annealing kinds, looked up later
            raise SchemaError(f"scheduler names {_show(word)}, which OneCycleLR does not know")
    total, last = scheduler.get("total_steps"), scheduler.get("last_epoch")
    if not _is_int(total) or total < 1 or not _is_int(last) or not 0 <= last <= total:
        raise SchemaError(f"scheduler is at step {_show(last)} of {_show(total)}, not inside its plan")
    ends = [0, *(phase["end_step"] for phase in scheduler.get("_schedule_phases", []))]
    if any(b <= a for a, b in itertools.pairwise(ends)) or ends[-1] > total:  # it divides by each phase's length
        raise SchemaError(f"scheduler phases end at steps {ends[1:]}, not rising within {total}")


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


def check_state(state: Any) -> None:
    """The whole dictionary: its keys, then every field. Raises :class:`SchemaError`."""
    if not isinstance(state, dict) or state.get("format") != FORMAT:
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
    if rows and rows[-1]["epoch"] > state["epoch"]:
        raise SchemaError(f"history reaches epoch {rows[-1]['epoch']} but the checkpoint is of epoch {state['epoch']}")


def describe(path: Path, error: SchemaError) -> str:
    """``it holds another model`` → ``<path> holds another model``; a field → ``<path> is damaged: …``."""
    text = str(error)
    return f"{path}{text[2:]}" if text.startswith("it ") else f"{path} is damaged: {text}"
