"""A folder that cannot be made or read is said as such, in one line (exit 2): not as a run that
"failed", a folder that "does not exist", or a count of epochs its replay and follower disagree on."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest

from mnist_tui import cli
from mnist_tui.config import Config
from mnist_tui.runfolder.layout import METRICS_NAME
from mnist_tui.sources.replay import ReplayRequest, ReplaySource
from mnist_tui.training.events import Finished


def _main(argv: list[str], capsys) -> tuple[int, str]:
    code = cli.main(argv)
    return code, capsys.readouterr().err


def _one_line(code: int, err: str, *words: str) -> None:
    assert code == 2, err
    assert err.startswith("mnist-tui: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, (word, err)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("unusable") / "run"
    argv = ["--headless", "--dataset", "synthetic", "--device", "cpu", "--limit-train", "200", "--epochs", "2"]
    assert cli.main([*argv, "--batch-size", "100", "--run-dir", str(run_dir)]) == 0
    return run_dir


@pytest.mark.parametrize("argv", [["--headless", "--follow"], ["--follow"], ["--headless", "--replay"], ["--replay"]])
def test_a_folder_whose_metrics_cannot_be_read_says_so_not_that_the_run_failed(finished_run, tmp_path, capsys, argv):
    """A folder in metrics.jsonl's place: the dashboard showed the run "failed" (its reading error
    was taken for the run's failure), the headless face named the file alone."""
    run_dir = tmp_path / "run"
    shutil.copytree(finished_run, run_dir)
    (run_dir / METRICS_NAME).unlink()
    (run_dir / METRICS_NAME).mkdir()
    code, err = _main([*argv, str(run_dir)], capsys)
    option = argv[-1]
    _one_line(code, err, f"{option} {run_dir}: its {METRICS_NAME} cannot be read (it is a folder")
    assert "failed" not in err


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
@pytest.mark.parametrize("below", ["", "/deeper"])
def test_a_run_folder_where_none_can_be_made_says_why_not_that_it_does_not_exist(capsys, below):
    """/proc exists and takes no new folder (mkdir says ENOENT): it read "it does not exist"."""
    run_dir = f"/proc/mnist-tui-{uuid.uuid4().hex}{below}"
    argv = ["--headless", "--dataset", "synthetic", "--epochs", "1", "--limit-train", "200", "--run-dir", run_dir]
    code, err = _main(argv, capsys)
    _one_line(code, err, f"cannot create the run folder {run_dir}: /proc exists, but no folder can be made in it")
    assert "does not exist" not in err


def test_a_replay_counts_the_epochs_of_rows_with_a_gap_as_its_follower_does(finished_run, tmp_path, capsys):
    """Rows of epochs 1 and 7 of a plan of 2: the replay said "finished after 2 epochs" where a
    follower of the same folder said 7 (and the dashboard's "epoch 7/7" was counted from 7)."""
    run_dir = tmp_path / "gap"
    shutil.copytree(finished_run, run_dir)
    rows = [json.loads(line) for line in (run_dir / METRICS_NAME).read_text().splitlines()]
    rows[-1]["epoch"] = 7
    (run_dir / METRICS_NAME).write_text("".join(json.dumps(row) + "\n" for row in rows))
    events = []
    source = ReplaySource(ReplayRequest(run_dir, lambda saved: Config.from_dict(saved or {}), model_views=False))
    result = source.run(events.append)
    finished = [e for e in events if isinstance(e, Finished)]
    assert result.error is None and result.epochs_done == 7
    assert len(finished) == 1 and finished[0].epochs_done == 7 and not finished[0].stopped
    said = {}
    for option in ("--replay", "--follow"):
        assert cli.main(["--headless", option, str(run_dir)]) == 0
        said[option] = capsys.readouterr().out.strip().splitlines()[-1]
    assert said["--replay"] == said["--follow"], said
    assert said["--replay"].startswith("finished after 7 epochs"), said


def test_a_relative_run_folder_in_a_removed_working_folder_is_one_line(tmp_path):
    """Naming the folder above asked for the working folder, which was gone: the error escaped."""
    import subprocess
    import sys

    script = 'mkdir gone && cd gone && rmdir ../gone && exec "$0" -m mnist_tui "$@"'
    argv = ["--headless", "--dataset", "synthetic", "--epochs", "1", "--limit-train", "200", "--run-dir", "x"]
    done = subprocess.run(
        ["sh", "-c", script, sys.executable, *argv], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    _one_line(done.returncode, done.stderr, "cannot create the run folder x: ")
