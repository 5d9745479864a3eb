"""A run folder is never taken silently: a resume that would overwrite another run, a folder a
newer mnist-tui wrote, a folder where a run's file should be, and a run that cannot start are
each refused (or leave the folder as it was); a folder with nothing to resume may be used again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
from pathlib import Path

import pytest

from mnist_tui import cli
from mnist_tui.errors import UserError
from mnist_tui.headless import run_headless
from mnist_tui.rundir import claim_run_dir, release_locks
from mnist_tui.runfolder.reader import holds_results
from mnist_tui.sources.training import TrainingSource
from mnist_tui.training import loop
from mnist_tui.training.checkpoint import load_checkpoint
from mnist_tui.training.events import EpochRecord

TRAIN = ["--headless", "--dataset", "synthetic", "--limit-train", "256", "--device", "cpu", "--precision", "fp32"]


def _main(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = cli.main(argv)
    finally:
        release_locks()
    out, err = capsys.readouterr()
    return code, out, err


def _contents(folder: Path) -> dict[str, str]:
    """Every file's bytes, hashed: what must not change."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """One finished 1-epoch run, made once; each test works on a copy."""
    run = tmp_path_factory.mktemp("made") / "run"
    assert cli.main([*TRAIN, "--epochs", "1", "--run-dir", str(run)]) == 0
    release_locks()
    return run


@pytest.fixture
def run(finished_run, tmp_path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(finished_run, copy)
    return copy


def _one_line(code: int, err: str, *words: str) -> None:
    assert code == 2, err
    assert err.startswith("mnist-tui: error: ") and err.count("\n") == 1, err
    for word in words:
        assert word in err, (word, err)


def test_a_loose_checkpoint_is_not_resumed_over_the_run_in_its_folder(run, capsys):
    shutil.copy(run / "checkpoint.pt", run / "backup-of-another-run.pt")
    before = _contents(run)
    code, _, err = _main([*TRAIN, "--resume", str(run / "backup-of-another-run.pt"), "--epochs", "2"], capsys)
    _one_line(code, err, "holds another run", "--run-dir NEW")
    assert _contents(run) == before  # its metrics, batches and checkpoint were rewritten here before


def test_a_loose_checkpoint_beside_runs_says_to_give_a_folder(run, tmp_path, capsys):
    """`--resume runs/backup.pt` beside other runs was refused as "--run-dir runs holds other
    runs", naming an option that was not given."""
    shutil.copy(run / "checkpoint.pt", tmp_path / "backup.pt")
    code, _, err = _main([*TRAIN, "--resume", str(tmp_path / "backup.pt"), "--epochs", "2"], capsys)
    _one_line(code, err, "its folder holds other runs", "--run-dir NEW")
    assert "--run-dir " + str(tmp_path) not in err


def test_a_loose_checkpoint_continues_in_the_folder_named_by_run_dir(run, tmp_path, capsys):
    shutil.copy(run / "checkpoint.pt", run / "backup.pt")
    before = _contents(run)
    code, out, err = _main(
        [*TRAIN, "--resume", str(run / "backup.pt"), "--epochs", "2", "--run-dir", str(tmp_path / "b")], capsys
    )
    assert code == 0, err
    assert json.loads((tmp_path / "b" / "status.json").read_text())["epochs_done"] == 2
    assert _contents(run) == before


def test_another_runs_checkpoint_copied_into_a_run_folder_is_not_continued_there(run, tmp_path, capsys):
    """A sprint run's checkpoint dropped into a fast run's folder was resumed there: its epoch
    replaced the folder's own rows, and run.json then named the other recipe."""
    other = tmp_path / "other"
    assert cli.main([*TRAIN, "--epochs", "1", "--lr", "0.005", "--seed", "3", "--run-dir", str(other)]) == 0
    release_locks()
    shutil.copy(other / "checkpoint.pt", run / "checkpoint.pt")
    before = _contents(run)
    code, _, err = _main([*TRAIN, "--resume", str(run), "--epochs", "2"], capsys)
    _one_line(code, err, "its checkpoint.pt is not the run its metrics.jsonl records", "epoch 1:", "--run-dir NEW")
    assert _contents(run) == before
    code, _, err = _main([*TRAIN, "--resume", str(other), "--epochs", "2"], capsys)  # its own: continued
    assert code == 0, err


def test_a_run_folder_a_newer_mnist_tui_wrote_is_not_continued(run, capsys):
    info = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps(info | {"format": 3}))
    before = _contents(run)
    code, _, err = _main([*TRAIN, "--resume", str(run), "--epochs", "2"], capsys)
    _one_line(code, err, "newer mnist-tui", "format 3", "upgrade")
    assert _contents(run) == before  # run.json was rewritten as format 2


def test_a_resume_whose_data_cannot_be_had_leaves_the_run_as_it_was(run, tmp_path, capsys, monkeypatch):
    from torchvision.datasets import MNIST

    from mnist_tui.training.checkpoint import load_checkpoint, save_checkpoint

    monkeypatch.setattr(MNIST, "mirrors", ["http://127.0.0.1:9/"])  # offline
    state = load_checkpoint(run)
    save_checkpoint(run / "checkpoint.pt", {**state, "dataset": "MNIST"})  # a run trained on MNIST
    before = _contents(run)
    missing = tmp_path / "moved-away" / "mnist"
    code, _, err = _main([*TRAIN[:1], "--resume", str(run), "--epochs", "2", "--data-dir", str(missing)], capsys)
    _one_line(code, err, "MNIST is not in", "could not be downloaded")
    assert _contents(run) == before  # status.json said "failed", run.json lost its sizes and device
    assert not (tmp_path / "moved-away").exists()  # the download's folders are not left behind


def test_a_folder_that_cannot_be_written_for_a_download_falls_back_to_synthetic(tmp_path, monkeypatch):
    from mnist_tui.data import load_datasets

    (tmp_path / "a-file").write_text("x")  # root writes anywhere, but makes no folder under a file
    data = load_datasets("auto", tmp_path / "a-file" / "mnist", seed=0)
    assert data.name != "MNIST" and "cannot create" in data.notice and "synthetic" in data.notice


def test_a_run_stopped_before_its_first_epoch_leaves_a_folder_that_can_be_used_again(tmp_path):
    folder = tmp_path / "stopped-early"
    folder.mkdir()
    (folder / "run.json").write_text("{}")
    (folder / "status.json").write_text('{"state": "stopped"}')
    (folder / "metrics.jsonl").write_text("")  # no epoch finished, no checkpoint: nothing to resume
    assert not holds_results(folder)
    with pytest.raises(UserError, match=rf"no epoch of that run finished; start it again with --run-dir {folder}$"):
        load_checkpoint(folder)  # --resume said only "no checkpoint at"
    try:
        assert claim_run_dir(folder) == folder  # it was refused with "continue it with --resume"
    finally:
        release_locks()
    (folder / "metrics.jsonl").write_text('{"epoch": 1}\n')
    assert holds_results(folder)
    with pytest.raises(UserError) as missing:  # epochs but no checkpoint: --run-dir would be refused
        load_checkpoint(folder)
    assert str(missing.value) == f"no checkpoint at {folder / 'checkpoint.pt'}"


@pytest.mark.parametrize("name", ["metrics.jsonl", "status.json", "checkpoint.pt"])
def test_a_folder_where_a_run_file_should_be_is_one_line(run, name):
    (run / name).unlink()
    (run / name).mkdir()
    try:
        with pytest.raises(UserError, match=rf"{name} is a folder, not a file: move it out"):
            claim_run_dir(run, resuming_from=run)
    finally:
        release_locks()


def test_a_fifo_where_a_run_file_should_be_says_what_it_is(run):
    """It said "batches.jsonl is not a regular file, not a file"."""
    import os

    (run / "batches.jsonl").unlink(missing_ok=True)
    os.mkfifo(run / "batches.jsonl")
    try:
        with pytest.raises(UserError, match=r"batches.jsonl is a FIFO \(named pipe\), not a file: move it out"):
            claim_run_dir(run, resuming_from=run)
    finally:
        release_locks()


def test_a_stopped_json_log_keeps_stdout_json_and_says_what_was_kept_on_stderr(
    tiny_config, small_synthetic, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(loop, "load_datasets", lambda *args, **kwargs: small_synthetic)
    config = tiny_config.with_changes(epochs=5, limit_train=256, run_dir=tmp_path / "json")
    source = TrainingSource(config)
    real_run = source.run

    def run_then_interrupt(listener):
        def listen(event):
            listener(event)
            if isinstance(event, EpochRecord):
                os.kill(os.getpid(), signal.SIGINT)

        return real_run(listen)

    monkeypatch.setattr(source, "run", run_then_interrupt)
    assert run_headless(source, log_format="json") == 130
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]  # every line is JSON
    assert rows[-1]["event"] == "finished" and rows[-1]["stopped"] is True
    assert err.startswith("mnist-tui: checkpoint of epoch 1 kept in") and "--resume" in err
    assert err.rstrip().endswith(f"--resume {config.run_dir}")  # the checkpoint's plan is the plan in force
    from mnist_tui.training.resume import continue_command

    # a `--resume … --epochs 6` stopped before its next epoch: the checkpoint still holds 5 (a resume
    # would take those), so the command names 6; a needless --epochs would break sprint's 2.5 epochs
    assert continue_command(config.run_dir, 6) == f"mnist-tui --headless --resume {config.run_dir} --epochs 6"
    assert continue_command(config.run_dir, 5, headless=False) == f"mnist-tui --resume {config.run_dir}"
