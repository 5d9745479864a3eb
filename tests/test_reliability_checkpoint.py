"""Issue 16: every field of a checkpoint is checked where it is read.

A damaged field is one line naming it (exit 2), never an internal location. That loading is
bounded (refused from the zip directory) is in ``test_reliability_checkpoint_bounds.py``.
"""

from __future__ import annotations

import copy
import math
import random

import pytest
import torch
from checkpoint_states import save as _save
from checkpoint_states import tiny_synthetic, trained_state

from mnist_tui import cli
from mnist_tui.errors import TrainingDiverged
from mnist_tui.training.checkpoint import CheckpointError, check_history_rows, load_checkpoint
from mnist_tui.training.loop import Trainer

MUTATIONS = 300


@pytest.fixture(scope="module")
def tiny_data():
    return tiny_synthetic()


@pytest.fixture(scope="module")
def real_state(tmp_path_factory, tiny_data) -> dict:
    return trained_state(tmp_path_factory.mktemp("trained"), tiny_data)


def _resume_config(tmp_path):
    from mnist_tui.config import Config

    return Config(
        epochs=2, batch_size=64, lr=3e-3, seed=0, device="cpu", dataset="synthetic", run_dir=None,
        data_dir=tmp_path / "data", precision="fp32", download=False, schedule="onecycle",
    )  # fmt: skip


# -- one field at a time, through the command line -------------------------------------------------


def _damage(state: dict, where: str, value) -> dict:
    state = copy.deepcopy(state)
    *parents, last = where.split("/")
    keys = [int(k) if k.isdigit() else k for k in (*parents, last)]  # list items and optimizer.state
    target = state
    for key in keys[:-1]:
        target = target[key]
    if value is KeyError:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return state


DAMAGES = [
    ("history/0/test_acc", "high", "history row 1: field 'test_acc'"),
    ("history/0/train_loss", float("nan"), "history row 1: field 'train_loss'"),
    ("history/0/epoch", 0, "history row 1: field 'epoch'"),
    ("history/0/test_loss", KeyError, "history row 1: field 'test_loss' is missing"),
    ("history/0", "a row", "history row 1: an epoch row is not a JSON object"),
    ("optimizer/param_groups", {}, "optimizer.param_groups"),
    ("optimizer/param_groups/0/betas", (0.9,), "optimizer.param_groups[0].betas"),
    ("optimizer/param_groups/0/params", [0, 1], "optimizer.param_groups cover"),
    ("optimizer/state/2/exp_avg", torch.zeros(3), "optimizer.state[2].exp_avg"),
    ("optimizer/state/0/step", KeyError, "optimizer.state[0].step is missing"),
    ("scheduler", [1, 2], "scheduler is list"),
    ("scheduler/last_epoch", 10**9, "scheduler is at step"),
    ("scheduler/total_steps", "many", "scheduler.total_steps"),
    ("torch_rng", torch.zeros(10, dtype=torch.uint8), "torch_rng is not a generator state"),
    ("shuffle_rng", torch.zeros(5056, dtype=torch.int64), "shuffle_rng is not a generator state"),
    ("cuda_rng", "gpu", "cuda_rng"),
    ("config", {"epochs": torch.zeros(2)}, "config holds"),
    ("blob", torch.zeros(4), "holds 'blob', which mnist-tui never writes"),
    ("model/fc2.bias", torch.zeros(10, dtype=torch.int64), "model fc2.bias"),
]


@pytest.mark.parametrize(("where", "value", "named"), DAMAGES, ids=[d[0] + ":" + d[2][-12:] for d in DAMAGES])
def test_a_damaged_field_is_one_line_naming_it_and_exit_2(tmp_path, capsys, real_state, where, value, named):
    run = tmp_path / "run"
    run.mkdir()
    _save(run / "checkpoint.pt", _damage(real_state, where, value))
    code = cli.main(["--headless", "--resume", str(run), "--dataset", "synthetic", "--epochs", "2"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("mnist-tui: error: ") and err.count("\n") == 1, err
    assert named in err and str(run / "checkpoint.pt") in err
    assert "Traceback" not in err and ".py:" not in err


def test_history_rows_check_names_row_and_field():
    good = {"epoch": 1, "train_loss": 0.3, "train_acc": 0.9, "test_loss": 0.2, "test_acc": 0.95, "seconds": 1.0}
    good |= {"samples_per_s": 40000.0, "lr": 0.01}  # the one epoch-row schema (EpochRecord) needs them
    assert check_history_rows([good, {**good, "epoch": 2}]) == [good, {**good, "epoch": 2}]
    for rows, named in [
        ([good, good], "history row 2: epoch 1 does not follow epoch 1"),
        ([{**good, "epoch": True}], "history row 1: field 'epoch'"),
        ([good, {**good, "epoch": 2, "test_acc": math.inf}], "history row 2: field 'test_acc'"),
        ([{**good, "samples_per_s": "fast"}], "history row 1: field 'samples_per_s'"),
        ([{**good, "device": 3}], "history row 1: field 'device'"),
        ("rows", "history is str"),
    ]:
        with pytest.raises(CheckpointError, match="^" + named.replace("(", r"\(")):
            check_history_rows(rows)


def test_the_real_checkpoint_passes_every_check(tmp_path, real_state):
    state = load_checkpoint(_save(tmp_path / "checkpoint.pt", real_state))
    assert state["epoch"] == 1 and len(state["history"]) == 1


def test_checking_a_checkpoint_imports_no_compiler_and_checks_against_what_torch_writes(tmp_path, real_state):
    """A replay made an Adam only to read its param group, and torch's guard on Adam imported
    torch._dynamo: 1.9 s of a 6.3-7.1 s replay on a Zen 3 EPYC (3.3-3.8 s without it)."""
    import subprocess
    import sys

    from mnist_tui.training.checkpoint_schema import _references

    path = _save(tmp_path / "checkpoint.pt", real_state)
    code = (
        "import sys; from mnist_tui.training.checkpoint import load_checkpoint; "
        f"load_checkpoint({str(path)!r}); print('torch._dynamo' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "False"
    # the reference is the same as torch's own Adam and OneCycleLR write
    _, group, scheduler_state = _references()
    net = torch.nn.Linear(2, 2)
    adam = torch.optim.Adam(net.parameters(), lr=1e-3, foreach=False)
    one_cycle = torch.optim.lr_scheduler.OneCycleLR(adam, max_lr=1e-3, total_steps=8)
    assert group == {k: v for k, v in adam.state_dict()["param_groups"][0].items() if k != "params"}
    assert scheduler_state == one_cycle.state_dict()


# -- random damage: a valid load or one CheckpointError, never anything else -----------------------


def _paths(value, prefix=()):
    """Every place in the nested dictionary that a mutation can hit."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _paths(item, (*prefix, i))


def _replacement(rng: random.Random, old):
    pool = [
        None, True, -1, 0, 3, 10**12, 1e308, math.nan, math.inf, "x", "", [], {}, [1, 2], (0.9,), {"a": 1},
        {0: {}}, torch.zeros(3), torch.zeros(()), torch.zeros(5056, dtype=torch.uint8), torch.zeros(2, 2),
    ]  # fmt: skip
    if isinstance(old, torch.Tensor):
        pool += [
            old.to(torch.int64),
            old.reshape(-1),
            old.t() if old.dim() == 2 else old.reshape(-1)[:1],
            old * math.nan,
        ]
    if isinstance(old, (int, float)) and not isinstance(old, bool):
        pool += [-old, old * 1e6, float(old), str(old)]
    return rng.choice(pool)


def _mutate(state: dict, rng: random.Random) -> dict:
    state = copy.deepcopy(state)
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        path = rng.choice(list(_paths(state))[1:])
        parent = state
        for key in path[:-1]:
            parent = parent[key]
        last = path[-1]
        if isinstance(parent, tuple):  # betas: rebuild the tuple around the change
            continue
        action = rng.random()
        if action < 0.25:
            del parent[last]
        elif action < 0.35 and isinstance(parent, dict):
            parent[rng.choice(["extra", 99, "epoch2"])] = _replacement(rng, None)
        else:
            parent[last] = _replacement(rng, parent[last])
    return state


def test_randomly_damaged_checkpoints_load_or_are_refused_in_one_line(tmp_path, real_state, tiny_data):
    """A few hundred seeded mutations; what loads must also resume and train without a crash."""
    rng = random.Random(16)
    outcomes = {"refused": 0, "loaded": 0}
    path = tmp_path / "checkpoint.pt"
    for i in range(MUTATIONS):
        damaged = _mutate(real_state, rng)
        _save(path, damaged)
        try:
            state = load_checkpoint(path)
        except CheckpointError as exc:
            message = str(exc)
            assert "\n" not in message and str(path) in message, (i, message)
            outcomes["refused"] += 1
            continue
        outcomes["loaded"] += 1
        result = Trainer(_resume_config(tmp_path), lambda event: None, resume_state=state, datasets=tiny_data).run()
        assert result.error is None or isinstance(result.error, (CheckpointError, TrainingDiverged)), (
            i,
            repr(result.error),
        )
    assert outcomes["refused"] >= MUTATIONS // 3 and outcomes["loaded"] >= 10, outcomes
