"""Issue 16: paths the OS refuses are one line naming the option; run-folder names never collide.

Tests run as root, which permission bits do not stop, so each refusal is built another way:
a name longer than NAME_MAX, a path through a regular file, a symlink loop, a FIFO.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
from pathlib import Path

import pytest

from mnist_tui.errors import UserError
from mnist_tui.files import CHECKPOINT, EXISTING_FOLDER, READABLE_FILE, RUN_FOLDER, check_user_path
from mnist_tui.rundir import LOCK_NAME, check_run_dir_option, claim_run_dir, release_locks

TOO_LONG = "n" * 300  # NAME_MAX is 255 on every common file system


@pytest.fixture
def places(tmp_path) -> dict[str, Path]:
    """One of each thing a user might name by mistake."""
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    loop = tmp_path / "loop"
    loop.symlink_to("loop")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    folder = tmp_path / "folder"
    folder.mkdir()
    return {
        "too long": tmp_path / TOO_LONG,
        "too long inside": tmp_path / TOO_LONG / "run",
        "under a file": a_file / "run",
        "loop": loop,
        "under a loop": loop / "run",
        "fifo": fifo,
        "file": a_file,
        "folder": folder,
        "missing": tmp_path / "missing",
    }


CASES = [
    # (place, option, kind, words the line must hold); None: the path is fine for that kind
    ("too long", "--run-dir", RUN_FOLDER, "longer than the file system allows"),
    ("too long inside", "--run-dir", RUN_FOLDER, "longer than the file system allows"),
    ("under a file", "--run-dir", RUN_FOLDER, "is a file, not a folder"),
    ("under a loop", "--run-dir", RUN_FOLDER, "symbolic links"),
    ("fifo", "--run-dir", RUN_FOLDER, "a FIFO (named pipe), not a folder"),
    ("file", "--run-dir", RUN_FOLDER, "it is a file, not a folder"),
    ("missing", "--run-dir", RUN_FOLDER, None),
    ("folder", "--run-dir", RUN_FOLDER, None),
    ("too long", "--resume", CHECKPOINT, "longer than the file system allows"),
    ("under a file", "--resume", CHECKPOINT, "is a file, not a folder"),
    ("loop", "--resume", CHECKPOINT, "symbolic links"),
    ("fifo", "--resume", CHECKPOINT, "FIFO"),
    ("missing", "--resume", CHECKPOINT, "does not exist"),
    ("file", "--resume", CHECKPOINT, None),
    ("too long", "--replay", EXISTING_FOLDER, "longer than the file system allows"),
    ("under a file", "--replay", EXISTING_FOLDER, "is a file, not a folder"),
    ("file", "--replay", EXISTING_FOLDER, "it is a file, not a folder"),
    ("fifo", "--replay", EXISTING_FOLDER, "FIFO"),
    ("missing", "--replay", EXISTING_FOLDER, "does not exist"),
    ("folder", "--replay", EXISTING_FOLDER, None),
    ("fifo", "--data-file", READABLE_FILE, "FIFO"),
    ("folder", "--data-file", READABLE_FILE, "a folder, not a file"),
]


@pytest.mark.parametrize(("place", "option", "kind", "words"), CASES, ids=[f"{c[1]}:{c[0]}" for c in CASES])
def test_check_user_path(places, place, option, kind, words):
    path = places[place]
    if words is None:
        assert check_user_path(path, option, kind) == path
        return
    with pytest.raises(UserError) as info:
        check_user_path(path, option, kind)
    message = str(info.value)
    assert message.startswith(f"{option} ") and "\n" not in message, message
    assert words in message, message
    assert len(message) < 300, "a 300-character name is shortened in the message (paths past 200 are cut)"


def test_an_unknown_kind_is_a_programming_error(tmp_path):
    with pytest.raises(ValueError, match="unknown kind"):
        check_user_path(tmp_path, "--x", "anything")


# -- claim_run_dir: the OS's refusals are one line -------------------------------------------------


@pytest.mark.parametrize("place", ["too long", "too long inside", "under a file", "under a loop", "fifo"])
@pytest.mark.parametrize("fresh_name", [False, True])
def test_claim_run_dir_turns_os_errors_into_one_line(places, place, fresh_name):
    if fresh_name and place == "fifo":  # the default name is taken by something: the next suffix is free
        try:
            assert claim_run_dir(places[place], fresh_name=True) == places[place].with_name("fifo-2")
        finally:
            release_locks()
        return
    try:
        with pytest.raises(UserError) as info:
            claim_run_dir(places[place], fresh_name=fresh_name)
    finally:
        release_locks()
    assert "\n" not in str(info.value) and "run folder" in str(info.value)


# -- the empty --run-dir ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   "])
def test_an_empty_run_dir_is_refused_on_the_text(text):
    assert Path(text.strip()) == Path(".")  # why it must be checked before it becomes a Path
    with pytest.raises(UserError, match="--run-dir is empty"):
        check_run_dir_option(text)
    parser = argparse.ArgumentParser()
    parser.add_argument("--run-dir", type=check_run_dir_option)
    assert parser.parse_args(["--run-dir", "runs/a"]).run_dir == Path("runs/a")
    with pytest.raises(SystemExit):  # argparse's own one-line error
        parser.parse_args(["--run-dir", text])


@pytest.mark.parametrize("text", ["runs/a\nb", "runs/a\tb", "runs/\x1b[2Ja"])
def test_a_run_dir_with_a_control_character_is_refused(text):
    """A newline in --run-dir was taken: the header printed the name over two lines, and the
    workspace listed the run by the part before it."""
    with pytest.raises(UserError, match="--run-dir holds a control character"):
        check_run_dir_option(text)


# -- same-second starts -------------------------------------------------------------------------------


def _claim_together(barrier, done, results, run_dir: str) -> None:
    """In a child: wait for the others, claim the default name at once, hold it until all have claimed."""
    barrier.wait()
    try:
        results.put(str(claim_run_dir(Path(run_dir), fresh_name=True)))
    except UserError as exc:
        results.put(f"error: {exc}")
    done.wait()  # keep the lock while the others claim


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_same_second_starts_get_distinct_folders(tmp_path):
    processes = 4
    context = multiprocessing.get_context("fork")  # the children only make folders and locks
    barrier, done = context.Barrier(processes), context.Barrier(processes + 1)
    results = context.Queue()
    name = tmp_path / "runs" / "20260101-120000"
    children = [context.Process(target=_claim_together, args=(barrier, done, results, str(name))) for _ in range(4)]
    for child in children:
        child.start()
    try:
        claimed = sorted(results.get(timeout=60) for _ in children)
    finally:
        done.wait(timeout=60)
        for child in children:
            child.join(timeout=60)
    expected = sorted([str(name)] + [f"{name}-{n}" for n in range(2, processes + 1)])
    assert claimed == expected, claimed
    assert all((Path(folder) / LOCK_NAME).exists() for folder in claimed)


def test_a_fresh_name_skips_an_existing_empty_folder(tmp_path):
    """An empty folder of that name may be another run starting this very second: never shared."""
    name = tmp_path / "runs" / "20260101-120000"
    name.mkdir(parents=True)
    try:
        assert claim_run_dir(name, fresh_name=True) == name.with_name("20260101-120000-2")
    finally:
        release_locks()


@pytest.mark.parametrize(
    ("layout", "words"),
    [
        ("holds runs", "holds other runs"),
        ("holds runs two levels down", "holds other runs"),
        ("inside a run", "is inside the run folder"),
        ("root", "file system's root"),
    ],
)
def test_a_run_folder_is_neither_inside_a_run_nor_over_runs(tmp_path, layout, words):
    """``--run-dir runs`` (the workspace) and a folder inside a run were taken: the workspace then
    lists only the outer run, and the others vanished from --runs and its exports. / was taken too."""
    workspace = tmp_path / "runs"
    for name in ("a", "sweep/b"):
        (workspace / name).mkdir(parents=True)
        (workspace / name / "run.json").write_text("{}")
    run_dir = {
        "holds runs": workspace,
        "holds runs two levels down": tmp_path,
        "inside a run": workspace / "a" / "child",
        "root": Path("/"),
    }[layout]
    try:
        with pytest.raises(UserError, match=words):
            claim_run_dir(run_dir)
    finally:
        release_locks()
    assert sorted(p.name for p in workspace.rglob("*")) == ["a", "b", "run.json", "run.json", "sweep"]  # untouched


def test_a_run_folder_beside_others_in_the_workspace_is_fine(tmp_path):
    (tmp_path / "runs" / "a").mkdir(parents=True)
    (tmp_path / "runs" / "a" / "run.json").write_text("{}")
    try:
        assert claim_run_dir(tmp_path / "runs" / "b") == tmp_path / "runs" / "b"
    finally:
        release_locks()


def test_a_run_quit_before_its_first_batch_leaves_no_folder_behind(tiny_config, small_synthetic):
    """A dashboard opened and quit (and each page a --serve browser loaded) left a run folder
    'stopped 0/10' for the workspace to list; a folder with anything else in it stays."""
    from mnist_tui.training.control import TrainingControl
    from mnist_tui.training.loop import Trainer

    control = TrainingControl()
    control.stop()  # quit before space
    claim_run_dir(tiny_config.run_dir)
    try:
        Trainer(tiny_config, lambda event: None, control, datasets=small_synthetic).run()
    finally:
        release_locks()
    assert not tiny_config.run_dir.exists()

    kept = tiny_config.with_changes(run_dir=tiny_config.run_dir.parent / "with-notes")
    kept.run_dir.mkdir()
    (kept.run_dir / "notes.txt").write_text("mine")
    Trainer(kept, lambda event: None, control, datasets=small_synthetic).run()
    assert sorted(p.name for p in kept.run_dir.iterdir()) == ["notes.txt"]


def test_a_start_that_fails_leaves_an_earlier_attempts_files_as_they_were(tiny_config, tmp_path):
    """The clean-up after a run that trained nothing also ran when it failed to start (no data),
    and deleted an earlier attempt's run.json and batches.jsonl from the folder."""
    from mnist_tui.training.loop import Trainer

    run_dir = tiny_config.run_dir
    run_dir.mkdir()
    for name in ("run.json", "status.json", "batches.jsonl", "notes.txt"):
        (run_dir / name).write_text("{}\n")
    failing = tiny_config.with_changes(dataset="mnist", data_dir=tmp_path / "no-mnist", download=False)
    result = Trainer(failing, lambda event: None).run()
    assert result.error is not None
    assert sorted(p.name for p in run_dir.iterdir()) == ["batches.jsonl", "notes.txt", "run.json", "status.json"]


@pytest.mark.parametrize("named", [True, False])
def test_a_start_that_fails_removes_the_folder_it_made(tmp_path, monkeypatch, capsys, named):
    """No MNIST where --data-dir points: one line and exit 2, and the new run folder stayed
    behind holding only `.lock` (`runs/<time>/.lock` without --run-dir)."""
    from mnist_tui import cli

    monkeypatch.chdir(tmp_path)
    where = ["--run-dir", str(tmp_path / "new" / "sub" / "run")] if named else []  # the folders above too
    argv = ["--headless", "--dataset", "mnist", "--data-dir", str(tmp_path / "no-mnist"), "--epochs", "1", *where]
    assert cli.main(argv) == 2
    assert "MNIST is not in" in capsys.readouterr().err
    assert not (tmp_path / "new").exists() and not (tmp_path / "runs").exists(), list(tmp_path.rglob("*"))


def test_a_dashboard_that_quit_before_its_run_started_leaves_no_folder(tmp_path, monkeypatch):
    """A served page closed within half a second: its session quit before the trainer ran, and the
    timestamped folder the command line had made for it stayed behind, empty but for `.lock`."""
    from mnist_tui import cli
    from mnist_tui.tui import app

    monkeypatch.setattr(cli, "_check_terminal", lambda args: None)
    monkeypatch.setattr(app, "run_app", lambda source=None, **kw: 0)  # quit at once: the source never ran
    assert cli.main(["--dataset", "synthetic", "--run-dir", str(tmp_path / "session")]) == 0
    assert not (tmp_path / "session").exists()
    (tmp_path / "kept").mkdir()  # a folder that was there before stays, as it was
    assert cli.main(["--dataset", "synthetic", "--run-dir", str(tmp_path / "kept")]) == 0
    assert (tmp_path / "kept").is_dir()


def test_a_claim_sweeps_every_temporary_a_killed_writer_left_but_a_followers(tmp_path):
    """Only the checkpoint's and metrics' were swept: a writer killed during a heartbeat left
    `.status.json.*.tmp` for good (and an untrained folder holding it could not be removed)."""
    from mnist_tui.rundir import remove_stale_temporaries

    stale = [f".{name}.k1lled.tmp" for name in ("status.json", "batches.jsonl", "run.json", "steering.jsonl")]
    stale += [".layers.jsonl.k1lled.tmp", ".checkpoint.pt.k1lled.tmp", ".metrics.jsonl.k1lled.tmp"]
    kept = [".control.json.f0llower.tmp", "notes.tmp", "status.json"]  # a follower's write in progress
    for name in stale + kept:
        (tmp_path / name).write_text("x")
    assert remove_stale_temporaries(tmp_path) == len(stale)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept)


NAME = "train-images-idx3-ubyte"


def test_an_ordinary_long_path_is_shown_whole_and_an_absurd_one_cut():
    """Messages cut paths past 100 characters in the middle: a path a person cannot copy. An
    ordinary long path (pytest-xdist's temporary folders are ~120) is now shown whole."""
    from mnist_tui.files import shown

    ordinary = "/tmp/pytest-of-root/pytest-18/popen-gw1/test_a_device_in_place_of_a_da0/MNIST/raw/" + NAME
    assert shown(ordinary) == ordinary
    absurd = "/tmp/" + TOO_LONG
    cut = shown(absurd)
    assert "…" in cut and len(cut) <= 200 and cut.startswith("/tmp/") and cut.endswith("n")
