"""What a checkpoint's optimizer and scheduler state may hold: Adam's state dict for this model,
and None or a OneCycleLR state inside its plan. Anything else is refused with one line naming the field.

:func:`mnist_tui.training.checkpoint_schema.check_state` calls these on the unpickled dictionary;
the reference param group and scheduler state are its fresh Adam and OneCycleLR (``_references``).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import torch

from mnist_tui.training.checkpoint_schema import SchemaError, _is_int, _is_number, _kind, _references, _show

SCHEDULER_WORDS = {"cos", "linear", "initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum"}


def parameter_shapes() -> list[tuple[int, ...]]:
    """Shapes in ``Net().parameters()`` order: the optimizer's state is keyed by these indices."""
    from mnist_tui.model import shaped_net

    return [tuple(p.shape) for p in shaped_net().parameters()]


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
