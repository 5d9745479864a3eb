"""A checkpoint whose bytes were damaged after it was saved is refused, and so is one a newer
mnist-tui wrote, each with one line saying which.

``torch.load`` checks no CRC: before the loader did, 200 flipped bytes inside a weight tensor
loaded, replayed without a note and resumed from the damaged weights.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
import torch
from checkpoint_states import save as _save
from checkpoint_states import tiny_synthetic, trained_state

from mnist_tui import cli
from mnist_tui.config import Config
from mnist_tui.errors import UserError
from mnist_tui.sources.replay import ReplayRequest, ReplaySource
from mnist_tui.sources.run_record import load_run
from mnist_tui.training import checkpoint as ckpt
from mnist_tui.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from mnist_tui.training.checkpoint_schema import FORMAT, FORMAT_VERSION
from mnist_tui.training.events import DataReady, ModelWeights


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[dict, Path]:
    """A real checkpoint dictionary, and the run folder the trainer saved it in."""
    folder = tmp_path_factory.mktemp("trained")
    return trained_state(folder, tiny_synthetic()), folder / "run"


def _largest_tensor(path: Path) -> zipfile.ZipInfo:
    with zipfile.ZipFile(path) as archive:
        return max((e for e in archive.infolist() if "/data/" in e.filename), key=lambda e: e.file_size)


def _flip_bytes(path: Path, count: int = 200) -> str:
    """XOR ``count`` bytes in the middle of the largest tensor's data; the entry's name."""
    entry = _largest_tensor(path)
    data = bytearray(path.read_bytes())
    assert data[entry.header_offset : entry.header_offset + 4] == b"PK\x03\x04"
    name_len = int.from_bytes(data[entry.header_offset + 26 : entry.header_offset + 28], "little")
    extra_len = int.from_bytes(data[entry.header_offset + 28 : entry.header_offset + 30], "little")
    start = entry.header_offset + 30 + name_len + extra_len + entry.file_size // 2 - count // 2
    for i in range(start, start + count):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    return entry.filename


def _must_not_run(*args, **kwargs):
    raise AssertionError("torch.load ran on a checkpoint whose CRC does not match")


def test_damaged_bytes_inside_a_tensor_are_refused_before_torch_load(tmp_path, trained, monkeypatch):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, trained[0])
    load_checkpoint(path)  # whole, it loads
    entry = _flip_bytes(path)
    before = path.read_bytes()
    # the defect: torch itself loads the damaged file without a word
    assert torch.load(path, map_location="cpu", weights_only=True)["format"] == FORMAT

    monkeypatch.setattr(ckpt.torch, "load", _must_not_run)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert message.startswith(f"{path} is damaged (bad CRC in {entry}): ") and "\n" not in message, message
    assert path.read_bytes() == before  # refused, not touched


def _damaged_run(trained, tmp_path: Path) -> tuple[Path, str]:
    run = tmp_path / "run"
    shutil.copytree(trained[1], run)
    return run, _flip_bytes(run / "checkpoint.pt")


def test_replay_of_a_damaged_checkpoint_notes_it_and_shows_the_curves_only(tmp_path, trained):
    run, entry = _damaged_run(trained, tmp_path)
    record = load_run(run)
    assert record.model_state is None  # the damaged weights are not shown as the run's model
    assert len(record.history) == 1  # metrics.jsonl still gives the curves
    events: list = []
    request = ReplayRequest(run, lambda saved: Config.from_dict({**(saved or {}), "dataset": "synthetic"}))
    assert ReplaySource(request).run(events.append).error is None
    assert not any(isinstance(e, ModelWeights) for e in events)
    ready = next(e for e in events if isinstance(e, DataReady))  # the face shows its notice as a note
    assert f"checkpoint not used: {run / 'checkpoint.pt'} is damaged (bad CRC in {entry}): " in ready.notice


def test_replay_of_a_damaged_checkpoint_without_metrics_says_it_is_damaged(tmp_path, trained):
    run, entry = _damaged_run(trained, tmp_path)
    (run / "metrics.jsonl").unlink()
    with pytest.raises(UserError) as info:
        load_run(run)
    message = str(info.value)
    assert "\n" not in message
    assert f"no finished epoch in metrics.jsonl, and {run / 'checkpoint.pt'} is damaged (bad CRC in {entry})" in message


def test_resume_of_a_damaged_checkpoint_is_one_line_and_exit_2(tmp_path, trained, capsys):
    run, entry = _damaged_run(trained, tmp_path)
    before = (run / "checkpoint.pt").read_bytes()
    code = cli.main(["--headless", "--resume", str(run), "--dataset", "synthetic", "--device", "cpu", "--epochs", "2"])
    err = capsys.readouterr().err
    assert code == 2, err
    expected = f"mnist-tui: error: --resume: {run / 'checkpoint.pt'} is damaged (bad CRC in {entry}): "
    assert err.startswith(expected) and err.count("\n") == 1, err
    assert (run / "checkpoint.pt").read_bytes() == before  # nothing saved is lost


def test_a_newer_format_says_to_upgrade_not_that_it_is_foreign(tmp_path, trained, capsys):
    run = tmp_path / "run"
    run.mkdir()
    path = _save(run / "checkpoint.pt", {**trained[0], "format": f"mnist-tui-checkpoint/{FORMAT_VERSION + 1}"})
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert str(info.value) == (
        f"{path} was written by a newer mnist-tui: format {FORMAT_VERSION + 1} is newer than this mnist-tui reads "
        f"({FORMAT_VERSION}): upgrade mnist-tui"
    )
    assert cli.main(["--headless", "--resume", str(run), "--dataset", "synthetic", "--epochs", "2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "upgrade mnist-tui" in err, err

    for fmt in ("mnist-tui-checkpoint/0", "other-tool/7", "mnist-tui-checkpoint/2x", 2):  # still foreign
        _save(path, {**trained[0], "format": fmt})
        with pytest.raises(CheckpointError, match=r"^.* is not an mnist-tui checkpoint$"):
            load_checkpoint(path)
