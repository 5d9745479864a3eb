"""Issue 16: every field of a checkpoint is checked where it is read, and loading is bounded.

A damaged field is one line naming it (exit 2), never an internal location; a zip that would
inflate far beyond anything mnist-tui writes is refused before ``torch.load`` sees it.
"""

from __future__ import annotations

import copy
import io
import math
import os
import random
import struct
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
import torch

from mnist_tui import cli
from mnist_tui.errors import TrainingDiverged
from mnist_tui.synthetic import synthetic_digits
from mnist_tui.training import checkpoint as ckpt
from mnist_tui.training.checkpoint import (
    MAX_CHECKPOINT_BYTES,
    CheckpointError,
    check_history_rows,
    load_checkpoint,
)
from mnist_tui.training.loop import Trainer

REPO = Path(__file__).resolve().parents[1]
MUTATIONS = 300


@pytest.fixture(scope="module")
def tiny_data():
    return synthetic_digits(seed=0, train_size=128, test_size=64)


@pytest.fixture(scope="module")
def real_state(tmp_path_factory, tiny_data) -> dict:
    """A checkpoint dictionary exactly as the trainer writes it, after one real epoch."""
    from mnist_tui.config import Config

    folder = tmp_path_factory.mktemp("trained")
    config = Config(
        epochs=1, batch_size=64, lr=3e-3, seed=0, device="cpu", dataset="synthetic", run_dir=folder / "run",
        data_dir=folder / "data", precision="fp32", download=False,
    )  # fmt: skip
    result = Trainer(config, lambda event: None, datasets=tiny_data).run()
    assert result.error is None and result.epochs_done == 1
    return torch.load(folder / "run" / "checkpoint.pt", weights_only=True)


def _resume_config(tmp_path):
    from mnist_tui.config import Config

    return Config(
        epochs=2, batch_size=64, lr=3e-3, seed=0, device="cpu", dataset="synthetic", run_dir=None,
        data_dir=tmp_path / "data", precision="fp32", download=False, schedule="onecycle",
    )  # fmt: skip


def _save(path: Path, state) -> Path:
    torch.save(state, path)
    return path


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


# -- bounded: refused from the zip directory, before anything is inflated ---------------------------


def _deflated_bomb(path: Path, real_state: dict, megabytes: int) -> None:
    """A checkpoint torch would load, whose extra tensor inflates to ``megabytes`` MiB."""
    buffer = io.BytesIO()
    torch.save({**real_state, "big": torch.zeros(megabytes * 2**18)}, buffer)
    with (
        zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source,
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as bomb,
    ):
        for entry in source.infolist():
            bomb.writestr(entry.filename, source.read(entry.filename))


def _must_not_run(*args, **kwargs):
    raise AssertionError("torch.load ran on a file that should have been refused from its zip directory")


def test_a_deflated_bomb_is_refused_before_torch_load(tmp_path, real_state, monkeypatch):
    path = tmp_path / "checkpoint.pt"
    _deflated_bomb(path, real_state, megabytes=128)
    assert path.stat().st_size < 2 * 2**20  # small on disk
    monkeypatch.setattr(ckpt.torch, "load", _must_not_run)
    with pytest.raises(CheckpointError, match="compressed entry") as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value)


def test_a_declared_size_beyond_the_bound_is_refused(tmp_path, real_state, monkeypatch):
    """Stored (uncompressed) entries whose central directory claims 3.9 GB: refused from the directory."""
    path = _save(tmp_path / "checkpoint.pt", real_state)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        entry = next(e for e in archive.infolist() if e.filename.endswith("/data/0"))
    start = data.find(b"PK\x01\x02")
    while start >= 0:  # the central-directory record of data/0: its two size fields
        name_len = struct.unpack_from("<H", data, start + 28)[0]
        if data[start + 46 : start + 46 + name_len].decode() == entry.filename:
            struct.pack_into("<II", data, start + 20, 3_900_000_000, 3_900_000_000)
            break
        start = data.find(b"PK\x01\x02", start + 4)
    assert start >= 0
    path.write_bytes(bytes(data))
    monkeypatch.setattr(ckpt.torch, "load", _must_not_run)
    with pytest.raises(CheckpointError, match="refused") as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
def test_a_bomb_through_the_cli_costs_no_memory(tmp_path, real_state):
    """In a fresh process: exit 2, one line, and < 64 MB more peak RSS than torch itself.

    Peak RSS is read as VmHWM, which belongs to the process's own memory map: ``ru_maxrss``
    carries over the parent's peak across exec, and pytest's peak (it built the bomb) hid a
    527 MB load when measured that way.
    """
    run = tmp_path / "run"
    run.mkdir()
    _deflated_bomb(run / "checkpoint.pt", real_state, megabytes=512)
    script = textwrap.dedent(
        """
        import sys
        import torch
        from mnist_tui import cli

        def peak_kb():
            with open("/proc/self/status") as f:
                return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))

        before = peak_kb()
        code = cli.main(["--headless", "--resume", sys.argv[1], "--dataset", "synthetic", "--epochs", "2"])
        print(code, peak_kb() - before, file=sys.stdout)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", script, str(run)], capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path
    )
    code, grown_kb = map(int, done.stdout.split())
    assert code == 2
    assert done.stderr.startswith("mnist-tui: error: ") and done.stderr.count("\n") == 1, done.stderr
    assert grown_kb < 64 * 1024, f"peak RSS grew {grown_kb / 1024:.0f} MB loading a refused file"


def test_a_file_larger_than_any_checkpoint_is_refused_unread(tmp_path):
    path = tmp_path / "checkpoint.pt"
    with open(path, "wb") as f:
        f.truncate(MAX_CHECKPOINT_BYTES + 1)  # sparse: no disk used
    with pytest.raises(CheckpointError, match="far beyond any mnist-tui checkpoint"):
        load_checkpoint(path)


def test_legacy_and_foreign_zip_formats_are_refused(tmp_path, real_state):
    legacy = tmp_path / "legacy.pt"
    torch.save(real_state, legacy, _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointError, match="not in the zip format"):
        load_checkpoint(legacy)
    foreign = tmp_path / "foreign.pt"
    buffer = io.BytesIO()
    torch.save(real_state, buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source, zipfile.ZipFile(foreign, "w") as out:
        for entry in source.infolist():
            out.writestr(entry.filename, source.read(entry.filename))
        out.writestr("archive/notes.txt", "hello")
    with pytest.raises(CheckpointError, match="notes.txt', which torch.save never writes"):
        load_checkpoint(foreign)
