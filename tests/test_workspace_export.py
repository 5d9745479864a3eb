"""Export to CSV and JSON read back against each run's metrics; TensorBoard event files (converted
from folders, and written live by the listener inside a real training run) read back."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import shutil
import struct
from pathlib import Path

import pytest
from workspace_helpers import workspace

from mnist_tui.errors import UserError
from mnist_tui.files import shown
from mnist_tui.runfolder.reader import read_batches, read_metrics
from mnist_tui.training import inner_evals
from mnist_tui.workspace import tensorboard_events as tb
from mnist_tui.workspace.export import FIELDS, export_path, export_runs, export_workspace
from mnist_tui.workspace.index import RunIndex
from mnist_tui.workspace.tensorboard_export import convert_run, export_tensorboard

GOOD = ("lr-0.003", "lr-0.01", "sweep/lr-0.001", "old/format1")


@pytest.fixture
def runs(tmp_path, tmp_path_factory):
    return workspace(tmp_path, tmp_path_factory)


def summary_values(run_dir: Path):
    """(step, summary value) for every value in the run folder's event files, in file order: a
    plain TFRecord reader (length, its CRC, the record, its CRC) over tensorboardX's own
    ``Event`` proto, so the tests need no tensorboard."""
    from tensorboardX.proto.event_pb2 import Event

    for path in sorted(Path(run_dir).glob("events.out.tfevents.*")):
        data = path.read_bytes()
        offset = 0
        while offset + 12 <= len(data):
            (length,) = struct.unpack_from("<Q", data, offset)
            start = offset + 12
            if start + length + 4 > len(data):
                break  # a record still being written
            event = Event.FromString(data[start : start + length])
            offset = start + length + 4
            for value in event.summary.value:
                yield event.step, value


def read_scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar in the run folder's event files, by tag: (step, value), in file order."""
    out: dict[str, list[tuple[int, float]]] = {}
    for step, value in summary_values(run_dir):
        if value.WhichOneof("value") == "simple_value":
            out.setdefault(value.tag, []).append((step, value.simple_value))
    return out


def check_rows(rows, runs, parse=lambda v: v):
    by_run: dict[str, list[dict]] = {}
    for row in rows:
        by_run.setdefault(row["run"], []).append(row)
    assert sorted(by_run) == sorted(GOOD)  # broken and foreign folders are left out
    for name, exported in by_run.items():
        history = read_metrics(runs / name).records
        assert [int(parse(r["epoch"])) for r in exported] == [r.epoch for r in history]
        for row, record in zip(exported, history, strict=True):
            for field in ("train_loss", "train_acc", "test_loss", "test_acc", "seconds", "samples_per_s"):
                assert float(parse(row[field])) == pytest.approx(getattr(record, field), rel=1e-12), field
            assert float(parse(row["epoch_lr"])) == pytest.approx(record.lr, rel=1e-12)
    first = by_run["lr-0.01"][0]
    assert float(parse(first["lr"])) == 0.01 and float(parse(first["conv_dropout"])) == 0.2
    assert first["schedule"] == "onecycle" and first["recipe"] == "fast" and first["state"] == "finished"


def test_csv_export_reads_back_as_each_runs_metrics(runs, tmp_path):
    result = export_workspace(runs, tmp_path / "out.csv")
    assert (result.runs, result.rows) == (4, 8) and sorted(result.skipped) == ["broken", "foreign"]
    with open(tmp_path / "out.csv", newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == FIELDS
        rows = list(reader)
    check_rows(rows, runs)
    assert {r["lr"] for r in rows if r["run"] == "old/format1"} == {""}  # unknown settings stay blank


def test_json_export_of_chosen_runs_and_folders(runs, tmp_path):
    index = RunIndex(runs)
    chosen = [s for s in index.scan() if s.name in ("lr-0.003", "lr-0.01")]
    result = export_runs(chosen + [runs / "sweep", runs / "old" / "format1"], tmp_path / "out.json")
    rows = json.loads((tmp_path / "out.json").read_text())
    assert result.rows == len(rows) == 8
    for row in rows:  # a folder given by path is named from that path
        row["run"] = {"lr-0.001": "sweep/lr-0.001", "format1": "old/format1"}.get(row["run"], row["run"])
    check_rows(rows, runs)


def test_a_bad_export_path_is_one_clear_line(runs, tmp_path):
    with pytest.raises(UserError, match="must end in .csv or .json"):
        export_workspace(runs, tmp_path / "out.txt")
    with pytest.raises(UserError, match="cannot write it"):
        export_workspace(runs, tmp_path / "no" / "such" / "out.csv")


# -- TensorBoard ---------------------------------------------------------------------------------


def test_without_tensorboardx_the_entry_points_say_how_to_install_it(monkeypatch, tmp_path):
    import builtins

    real_import = builtins.__import__

    def no_tensorboardx(name, *args, **kwargs):
        if name.startswith("tensorboardX"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboardx)
    expected = "{} needs the optional extra: pip install -c constraints.txt -e '.[tensorboard]'"
    calls = {"--tensorboard": lambda: tb.TensorBoardListener(tmp_path)}
    calls["--export-tensorboard"] = lambda: export_tensorboard([tmp_path])  # it named --tensorboard
    for option, call in calls.items():
        with pytest.raises(UserError) as caught:
            call()
        assert str(caught.value) == expected.format(option)


def tensorboards_own_reading(run_dir) -> dict | None:
    """tensorboard's EventAccumulator, where tensorboard is installed (it is not a dependency)."""
    try:
        from tensorboard.backend.event_processing import event_accumulator as ea
    except ImportError:
        return None
    accumulator = ea.EventAccumulator(str(run_dir), size_guidance={ea.SCALARS: 0})
    accumulator.Reload()
    return {tag: [(e.step, e.value) for e in accumulator.Scalars(tag)] for tag in accumulator.Tags()["scalars"]}


def check_events(run_dir):
    scalars = read_scalars(run_dir)
    theirs = tensorboards_own_reading(run_dir)
    if theirs is not None:
        assert theirs == scalars
    history = read_metrics(run_dir).records
    batches = read_batches(run_dir).records
    losses = [loss for report in batches for loss in report.losses]
    assert [v for _, v in scalars["batch/loss"]] == pytest.approx(losses, rel=1e-6)  # float32 in the file
    assert [s for s, _ in scalars["batch/loss"]] == list(range(1, len(losses) + 1))
    assert [v for _, v in scalars["batch/lr"]] == pytest.approx([lr for b in batches for lr in b.lrs], rel=1e-6)
    for tag in ("test_acc", "test_loss", "train_loss", "train_acc", "lr"):
        assert scalars[f"epoch/{tag}"] == [(r.epoch, pytest.approx(getattr(r, tag), rel=1e-6)) for r in history]
    tests = [t for r in history for t in inner_evals.tests_of(r)]  # every test, those inside epochs too, over samples
    assert [v for _, v in scalars["test/acc"]] == pytest.approx([t.test_acc for t in tests], rel=1e-6)
    assert [v for _, v in scalars["test/loss"]] == pytest.approx([t.test_loss for t in tests], rel=1e-6)
    steps = [s for s, _ in scalars["test/acc"]]
    assert steps == sorted(set(steps)) and steps[0] > 0
    return scalars


def hparams_in(run_dir) -> dict:
    """The hparams session-start values written into the event file."""
    from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData

    values = {}
    for _, value in summary_values(run_dir):
        if value.tag == "_hparams_/session_start_info":
            plugin = HParamsPluginData.FromString(value.metadata.plugin_data.content)
            for key, v in plugin.session_start_info.hparams.items():
                values[key] = getattr(v, v.WhichOneof("kind"))
    return values


def test_converted_folders_hold_the_runs_scalars_and_settings(runs):
    pytest.importorskip("tensorboardX")
    converted = {c.name: c for c in export_tensorboard([runs])}
    assert converted["broken"].event_file is None and "not JSON" in converted["broken"].skipped
    for name in ("lr-0.003", "lr-0.01", "sweep/lr-0.001"):
        assert converted[name].event_file is not None and converted[name].event_file.parent == runs / name
        check_events(runs / name)
    hp = hparams_in(runs / "lr-0.01")
    assert hp["lr"] == 0.01 and hp["conv_dropout"] == 0.2 and hp["schedule"] == "onecycle" and hp["batch_size"] == 512
    export_tensorboard([runs / "lr-0.01"])  # again: the file is replaced, no epoch appears twice
    assert len(list((runs / "lr-0.01").glob("events.out.tfevents.*"))) == 1
    assert len(read_scalars(runs / "lr-0.01")["epoch/test_acc"]) == 2


def session_end_status(run_dir) -> str:
    """The hparams session-end status written into the run's event file."""
    from tensorboardX.proto.api_pb2 import Status
    from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData

    (_,) = run_dir.glob("events.out.tfevents.*")  # one file: a re-export replaces the last
    statuses = [
        Status.Name(HParamsPluginData.FromString(value.metadata.plugin_data.content).session_end_info.status)
        for _, value in summary_values(run_dir)
        if value.tag == "_hparams_/session_end_info"
    ]
    (status,) = statuses
    return status


def test_a_stopped_run_converts_and_ends_neither_finished_nor_failed(runs):
    """tensorboardX has no "killed" status: asking for one crashed `--export-tensorboard` with a
    traceback at the first stopped run, and the runs after it were never converted."""
    pytest.importorskip("tensorboardX")
    import dataclasses

    summary = next(s for s in RunIndex(runs).scan() if s.name == "lr-0.01")
    assert summary.epochs_done == 2
    stopped = dataclasses.replace(summary, state="stopped", epochs_planned=5)
    assert convert_run(stopped).event_file is not None
    assert session_end_status(runs / "lr-0.01") == "STATUS_UNKNOWN"
    assert len(read_scalars(runs / "lr-0.01")["epoch/test_acc"]) == 2
    convert_run(summary)
    assert session_end_status(runs / "lr-0.01") == "STATUS_SUCCESS"


def test_the_listener_writes_events_while_a_run_trains(tmp_path):
    pytest.importorskip("tensorboardX")
    from mnist_tui.config import Config
    from mnist_tui.synthetic import synthetic_digits
    from mnist_tui.training.loop import Trainer

    run_dir = tmp_path / "live"
    config = Config(epochs=2, device="cpu", precision="fp32", dataset="synthetic", run_dir=run_dir, lr=0.005)
    config = config.with_changes(batch_size=50, tests_per_epoch=2)  # 10 batches, a test after 5
    seen = []
    listener = tb.TensorBoardListener(run_dir, config.to_dict(), forward=seen.append)
    result = Trainer(config, listener, datasets=synthetic_digits(0, 500, 200)).run()
    assert result.error is None and listener.error is None
    assert any(type(e).__name__ == "Finished" for e in seen)  # every event passed on
    scalars = check_events(run_dir)
    assert [s for s, _ in scalars["test/acc"]] == [250, 500, 750, 1000]  # the samples trained at each test
    assert all(math.isfinite(v) for _, v in scalars["batch/loss"])
    hp = hparams_in(run_dir)
    assert hp["lr"] == 0.005 and hp["precision"] == "fp32" and hp["device"] == "cpu"


@pytest.mark.parametrize(
    ("error", "said"),
    [(OSError(28, "No space left on device"), "[Errno 28] No space left on device"), (KeyError(3), "KeyError: 3")],
)
def test_an_event_log_that_stops_says_so_once_and_the_run_trains_on(tmp_path, monkeypatch, error, said):
    """A full disk under --tensorboard: the log stopped and nobody was told. A fault of ours is
    said with its type (a KeyError's notice read "stopped: 3")."""
    pytest.importorskip("tensorboardX")
    from mnist_tui.config import Config
    from mnist_tui.synthetic import synthetic_digits
    from mnist_tui.training.events import Finished, Notice
    from mnist_tui.training.loop import Trainer

    def fails(self, event):
        raise error

    monkeypatch.setattr(tb.EventLog, "batch", fails)
    run_dir = tmp_path / "live"
    config = Config(epochs=2, device="cpu", precision="fp32", dataset="synthetic", run_dir=run_dir, lr=0.005)
    seen = []
    listener = tb.TensorBoardListener(run_dir, config.to_dict(), forward=seen.append)
    result = Trainer(config, listener, datasets=synthetic_digits(0, 500, 200)).run()
    assert result.error is None and result.epochs_done == 2
    notices = [e.text for e in seen if isinstance(e, Notice)]
    assert notices == [f"TensorBoard events stopped: {said}"]
    assert isinstance(seen[-1], Finished)


def test_a_live_run_is_left_out_of_the_event_export_with_the_way_it_gets_events(runs):
    """A run training with --tensorboard was told "still training: train it with --tensorboard"."""
    import dataclasses

    summary = next(s for s in RunIndex(runs).scan() if s.name == "lr-0.01")
    live = dataclasses.replace(summary, state="training")
    assert convert_run(live).skipped == "still training: export it once it ends"
    (summary.path / "events.out.tfevents.1.host.mnist-tui").write_bytes(b"")  # --tensorboard's file
    assert convert_run(live).skipped == "still training: it writes its own events (--tensorboard)"


def test_a_run_whose_run_json_is_not_used_converts_from_its_epochs(runs):
    """Listed with "run.json not used", it ended the event export in a RecordError traceback."""
    pytest.importorskip("tensorboardX")
    (runs / "lr-0.01" / "run.json").write_bytes(b"")
    summary = next(s for s in RunIndex(runs).scan() if s.name == "lr-0.01")
    converted = convert_run(summary)
    assert converted.skipped == "" and converted.event_file is not None and converted.event_file.exists()
    assert len(check_events(summary.path)["epoch/test_acc"]) == 2


def test_the_command_lines_export_prints_one_line_per_result(runs, tmp_path, capsys):
    from mnist_tui.workspace.command import run_exports

    assert run_exports(runs, export=tmp_path / "all.json", tensorboard=True) == 0
    out, err = capsys.readouterr()
    assert f"wrote 8 rows of 4 runs to {tmp_path / 'all.json'}" in out
    assert "lr-0.01: " in out and ".mnist-tui" in out and f"tensorboard --logdir {runs}" in out
    assert "left out broken" in err and "foreign: skipped (metrics.jsonl: no row fits" in err
    with pytest.raises(UserError, match="no such folder"):
        run_exports(tmp_path / "nowhere", export=tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()


def test_a_live_run_opens_followed_an_ended_one_replayed():
    from mnist_tui.workspace.runs import opens_as

    assert [opens_as(s) for s in ("training", "paused", "loading")] == ["follow"] * 3
    assert [opens_as(s) for s in ("finished", "stopped", "failed", "lost", "unknown")] == ["replay"] * 5


def test_the_workspace_exports_beside_its_folder_never_inside_it(tmp_path):
    path = export_path(tmp_path / "runs" / ".." / "runs", dt.datetime(2026, 1, 2, 3, 4, 5))
    assert path == tmp_path.resolve() / "runs-20260102-030405.csv"  # a file inside would be a broken "run"


# -- what an export may write, and what it must say ----------------------------------------------


def cli(capsys, *argv: str) -> tuple[int, str]:
    from mnist_tui.cli import main

    code = main(list(argv))
    return code, capsys.readouterr().err


def test_an_export_never_writes_into_a_run_folder(runs, capsys):
    run_json = runs / "lr-0.01" / "run.json"
    saved = run_json.read_bytes()
    code, err = cli(capsys, "--runs", str(runs), "--export", str(run_json))  # the audit's command
    where = f"--export {shown(run_json)}: {shown(run_json.parent)}"
    assert code == 2 and err == f"mnist-tui: error: {where} is a run folder; write the export outside it\n"
    assert run_json.read_bytes() == saved
    for target in (runs / "lr-0.01" / "new.csv", runs / "old" / "format1" / "new.json"):  # format 1: metrics only
        with pytest.raises(UserError, match=r"is a run folder; write the export outside it$"):
            export_workspace(runs, target)
        assert not target.exists()
    plain = runs / "notes"  # no run here, but a run.json would make it one (a broken one)
    with pytest.raises(UserError, match="run.json is a run folder's own file name; choose another name"):
        export_workspace(runs, plain / "run.json")
    assert not (plain / "run.json").exists()
    assert "notes" not in {s.name for s in RunIndex(runs).scan()}


def test_an_export_never_overwrites_a_file(runs, tmp_path, capsys):
    taken = tmp_path / "results.csv"
    taken.write_text("my own notes\n")
    code, err = cli(capsys, "--runs", str(runs), "--export", str(taken))
    assert code == 2
    assert err == f"mnist-tui: error: --export {shown(taken)}: it already exists; choose another name or remove it\n"
    assert taken.read_text() == "my own notes\n"
    dangling = tmp_path / "link.json"
    dangling.symlink_to(tmp_path / "nowhere.json")
    with pytest.raises(UserError, match="already exists"):
        export_runs(RunIndex(runs).scan(), dangling)
    assert not (tmp_path / "nowhere.json").exists()


def test_the_dashboards_export_takes_a_free_name_beside_the_runs(runs):
    """The screen's path: export_path, then export_runs of the listed summaries with its index."""
    index = RunIndex(runs)
    listed = [s for s in index.scan() if s.name != "foreign"]
    now = dt.datetime(2026, 1, 2, 3, 4, 5)
    first = export_runs(listed, export_path(runs, now), index)
    assert first.path == runs.parent / "runs-20260102-030405.csv" and first.rows == 8
    assert first.skipped == ("broken",)
    saved = first.path.read_bytes()
    lr = [s for s in listed if s.name == "lr-0.01"]
    second = export_runs(lr, export_path(runs, now), index)  # E again within the same second, a filter on
    assert second.path == runs.parent / "runs-20260102-030405-2.csv" and second.runs == 1
    assert first.path.read_bytes() == saved


def test_an_export_never_replaces_a_file_written_between_its_check_and_its_write(runs, monkeypatch):
    """E twice within a second: both exports found the name free, the second replaced the first,
    and both said "exported … to X" (one file)."""
    from mnist_tui.workspace import export as export_module

    index = RunIndex(runs)
    listed = [s for s in index.scan() if s.name != "foreign"]
    checked: list[Path] = []
    check = export_module.check_export_path

    def checked_then_taken(path: Path) -> None:
        check(path)
        checked.append(path)
        if len(checked) == 2:  # the last check before its write: the other export writes now
            path.write_text("the other export")

    monkeypatch.setattr(export_module, "check_export_path", checked_then_taken)
    result = export_module.export_beside(listed, runs, index)
    assert checked[0].read_text() == "the other export"  # not replaced
    assert result.path == checked[2] != checked[0] and result.path.read_text().startswith("run,")
    # the other export's file came while this one read the runs: the check before the write saw it
    checked.clear()
    monkeypatch.setattr(export_module, "check_export_path", check)
    rows = export_module.export_rows

    taken: list[Path] = []

    def slow_rows(*args):
        if not taken:
            taken.append(export_module.export_path(runs))
            taken[0].write_text("written meanwhile")
        return rows(*args)

    monkeypatch.setattr(export_module, "export_rows", slow_rows)
    result = export_module.export_beside(listed, runs, index)
    assert taken[0].read_text() == "written meanwhile" and result.path != taken[0]
    assert result.path.read_text().startswith("run,")


def test_an_export_of_no_runs_is_refused(runs, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "x.csv"
    code, err = cli(capsys, "--runs", str(empty), "--export", str(out))
    assert code == 2 and err == f"mnist-tui: error: no runs under {empty}: nothing to export\n"
    with pytest.raises(
        UserError, match=r"^no readable runs under .*broken: nothing to export; left out broken: run.json"
    ):
        export_workspace(runs / "broken", out)
    with pytest.raises(UserError, match=r"^no runs: nothing to export$"):
        export_runs([], out)  # the dashboard's filter left no run listed
    assert not out.exists()


def test_a_tensorboard_export_that_converts_no_run_is_refused_as_an_export_is(runs, tmp_path, capsys):
    """It exited 0 and named `tensorboard --logdir` for an empty folder, or one of broken runs."""
    empty = tmp_path / "empty"
    empty.mkdir()
    code, err = cli(capsys, "--runs", str(empty), "--export-tensorboard")
    assert code == 2 and err == f"mnist-tui: error: no runs under {empty}: nothing to export\n"
    code, err = cli(capsys, "--runs", str(runs / "broken"), "--export-tensorboard")
    assert code == 2 and err.startswith(f"mnist-tui: error: no readable runs under {runs / 'broken'}: nothing")
    assert err.count("\n") == 1 and not list((runs / "broken").rglob("events.out.tfevents.*"))


def test_a_symlink_back_up_the_tree_lists_each_run_once(runs, tmp_path, capsys):
    from mnist_tui.workspace.command import run_exports

    before = sorted(s.name for s in RunIndex(runs).scan())
    (runs / "self").symlink_to(".")
    (runs / "sweep" / "up").symlink_to("..")
    (runs / "again").symlink_to(runs / "lr-0.01")
    (runs / "a-sweep").symlink_to("sweep")  # listed before the real one: the real name wins
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "back").symlink_to(runs)
    shutil.copytree(runs / "lr-0.003", elsewhere / "copy")
    (runs / "outside").symlink_to(elsewhere)  # a new folder: still followed
    assert sorted(s.name for s in RunIndex(runs).scan()) == sorted([*before, "outside/copy"])
    assert run_exports(runs, export=tmp_path / "all.csv") == 0
    assert "wrote 10 rows of 5 runs" in capsys.readouterr().out
    with open(tmp_path / "all.csv", newline="") as f:
        assert sorted({row["run"] for row in csv.DictReader(f)}) == sorted([*GOOD, "outside/copy"])


def test_a_left_out_folder_says_why(runs, tmp_path, capsys):
    """The audit's c10: test accuracy written in percent. Replay still draws it from the
    checkpoint's own history, so "it could not be read as a run" was no reason at all; nor is it
    broken (the workspace refused to open what --replay shows): it goes out without epochs, and says why."""
    from mnist_tui.workspace.command import run_exports

    shutil.copytree(runs / "lr-0.01", runs / "c10")
    metrics = runs / "c10" / "metrics.jsonl"
    rows = [json.loads(line) for line in metrics.read_text().splitlines()]
    metrics.write_text("".join(json.dumps(row | {"test_acc": row["test_acc"] * 100}) + "\n" for row in rows))
    assert run_exports(runs, export=tmp_path / "all.csv") == 0
    err = capsys.readouterr().err.splitlines()
    percent = rows[0]["test_acc"] * 100
    no_row = f"metrics.jsonl: no row fits (line 1: field 'test_acc' is out of range ({percent}))"
    cut = "metrics.jsonl holds 0 of the 2 epochs status.json counts (cut or removed; --replay shows the checkpoint's)"
    assert f"note c10: {no_row}; {cut}" in err
    assert [line for line in err if line.startswith("left out broken: run.json is not JSON")]
    assert "left out foreign: metrics.jsonl: no row fits (line 1: field 'epoch' is missing)" in err
    assert not [line for line in err if "could not be read as a run" in line]
    c10 = next(s for s in RunIndex(runs).scan() if s.name == "c10")
    assert (c10.state, c10.problem) == ("finished", "")  # enter opens it, as --replay does


def test_a_run_exported_without_its_damaged_rows_is_named_with_them(runs, tmp_path, capsys):
    from mnist_tui.workspace.command import run_exports

    shutil.copytree(runs / "lr-0.01", runs / "gappy")
    with open(runs / "gappy" / "metrics.jsonl", "a") as metrics:
        metrics.write('{"epoch": "three"}\n')
    assert run_exports(runs, export=tmp_path / "all.csv") == 0
    err = capsys.readouterr().err.splitlines()
    assert [line for line in err if line.startswith("note gappy: skipped 1 damaged row of metrics.jsonl")]  # was silent
    with open(tmp_path / "all.csv", newline="") as f:
        assert [row["epoch"] for row in csv.DictReader(f) if row["run"] == "gappy"] == ["1", "2"]


def test_an_export_that_cannot_write_keeps_the_earlier_event_file_and_says_so(runs, monkeypatch):
    """On a full disk tensorboardX's writer thread printed a traceback, its close waited forever,
    and the earlier event file had already been deleted."""
    import errno

    pytest.importorskip("tensorboardX")
    from tensorboardX.record_writer import RecordWriter

    run_dir = runs / "lr-0.01"
    export_tensorboard([run_dir])
    (earlier,) = run_dir.glob("events.out.tfevents.*")
    before = earlier.read_bytes()
    writes = {"n": 0}
    real_write = RecordWriter.write

    def fills_the_disk(self, data):
        writes["n"] += 1
        if writes["n"] > 5:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(self, data)

    monkeypatch.setattr(RecordWriter, "write", fills_the_disk)
    with pytest.raises(UserError, match=r"could not write .*events\.out\.tfevents.*: No space left on device"):
        export_tensorboard([run_dir])
    assert [p.name for p in run_dir.glob("*tfevents*")] == [earlier.name]
    assert not list(run_dir.glob(".mnist-tui-export-*"))  # no partial file left
    assert earlier.read_bytes() == before


def test_counts_are_said_in_the_singular_for_one():
    from mnist_tui.words import counted

    assert (counted(1, "run"), counted(2, "run"), counted(1_200, "row")) == ("1 run", "2 runs", "1,200 rows")
    assert (counted(1, "epoch"), counted(3, "more epoch")) == ("1 epoch", "3 more epochs")


def test_batch_steps_only_grow_when_a_resume_changes_the_batch_size(tmp_path):
    """Epoch 1 at 10 batches, epoch 2 (resumed with a larger batch) at 5: epoch 2 was written over
    steps 6-10 of epoch 1, as step = (epoch - 1) × its own batches per epoch + batch."""
    pytest.importorskip("tensorboardX")
    from mnist_tui.training.events import BatchEnd

    log = tb.EventLog(tmp_path)
    for epoch, per_epoch in ((1, 10), (2, 5)):
        for batch in range(1, per_epoch + 1):
            log.batch(BatchEnd(epoch, batch, per_epoch, (1.0 / batch,), 1e4, batch * 64, (0.01,), 1.0))
    log.close()
    steps = [step for step, _ in read_scalars(tmp_path)["batch/loss"]]
    assert steps == list(range(1, 16))


def test_a_huge_epoch_row_is_a_note_of_the_tensorboard_export_as_of_the_csv_one(runs, tmp_path, capsys):
    """QA's run with a row of epoch 99999999999999999999999 and train loss 1e308: --export-tensorboard
    ended in protobuf's "Value out of range" traceback, other runs half done, its temporary file left
    in the run folder; and it never named damaged rows that --export named."""
    pytest.importorskip("tensorboardX")
    shutil.copytree(runs / "lr-0.01", runs / "huge")
    with open(runs / "huge" / "metrics.jsonl", "a") as metrics:
        row = json.loads((runs / "lr-0.01" / "metrics.jsonl").read_text().splitlines()[-1])
        metrics.write(json.dumps(row | {"epoch": 10**23 - 1, "train_loss": 1e308}) + "\n")
    code, err = cli(capsys, "--runs", str(runs), "--export", str(tmp_path / "all.csv"), "--export-tensorboard")
    note = "note huge: skipped 1 damaged row of metrics.jsonl (line 3: field 'epoch' is above 100000"
    assert code == 0 and [line for line in err.splitlines() if line.startswith(note)], err
    assert err.count("note huge:") == 1  # both exports, one note
    code, err = cli(capsys, "--runs", str(runs), "--export-tensorboard")
    assert code == 0 and [line for line in err.splitlines() if line.startswith(note)], err
    assert [step for step, _ in read_scalars(runs / "huge")["epoch/train_loss"]] == [1, 2]
    assert not list((runs / "huge").glob(".mnist-tui-export-*"))


def test_a_run_whose_events_cannot_be_written_is_skipped_in_one_line_and_the_others_convert(runs, monkeypatch, capsys):
    """Any failure but a full disk's (which ends the export, as the next run's would fail too) was a
    traceback: the rest unconverted and ``.mnist-tui-export-PID.tmp`` left in the run folder."""
    pytest.importorskip("tensorboardX")
    real_epoch = tb.EventLog.epoch

    def out_of_range(self, record, train_size, walltime=None):
        if self.run_dir.name == "lr-0.003":
            raise ValueError("Value out of range: 99999999999999999999999")
        real_epoch(self, record, train_size, walltime)

    monkeypatch.setattr(tb.EventLog, "epoch", out_of_range)
    code, err = cli(capsys, "--runs", str(runs), "--export-tensorboard")
    skipped = (
        "lr-0.003: skipped (its events could not be written: ValueError: Value out of range: 99999999999999999999999"
    )
    assert code == 0 and [line for line in err.splitlines() if line.startswith(skipped)], err
    assert "Traceback" not in err
    assert not list((runs / "lr-0.003").glob(".mnist-tui-export-*")) and not list(
        (runs / "lr-0.003").glob("*tfevents*")
    )
    assert list((runs / "lr-0.01").glob("*tfevents*")) and list((runs / "sweep" / "lr-0.001").glob("*tfevents*"))
