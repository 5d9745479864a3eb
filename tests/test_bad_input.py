"""Bad input gets one clear line on stderr and exit code 2, never a traceback.

Most cases run ``cli.main`` in-process (fast); a few run the real command in a subprocess
to prove that nothing else (a traceback, a warning) reaches the terminal.
"""

from __future__ import annotations

import gzip
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mnist_tui import cli

REPO = Path(__file__).resolve().parents[1]
NAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "t10k": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _idx_images(n: int, magic: int = 2051) -> bytes:
    return struct.pack(">IIII", magic, n, 28, 28) + bytes(n * 28 * 28)


def _idx_labels(n: int, magic: int = 2049, label: int = 3) -> bytes:
    return struct.pack(">II", magic, n) + bytes([label]) * n


def _tiny_mnist(root: Path, n: int = 20, packed: bool = False) -> Path:
    """A valid MNIST/raw folder in the real layout, with ``n`` blank digits per split."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for images, labels in NAMES.values():
        for name, payload in ((images, _idx_images(n)), (labels, _idx_labels(n))):
            if packed:
                (raw / f"{name}.gz").write_bytes(gzip.compress(payload))
            else:
                (raw / name).write_bytes(payload)
    return raw


def _main(argv: list[str], capsys) -> tuple[int, str]:
    code = cli.main(argv)
    return code, capsys.readouterr().err


def _train_mnist(data_dir: Path, tmp_path: Path, capsys, *extra: str) -> tuple[int, str]:
    argv = ["--headless", "--dataset", "mnist", "--data-dir", str(data_dir), "--run-dir", str(tmp_path / "run")]
    return _main([*argv, "--epochs", "1", "--device", "cpu", *extra], capsys)


def _assert_one_line(code: int, err: str, *words: str) -> None:
    assert code == 2, err
    assert err.startswith("mnist-tui: error: "), err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in err, (word, err)


@pytest.fixture
def no_download(monkeypatch):
    """Downloads fail at once (connection refused), as on a machine without network."""
    from torchvision.datasets import MNIST

    monkeypatch.setattr(MNIST, "mirrors", ["http://127.0.0.1:9/"])


def test_tiny_mnist_fixture_is_valid_data(tmp_path, capsys):
    """The baseline the corruptions below start from: it trains and exits 0."""
    _tiny_mnist(tmp_path / "data")
    code, err = _train_mnist(tmp_path / "data", tmp_path, capsys)
    assert code == 0, err


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_corrupt_gz(tmp_path, capsys, damage):
    raw = _tiny_mnist(tmp_path / "data", packed=True)
    gz = raw / "train-images-idx3-ubyte.gz"
    data = gz.read_bytes()
    gz.write_bytes(data[: len(data) // 2] if damage == "truncated" else data[:10] + os.urandom(200))
    code, err = _train_mnist(tmp_path / "data", tmp_path, capsys)
    _assert_one_line(code, err, "train-images-idx3-ubyte.gz", "corrupt or truncated")
    assert not (raw / "train-images-idx3-ubyte").exists()  # nothing half-unpacked left behind


def test_a_gz_that_unpacks_to_far_more_than_mnist_is_refused_and_leaves_nothing(tmp_path, capsys):
    """4.2 MB of archive, 4 GiB of zeros behind a valid header: unpacked whole, onto the disk."""
    raw = _tiny_mnist(tmp_path / "data", packed=True)
    bomb = struct.pack(">IIII", 2051, 60_000, 28, 28) + bytes(70 * 2**20)
    (raw / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(bomb, compresslevel=1))
    code, err = _train_mnist(tmp_path / "data", tmp_path, capsys)
    _assert_one_line(code, err, "train-images-idx3-ubyte.gz unpacks to more than 64 MiB: not an MNIST file")
    assert not (raw / "train-images-idx3-ubyte").exists()


def test_wrong_idx_magic(tmp_path, capsys):
    raw = _tiny_mnist(tmp_path / "data")
    (raw / "t10k-labels-idx1-ubyte").write_bytes(_idx_labels(20, magic=2051))
    code, err = _train_mnist(tmp_path / "data", tmp_path, capsys)
    _assert_one_line(code, err, "t10k-labels-idx1-ubyte", "magic 2051, expected 2049")


def test_truncated_idx_file(tmp_path, capsys):
    raw = _tiny_mnist(tmp_path / "data")
    images = raw / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-100])
    code, err = _train_mnist(tmp_path / "data", tmp_path, capsys)
    _assert_one_line(code, err, "truncated")


def test_an_idx_file_cut_inside_its_header(tmp_path, capsys):
    """12 bytes of an images file (16 of header): "error: unpack requires a buffer of 12 bytes", exit 1."""
    raw = _tiny_mnist(tmp_path / "data")
    images = raw / "t10k-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:12])
    code, err = _train_mnist(tmp_path / "data", tmp_path, capsys)
    _assert_one_line(code, err, "t10k-images-idx3-ubyte is truncated (no whole idx header: 12 bytes)")


def test_images_labels_count_mismatch(tmp_path, capsys):
    raw = _tiny_mnist(tmp_path / "data")
    (raw / "train-labels-idx1-ubyte").write_bytes(_idx_labels(19))
    code, err = _train_mnist(tmp_path / "data", tmp_path, capsys)
    _assert_one_line(code, err, "20 images", "19 labels")


def test_labels_outside_0_to_9(tmp_path, capsys):
    raw = _tiny_mnist(tmp_path / "data")
    (raw / "t10k-labels-idx1-ubyte").write_bytes(_idx_labels(20, label=12))
    code, err = _train_mnist(tmp_path / "data", tmp_path, capsys)
    _assert_one_line(code, err, "labels outside 0–9")


def test_missing_files_with_dataset_mnist_never_fall_back(tmp_path, capsys, no_download):
    (tmp_path / "data").mkdir()
    code, err = _train_mnist(tmp_path / "data", tmp_path, capsys)
    _assert_one_line(code, err, "MNIST is not in", "could not be downloaded")
    assert "synthetic" not in err


def test_a_folder_with_some_of_the_files_names_the_missing_ones(tmp_path, capsys, no_download):
    """Two of the four files, offline: it said "MNIST is not in data", of a folder that held them."""
    raw = _tiny_mnist(tmp_path / "data")
    for name in NAMES["t10k"]:
        (raw / name).unlink()
    code, err = _train_mnist(tmp_path / "data", tmp_path, capsys)
    _assert_one_line(code, err, "lacks t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte", "could not be downloaded")
    assert "is not in" not in err and (raw / "train-images-idx3-ubyte").is_file()  # what was there stays


def test_data_folder_that_cannot_be_written(tmp_path, capsys, no_download):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")  # root ignores chmod, but nothing can mkdir under a file
    code, err = _train_mnist(blocker / "data", tmp_path, capsys)
    _assert_one_line(code, err, f"--data-dir {blocker / 'data'}", "a part of the path is a file, not a folder")


def test_run_folder_that_cannot_be_written_fails_before_any_data_is_read(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    argv = ["--headless", "--dataset", "mnist", "--data-dir", str(tmp_path / "nothing-here"), "--epochs", "1"]
    code, err = _main([*argv, "--run-dir", str(blocker / "run")], capsys)
    _assert_one_line(code, err, f"--run-dir {blocker / 'run'}", "a part of the path is a file")  # not missing data


def test_run_folder_that_is_a_file(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    code, err = _main(["--headless", "--dataset", "synthetic", "--run-dir", str(blocker)], capsys)
    _assert_one_line(code, err, "not a folder")


def test_run_folder_that_is_a_dangling_link(tmp_path, capsys):
    """It said "exists but is not a folder", where the data files' checks say what it is."""
    link = tmp_path / "run"
    link.symlink_to(tmp_path / "nowhere")
    code, err = _main(["--headless", "--dataset", "synthetic", "--run-dir", str(link)], capsys)
    _assert_one_line(code, err, "is a symbolic link to nothing")
    assert link.is_symlink() and not (tmp_path / "nowhere").exists()  # nothing made through it


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--epochs", "0", ["--epochs", "at least 1"]),
        ("--epochs", "abc", ["--epochs", "not a whole number"]),
        ("--epochs", "2.5", ["--epochs", "not a whole number"]),
        ("--lr", "-1", ["--lr", "must be in"]),
        ("--lr", "nan", ["--lr", "not a finite number"]),
        ("--lr", "fast", ["--lr", "not a number"]),
        ("--batch-size", "0", ["--batch-size", "at least 1"]),
        ("--limit-train", "-5", ["--limit-train", "at least 1"]),
        ("--dropout", "1.5", ["--dropout", "must be in"]),
        ("--dataset", "cifar", ["--dataset", "invalid choice"]),
    ],
)
def test_bad_option_values(option, value, words, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--headless", option, value])
    _assert_one_line(info.value.code, capsys.readouterr().err, *words)


def test_unknown_device(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:  # refused by argparse, with the Config rule's words
        cli.main(["--headless", "--device", "tpu", "--run-dir", str(tmp_path / "run")])
    _assert_one_line(info.value.code, capsys.readouterr().err, "--device", "unknown device 'tpu'")
    assert not (tmp_path / "run").exists()  # refused before anything was made


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda(tmp_path, capsys):
    code, err = _main(["--headless", "--device", "cuda", "--run-dir", str(tmp_path / "run")], capsys)
    _assert_one_line(code, err, "CUDA is not available")


def test_run_folder_of_another_run_is_never_overwritten(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoint.pt").write_bytes(b"precious")
    code, err = _main(["--headless", "--dataset", "synthetic", "--run-dir", str(run)], capsys)
    _assert_one_line(code, err, "already holds a run", f"--resume {run}")
    assert (run / "checkpoint.pt").read_bytes() == b"precious"


def test_default_run_folder_name_taken_picks_a_fresh_one(tmp_path, monkeypatch):
    from mnist_tui.rundir import claim_run_dir, release_locks

    taken = tmp_path / "runs" / "20260101-120000"
    taken.mkdir(parents=True)
    (taken / "checkpoint.pt").write_bytes(b"precious")
    try:
        chosen = claim_run_dir(taken, fresh_name=True)
    finally:
        release_locks()
    assert chosen == taken.with_name("20260101-120000-2") and chosen.is_dir()
    assert (taken / "checkpoint.pt").read_bytes() == b"precious"


def test_run_folder_in_use_by_another_process_is_refused(tmp_path):
    pytest.importorskip("fcntl")
    from mnist_tui.errors import UserError
    from mnist_tui.rundir import claim_run_dir, release_locks

    code = (
        "import sys, time; from mnist_tui.rundir import claim_run_dir; "
        f"claim_run_dir({str(tmp_path / 'run')!r}); print('held', flush=True); time.sleep(30)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(UserError, match="in use by another mnist-tui process"):
            claim_run_dir(tmp_path / "run")
        (tmp_path / "run" / "checkpoint.pt").write_bytes(b"its first epoch")  # now it holds a run, still live
        with pytest.raises(UserError, match=r"in use by another mnist-tui process; --follow .*run watches it"):
            claim_run_dir(tmp_path / "run")  # it said "continue it with --resume", which is refused too
    finally:
        holder.kill()
        holder.wait()
        release_locks()


def _cli_subprocess(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "MNIST_TUI_DATA": str(cwd / "cache")}
    return subprocess.run(
        [sys.executable, "-m", "mnist_tui", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_real_process_corrupt_data_prints_one_line_only(tmp_path):
    raw = _tiny_mnist(tmp_path / "data", packed=True)
    (raw / "t10k-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b\x08\x00" + os.urandom(64))
    done = _cli_subprocess(
        "--headless", "--dataset", "mnist", "--data-dir", str(tmp_path / "data"), "--epochs", "1", cwd=tmp_path
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("mnist-tui: error: "), done.stderr
    assert "t10k-images-idx3-ubyte.gz is corrupt or truncated" in done.stderr
    assert done.stdout.strip() == ""


def test_real_process_bad_option_prints_one_line_only(tmp_path):
    done = _cli_subprocess("--headless", "--epochs", "abc", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == "mnist-tui: error: argument --epochs: 'abc' is not a whole number\n"


@pytest.mark.parametrize("damage", [{"epochs": "abc"}, {"data_dir": None}, {"lr": -1.0}, {"eval_batch_size": 0}])
def test_resumed_checkpoint_with_a_damaged_config(tmp_path, capsys, damage):
    from mnist_tui.model import Net
    from mnist_tui.training.checkpoint import save_checkpoint
    from mnist_tui.training.events import EpochRecord

    model = Net()
    state = {
        "epoch": 1,
        "model": model.state_dict(),
        "optimizer": torch.optim.Adam(model.parameters()).state_dict(),
        "config": {"epochs": 3, "dataset": "synthetic", **damage},
        "history": [EpochRecord(1, 2.0, 0.3, 1.9, 0.35, 1.0, 1000.0, 1e-3).to_json()],
    }
    save_checkpoint(tmp_path / "checkpoint.pt", state)
    code, err = _main(["--headless", "--resume", str(tmp_path)], capsys)
    _assert_one_line(code, err, "saved config")


@pytest.mark.parametrize(("used", "expected"), [("MNIST", "mnist"), ("synthetic digits", "synthetic")])
def test_resume_keeps_the_data_the_run_was_trained_on(tmp_path, used, expected):
    from mnist_tui.errors import UserError
    from mnist_tui.rundir import release_locks

    args = cli.build_parser().parse_args(["--headless", "--resume", str(tmp_path)])
    saved = {"epoch": 1, "dataset": used, "config": {"dataset": "auto", "epochs": 3}}
    config = cli.build_config(args, saved["config"])
    assert config.dataset == "auto"
    try:
        assert cli.prepare_run(args, config, saved).dataset == expected  # never a silent fallback
    finally:
        release_locks()
    other = "synthetic" if expected == "mnist" else "mnist"
    in_place = cli.build_parser().parse_args(["--headless", "--resume", str(tmp_path), "--dataset", other])
    with pytest.raises(UserError, match=f"the run trained on {used}.*--run-dir NEW"):  # one folder, two datasets
        cli.prepare_run(in_place, cli.build_config(in_place, saved["config"]), saved)
    auto = cli.build_parser().parse_args(["--headless", "--resume", str(tmp_path), "--dataset", "auto"])
    try:  # an explicit "auto" is no other dataset: it keeps the run's, as leaving --dataset out does
        assert cli.prepare_run(auto, cli.build_config(auto, saved["config"]), saved).dataset == expected
    finally:
        release_locks()
    elsewhere = tmp_path.parent / f"{tmp_path.name}-on-{other}"
    explicit = cli.build_parser().parse_args(
        ["--headless", "--resume", str(tmp_path), "--dataset", other, "--run-dir", str(elsewhere)]
    )
    try:
        assert cli.prepare_run(explicit, cli.build_config(explicit, saved["config"]), saved).dataset == other
    finally:
        release_locks()


def test_resume_in_the_runs_folder_keeps_the_number_of_samples_it_trained_on(tmp_path):
    """--limit-train 500 on a run trained on 3,000 samples was taken silently: its run.json, the
    replay and the export then said "500 train" of epochs trained on 3,000."""
    from mnist_tui.errors import UserError
    from mnist_tui.rundir import release_locks

    saved = {"epoch": 1, "dataset": "MNIST", "config": {"dataset": "mnist", "epochs": 3, "limit_train": 3000}}

    def prepared(*options: str):
        args = cli.build_parser().parse_args(["--headless", "--resume", str(tmp_path), *options])
        try:
            return cli.prepare_run(args, cli.build_config(args, saved["config"]), saved)
        finally:
            release_locks()

    with pytest.raises(UserError, match="--limit-train 500: the run trained on its first 3,000 training samples"):
        prepared("--limit-train", "500")
    assert prepared().limit_train == 3000 and prepared("--limit-train", "3000").limit_train == 3000
    elsewhere = tmp_path.parent / f"{tmp_path.name}-500"
    assert prepared("--limit-train", "500", "--run-dir", str(elsewhere)).limit_train == 500
    saved["config"].pop("limit_train")
    with pytest.raises(UserError, match="the run trained on every training sample"):
        prepared("--limit-train", "500")


def test_a_failed_download_is_said_in_words():
    """The offline note ended in "(<urlopen error [Errno -2] Name or service not known>)"."""
    from mnist_tui.files import download_reason

    offline = RuntimeError(
        "Error downloading train-images\nTried http://a/\n<urlopen error [Errno -2] Name or service not known>"
    )
    assert download_reason(offline) == "no network: the download mirrors' names could not be looked up"
    assert download_reason(RuntimeError("<urlopen error [Errno 111] Connection refused>")) == "Connection refused"
    assert download_reason(RuntimeError("HTTP Error 404: Not Found")) == "HTTP Error 404: Not Found"


def _checkpoint_of(tmp_path, epoch: int, **config):
    from mnist_tui.model import Net
    from mnist_tui.training.checkpoint import save_checkpoint
    from mnist_tui.training.events import EpochRecord

    model = Net()
    state = {
        "epoch": epoch,
        "model": model.state_dict(),
        "optimizer": torch.optim.Adam(model.parameters()).state_dict(),
        "config": {"epochs": 3, "dataset": "synthetic", **config},
        "history": [EpochRecord(e, 2.0, 0.3, 1.9, 0.35, 1.0, 1000.0, 1e-3).to_json() for e in range(1, epoch + 1)],
    }
    save_checkpoint(tmp_path / "checkpoint.pt", state)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_resumed_cuda_run_on_a_machine_without_cuda_says_the_device_came_from_the_run(tmp_path, capsys):
    """It said "--device cuda: CUDA is not available", and the user had given no --device."""
    _checkpoint_of(tmp_path, 1, device="cuda")
    code, err = _main(["--headless", "--resume", str(tmp_path)], capsys)
    _assert_one_line(code, err, "the run was trained with --device cuda; CUDA is not available", "--device cpu")


@pytest.mark.parametrize("face", [["--headless"], []])
def test_resuming_past_a_smaller_epochs_says_which_and_changes_nothing(tmp_path, capsys, monkeypatch, face):
    """The dashboard took it, rewrote run.json and status.json with the smaller plan, and the
    workspace then listed the run as "finished 4/2"."""
    from mnist_tui import cli

    monkeypatch.setattr(cli, "_check_terminal", lambda args: None)  # the dashboard's check comes first
    _checkpoint_of(tmp_path, 2, device="cpu")
    before = sorted((p.name, p.stat().st_mtime_ns) for p in tmp_path.iterdir())
    code, err = _main([*face, "--resume", str(tmp_path), "--epochs", "1"], capsys)
    _assert_one_line(code, err, "already finished 2 epochs, more than --epochs 1")
    assert sorted((p.name, p.stat().st_mtime_ns) for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize("option", ["--follow", "--replay"])
def test_following_a_folder_of_runs_says_to_pick_one(tmp_path, capsys, option):
    """`--follow runs` waited forever with "no run in runs yet"; `--replay runs` said only
    "nothing to show"."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "run.json").write_text("{}")
    code, err = _main(["--headless", option, str(tmp_path)], capsys)
    _assert_one_line(code, err, "holds runs", "a", f"--runs {tmp_path}")


def test_a_path_with_a_newline_or_an_escape_is_told_on_one_line(tmp_path, capsys):
    """`--replay $'no\\nsuch'` split the error in two; an escape sequence coloured the terminal."""
    bad = str(tmp_path / "no\nsuch\x1b[31mred")
    code, err = _main(["--headless", "--replay", bad], capsys)
    _assert_one_line(code, err, "no\\nsuch\\x1b[31mred")


def test_resuming_a_folder_without_a_checkpoint_names_the_option(tmp_path, capsys):
    """It said only "no checkpoint at …", where --replay's line names --replay."""
    code, err = _main(["--headless", "--resume", str(tmp_path)], capsys)
    _assert_one_line(code, err, f"--resume: no checkpoint at {tmp_path / 'checkpoint.pt'}")
