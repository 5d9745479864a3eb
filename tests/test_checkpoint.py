"""Checkpoints: atomic writes, safe loading, clear refusals (in-process and through the CLI)."""

from __future__ import annotations

import io
import os
import pickle
import stat
import zipfile

import pytest
import torch

from mnist_tui import cli
from mnist_tui.model import Net
from mnist_tui.training.checkpoint import FORMAT, CheckpointError, load_checkpoint, save_checkpoint, write_atomically

# One history row as the trainer saves it (EpochRecord.to_json()): the loader checks each row.
ROW = {
    "epoch": 1,
    "train_loss": 0.5,
    "train_acc": 0.8,
    "test_loss": 0.4,
    "test_acc": 0.5,
    "seconds": 2.0,
    "samples_per_s": 1000.0,
    "lr": 0.01,
}


def _valid_state(epoch: int = 1) -> dict:
    model = Net()
    optimizer = torch.optim.Adam(model.parameters())
    return {
        "epoch": epoch,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "config": {"epochs": 3, "dataset": "synthetic", "device": "cpu"},
        "history": [{**ROW, "epoch": e} for e in range(1, epoch + 1)],
    }


class WritesMarker:
    """Unpickling this would run ``open(marker, 'w')``: a safe loader must never do it."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _run_cli(argv, capsys) -> tuple[int, str]:
    code = cli.main(argv)
    err = capsys.readouterr().err
    return code, err


def test_round_trip_keeps_everything(tmp_path):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, _valid_state(epoch=2))
    state = load_checkpoint(tmp_path)  # a folder names its checkpoint.pt
    assert state["format"] == FORMAT and state["epoch"] == 2
    assert set(state["model"]) == set(Net().state_dict())
    assert state["history"] == [ROW, {**ROW, "epoch": 2}]


def test_a_checkpoint_with_weights_that_are_not_finite_is_damaged(tmp_path):
    """It loaded, and the resumed run stopped at its first batch as "diverged (try a lower --lr)"."""
    state = _valid_state(epoch=1)
    state["model"]["fc2.weight"][3, 7] = float("nan")
    save_checkpoint(tmp_path / "checkpoint.pt", state)
    with pytest.raises(CheckpointError, match="is damaged: model fc2.weight holds values that are not finite"):
        load_checkpoint(tmp_path)


def test_a_checkpoint_whose_history_misses_an_epoch_is_damaged(tmp_path):
    """It loaded, and resuming rewrote metrics.jsonl from the history: the missing epoch's row went."""
    state = _valid_state(epoch=2)
    state["history"] = state["history"][:1]
    save_checkpoint(tmp_path / "checkpoint.pt", state)
    with pytest.raises(CheckpointError, match=r"history holds 1 row, epochs up to 1, but the checkpoint is of epoch 2"):
        load_checkpoint(tmp_path)


def test_new_checkpoint_is_readable_by_others_like_any_file(tmp_path):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, _valid_state())
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask  # not mkstemp's 0600


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, _valid_state(epoch=1))
    before = path.read_bytes()

    def explode(f):
        f.write(b"half a checkpoint")
        raise KeyboardInterrupt  # a second Ctrl-C mid-write

    with pytest.raises(KeyboardInterrupt):
        write_atomically(path, explode)
    assert path.read_bytes() == before
    assert load_checkpoint(path)["epoch"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]


@pytest.mark.parametrize("packaging", ["torch.save", "plain pickle"])
def test_malicious_checkpoint_is_refused_and_runs_nothing(tmp_path, packaging):
    marker = tmp_path / "pwned"
    payload = {"format": FORMAT, **_valid_state(), "evil": WritesMarker(str(marker))}
    path = tmp_path / "checkpoint.pt"
    if packaging == "torch.save":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert "refused" in message and "nothing in it was run" in message
    assert "\n" not in message and "weights_only" not in message  # no advice to load it unsafely
    assert not marker.exists()


def test_malicious_checkpoint_through_the_cli_is_one_line_and_exit_2(tmp_path, capsys):
    marker = tmp_path / "pwned"
    run = tmp_path / "run"
    run.mkdir()
    torch.save({"format": FORMAT, **_valid_state(), "evil": WritesMarker(str(marker))}, run / "checkpoint.pt")
    code, err = _run_cli(["--headless", "--resume", str(run), "--dataset", "synthetic"], capsys)
    assert code == 2
    assert err.startswith("mnist-tui: error: ") and err.count("\n") == 1
    assert "refused" in err and "io.open" in err
    assert not marker.exists()


def test_truncated_checkpoint_is_a_clear_error(tmp_path):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, _valid_state())
    data = path.read_bytes()
    for cut in (0, 10, len(data) // 2, len(data) - 1):
        path.write_bytes(data[:cut])
        with pytest.raises(CheckpointError) as info:
            load_checkpoint(path)
        assert "truncated" in str(info.value) and "\n" not in str(info.value)


def test_bit_flipped_checkpoint_is_a_clear_error(tmp_path):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, _valid_state())
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        pkl = next(i for i in z.infolist() if i.filename.endswith("data.pkl"))
    start = pkl.header_offset + 30 + len(pkl.filename) + len(pkl.extra)
    data[start : start + 40] = b"\xff" * 40  # wreck the pickle stream itself
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_another_architecture_is_named(tmp_path):
    state = _valid_state()
    state["model"]["conv1.weight"] = torch.zeros(32, 1, 3, 3)
    save_checkpoint(tmp_path / "checkpoint.pt", state)
    with pytest.raises(CheckpointError, match=r"another model \(conv1.weight has shape \(32, 1, 3, 3\)"):
        load_checkpoint(tmp_path)

    other = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))
    state["model"] = other.state_dict()
    save_checkpoint(tmp_path / "checkpoint.pt", state)
    with pytest.raises(CheckpointError, match="another model .*missing"):
        load_checkpoint(tmp_path)


def test_plain_state_dict_is_not_an_mnist_tui_checkpoint(tmp_path):
    torch.save(Net().state_dict(), tmp_path / "weights.pt")
    with pytest.raises(CheckpointError, match="not an mnist-tui checkpoint"):
        load_checkpoint(tmp_path / "weights.pt")


def test_missing_fields_are_damage_not_a_crash(tmp_path):
    state = _valid_state()
    del state["optimizer"]
    save_checkpoint(tmp_path / "checkpoint.pt", state)
    with pytest.raises(CheckpointError, match="'optimizer' is missing"):
        load_checkpoint(tmp_path)


def test_missing_checkpoint_and_folder_without_one(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "nowhere")
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        load_checkpoint(tmp_path)  # an existing folder without checkpoint.pt


@pytest.mark.parametrize("damage", ["truncated", "architecture", "missing"])
def test_bad_checkpoints_through_the_cli_exit_2_in_one_line(tmp_path, capsys, damage):
    run = tmp_path / "run"
    run.mkdir()
    if damage != "missing":
        state = _valid_state()
        if damage == "architecture":
            state["model"]["fc1.weight"] = torch.zeros(64, 320)
        save_checkpoint(run / "checkpoint.pt", state)
        if damage == "truncated":
            (run / "checkpoint.pt").write_bytes((run / "checkpoint.pt").read_bytes()[:1000])
    code, err = _run_cli(["--headless", "--resume", str(run)], capsys)
    assert code == 2, err
    assert err.startswith("mnist-tui: error: ") and err.count("\n") == 1
    assert "Traceback" not in err


def test_a_fifo_is_refused_instead_of_blocking(tmp_path):
    fifo = tmp_path / "checkpoint.pt"
    os.mkfifo(fifo)  # torch.load would wait forever for a writer
    with pytest.raises(CheckpointError, match="not a regular file"):
        load_checkpoint(fifo)


def test_a_file_that_is_not_a_checkpoint_is_called_so_not_a_refused_pickle(tmp_path):
    """A text file was "refused and nothing in it was run … (a bare pickle or torch's legacy format)"."""
    text = tmp_path / "readme.txt"
    text.write_text("notes about this run\n")
    with pytest.raises(CheckpointError, match=r"readme.txt is not a checkpoint \(mnist-tui's are zip files\)"):
        load_checkpoint(text)
    legacy = tmp_path / "legacy.pt"
    legacy.write_bytes(pickle.dumps({"epoch": 1}, protocol=2))
    with pytest.raises(CheckpointError, match="refused and nothing in it was run"):
        load_checkpoint(legacy)
