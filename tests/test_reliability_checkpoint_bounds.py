"""Issue 16: loading a checkpoint is bounded.

A zip that would inflate far beyond anything mnist-tui writes is refused before ``torch.load``
sees it. That every field is checked where it is read is in ``test_reliability_checkpoint.py``.
"""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
import torch
from checkpoint_states import save as _save
from checkpoint_states import tiny_synthetic, trained_state

from mnist_tui.training import checkpoint as ckpt
from mnist_tui.training.checkpoint import MAX_CHECKPOINT_BYTES, CheckpointError, load_checkpoint

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def real_state(tmp_path_factory) -> dict:
    return trained_state(tmp_path_factory.mktemp("trained"), tiny_synthetic())


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
