"""Options that do nothing where they are given are refused, in one line, before anything runs
(a replay shows a run as it was trained, the workspace is a dashboard of runs); messages name
what the user gave (an environment variable) and what the machine said (not our source line)."""

from __future__ import annotations

import pytest

from mnist_tui.cli_parser import build_parser, check_faces


def _checked(argv: list[str]):
    parser = build_parser()
    args = parser.parse_args(argv)
    check_faces(parser, args)
    return args


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--replay", "R", "--epochs", "5"], "--replay shows a run as it was trained; it does not go with --epochs"),
        (["--replay", "R", "--dataset", "synthetic"], "it does not go with --dataset"),  # it mislabelled the run
        (["--replay", "R", "--recipe", "sprint"], "it does not go with --recipe"),
        (["--follow", "R", "--seed", "3"], "--follow shows a run as it was trained; it does not go with --seed"),
        (["--follow", "R", "--headless", "--lr", "0.1"], "it does not go with --lr"),
        (["--runs", "R", "--headless"], "--runs opens the runs workspace, a dashboard; with --headless give --export"),
        (["--runs", "R", "--resume", "R"], "--runs opens the runs workspace; it does not go with --resume"),
        (["--runs", "R", "--autostart"], "it does not go with --autostart"),
        (["--runs", "R", "--export", "a.csv", "--lr", "0.1"], "--export writes the runs as they were trained"),
        (["--runs", "R", "--export-tensorboard", "--epochs", "7"], "it does not go with --epochs"),
        (["--runs", "R", "--export", "a.csv", "--data-dir", "R"], "it does not go with --data-dir"),  # was ignored
        (["--runs", "R", "--export", "a.json", "--headless", "--log-format", "json"], "not go with --log-format json"),
        (["--headless", "--autostart"], "--headless always trains at once"),
        (["--resume", "R", "--recipe", "fast"], "--resume continues a run with its own settings"),  # was ignored
        (["--serve", "--host", ""], "argument --host: an empty address"),
        (["--serve", "--runs", "R"], "it does not go with --runs"),  # it served nothing, spun with no terminal
    ],
)
def test_an_option_that_would_be_ignored_is_refused(tmp_path, monkeypatch, capsys, argv, said):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "R").mkdir()
    with pytest.raises(SystemExit) as exit_:
        _checked(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert said in err and err.strip().splitlines()[-1].startswith("mnist-tui: error: "), err


@pytest.mark.parametrize(
    "argv",
    [
        ["--replay", "R", "--data-dir", "D"],  # where the test digits are: a replay uses it
        ["--runs", "R", "--headless", "--export", "runs.csv"],
        ["--runs", "R", "--lr", "0.01"],  # the workspace's new runs start from it
        ["--resume", "R", "--lr", "0.002", "--epochs", "4"],  # a resumed run takes both
    ],
)
def test_options_that_are_used_still_go_together(tmp_path, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "R").mkdir()
    assert _checked(argv) is not None


def test_a_bad_data_folder_from_the_environment_names_the_variable(tmp_path, monkeypatch, capsys):
    from mnist_tui import cli

    (tmp_path / "a-file").write_text("x")
    monkeypatch.setenv("MNIST_TUI_DATA", str(tmp_path / "a-file" / "mnist"))
    assert cli.main(["--headless", "--run-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mnist-tui: error: $MNIST_TUI_DATA ") and "a part of the path is a file" in err, err


def test_a_failure_the_machine_reports_names_no_source_line():
    from mnist_tui.training.resume import describe_failure

    disk_full = OSError(28, "No space left on device", "/runs/a/metrics.jsonl")
    assert (
        describe_failure(disk_full) == "No space left on device (/runs/a/metrics.jsonl)"
    )  # was "... (at saving.py:51)"
    assert describe_failure(ValueError("bad")) == "ValueError: bad"  # a bug of ours keeps its type


def test_a_failed_atomic_write_names_the_file_in_the_way_not_its_temporary_copy(tmp_path):
    """A folder in metrics.jsonl's place: "Is a directory (…/.metrics.jsonl.sjwebloz.tmp)", a file
    that no longer existed, went to the screen and into status.json."""
    from mnist_tui.runfolder.atomic import write_text_atomically
    from mnist_tui.training.resume import describe_failure

    (tmp_path / "metrics.jsonl").mkdir()
    with pytest.raises(OSError) as caught:
        write_text_atomically(tmp_path / "metrics.jsonl", "{}\n")
    assert describe_failure(caught.value) == f"Is a directory ({tmp_path / 'metrics.jsonl'})"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.jsonl"]  # no temporary copy left


def test_the_dashboard_without_a_terminal_says_to_use_headless(tmp_path):
    """With output to a file it wrote escape codes there until killed."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "mnist_tui", "--dataset", "synthetic", "--run-dir", str(tmp_path / "run")]
    done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (
        "mnist-tui: error: the dashboard needs a terminal for its input and output; "
        "for plain output use --headless (or --serve for a browser)\n"
    )
    assert not (tmp_path / "run").exists()  # refused before anything was made


@pytest.mark.parametrize("opening", ["--replay", "a training dashboard"])
def test_runs_shown_from_a_dashboard_keep_their_settings_and_new_ones_take_the_options(tmp_path, monkeypatch, opening):
    """R then enter (or n) in a dashboard opened from the command line built the run's Config
    without the options given (`--data-dir` …) and without validating the saved one. A run opened
    to be shown keeps its own settings (a training dashboard's --lr had been laid over it); a new
    run started from one takes the options."""
    import json

    from mnist_tui import cli
    from mnist_tui.runfolder.layout import RunInfo
    from mnist_tui.tui import app

    opened = {}
    monkeypatch.setattr(cli, "_check_terminal", lambda args: None)
    monkeypatch.setattr(app, "run_app", lambda source=None, **kw: opened.update(kw) or 0)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "run.json").write_text(json.dumps(RunInfo({}, created=1.7e9, host="h").to_json()))
    digits = ["--data-dir", str(tmp_path / "digits")]
    if opening == "--replay":
        argv = ["--replay", str(tmp_path / "run"), *digits]
    else:
        argv = ["--run-dir", str(tmp_path / "here"), "--lr", "0.05", "--seed", "7", *digits]
    assert cli.main(argv) == 0
    saved = {"lr": 0.003, "batch_size": 256, "seed": 1, "data_dir": "elsewhere"}
    shown = opened["shown_config"](saved)
    assert (shown.data_dir, shown.lr, shown.batch_size, shown.seed) == (tmp_path / "digits", 0.003, 256, 1)
    new = opened["make_config"](saved)
    assert (new.data_dir, new.batch_size) == (tmp_path / "digits", 256)
    assert (new.lr, new.seed) == ((0.003, 1) if opening == "--replay" else (0.05, 7))
    for rule in ("shown_config", "make_config"):
        with pytest.raises(Exception, match="lr must be in"):
            opened[rule]({"lr": 20.0})
