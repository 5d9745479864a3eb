"""torch's Adam without the ``torch._dynamo`` import that torch puts in front of it.

torch 2.14 guards ``add_param_group``, ``zero_grad``, ``state_dict`` and ``load_state_dict``
with ``torch._disable_dynamo`` and runs every ``step`` through ``_use_grad``, each of which
imports ``torch._dynamo`` on first use, before the first batch. A one-epoch ``--headless`` run
of 2,000 MNIST samples took 3.9-4.2 s with them and takes 2.4-2.7 s without, its peak RSS 840 →
685 MB (4 interleaved rounds, 2-core AMD EPYC Zen 3). Checking a checkpoint (every replay,
follow and workspace check) made an Adam too. No program here compiles, so the guards guard nothing.

:class:`Adam` is torch's own class (its param groups, state and ``state_dict`` are torch's, so
checkpoints are unchanged) calling the functions those guards wrap. The update is torch's own
code too: its steps are bit-for-bit torch's (``tests/test_adam.py``). On a torch whose methods
no longer expose ``__wrapped__`` it falls back to the guarded methods: slower to start, the same.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.optim import Optimizer


def _unguarded(method) -> Any:
    return getattr(method, "__wrapped__", None)


_ADD_GROUP = _unguarded(Optimizer.add_param_group)
_ZERO_GRAD = _unguarded(Optimizer.zero_grad)
_STATE_DICT = _unguarded(Optimizer.state_dict)
_LOAD_STATE_DICT = _unguarded(Optimizer.load_state_dict)
_STEP = _unguarded(torch.optim.Adam.step)


class Adam(torch.optim.Adam):
    """torch's Adam, its guarded methods called unguarded (see the module's docstring)."""

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        if _ADD_GROUP is None:
            return super().add_param_group(param_group)
        return _ADD_GROUP(self, param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        if _ZERO_GRAD is None:
            return super().zero_grad(set_to_none)
        return _ZERO_GRAD(self, set_to_none)

    def state_dict(self) -> dict[str, Any]:
        if _STATE_DICT is None:
            return super().state_dict()
        return _STATE_DICT(self)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if _LOAD_STATE_DICT is None:
            return super().load_state_dict(state_dict)
        return _LOAD_STATE_DICT(self, state_dict)

    def step(self, closure=None):
        # torch's _use_grad: grad mode as `differentiable` says (off here), then the step;
        # it adds only the compiler's graph breaks
        if _STEP is None or self.defaults["differentiable"]:
            return super().step(closure)
        with torch.no_grad():
            return _STEP(self, closure)
