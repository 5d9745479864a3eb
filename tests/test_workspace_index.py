"""The workspace's index over real run folders (short headless runs), broken and foreign folders,
a format-1 folder, the cache, a lost writer, and 500 generated folders."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest
from workspace_helpers import headless, workspace

from mnist_tui.runfolder.layout import process_start
from mnist_tui.runfolder.reader import read_metrics
from mnist_tui.workspace import index as index_module
from mnist_tui.workspace.columns import BY_KEY, cell_text
from mnist_tui.workspace.compare import differing_settings
from mnist_tui.workspace.export import export_runs
from mnist_tui.workspace.filters import parse_filter
from mnist_tui.workspace.index import RunIndex

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def runs(tmp_path, tmp_path_factory) -> Path:
    return workspace(tmp_path, tmp_path_factory)


def by_name(summaries):
    return {s.name: s for s in summaries}


def test_every_run_folder_is_one_row_with_its_settings_and_results(runs):
    rows = by_name(RunIndex(runs).scan())
    assert set(rows) == {"lr-0.003", "lr-0.01", "sweep/lr-0.001", "broken", "foreign", "old/format1"}
    a, b, c = rows["lr-0.003"], rows["lr-0.01"], rows["sweep/lr-0.001"]
    assert (a.lr, b.lr, c.lr) == (0.003, 0.01, 0.001)
    assert (a.batch_size, b.batch_size, c.batch_size) == (512, 512, 128)
    assert (a.conv_dropout, a.fc_dropout, b.conv_dropout, b.fc_dropout) == (0.1, 0.1, 0.2, 0.2)
    for run in (a, b, c):
        history = read_metrics(run.path).records
        assert run.state == "finished" and run.problem == ""
        assert (run.epochs_done, run.epochs_planned, run.format) == (2, 2, 2)
        assert run.dataset == "synthetic" and run.device == "cpu" and run.world_size == 1
        assert run.recipe == "fast" and run.schedule == "onecycle" and run.seed == 0
        assert run.precision in ("fp32", "bf16")  # resolved from "auto" in run.json
        assert run.best_test_acc == max(r.test_acc for r in history)
        assert run.last_test_loss == history[-1].test_loss
        samples = sum(r.samples_per_s * r.seconds for r in history)
        assert run.samples_per_s == pytest.approx(samples / sum(r.seconds for r in history))
        assert run.time_to_99 is None  # 500 synthetic samples never reach 99 %
        assert abs(run.started - time.time()) < 3600


def test_broken_and_foreign_folders_are_rows_with_their_reason(runs):
    rows = by_name(RunIndex(runs).scan())
    assert rows["broken"].state == "broken"
    assert "run.json is not JSON" in rows["broken"].problem
    assert rows["foreign"].problem == "metrics.jsonl: no row fits (line 1: field 'epoch' is missing)"
    assert "notes" not in rows  # a folder without run files is no run


@pytest.mark.parametrize("damage", [b"", b'{"format": 99, "config": {}}'])
def test_a_run_json_that_cannot_be_used_beside_its_epochs_is_a_note_as_in_its_replay(runs, damage):
    """An empty or newer-format run.json made the run "broken" (enter: "cannot be opened"), where
    --replay shows its epochs with "note: run.json not used: …"."""
    (runs / "lr-0.01" / "run.json").write_bytes(damage)
    run = by_name(RunIndex(runs).scan())["lr-0.01"]
    assert run.problem == "" and run.state == "finished" and run.epochs_done == 2
    assert run.note.startswith("run.json not used: ")
    assert ("format 99 is newer" in run.note) == bool(damage) and "run.json: " not in run.note
    status = json.loads((runs / "lr-0.01" / "status.json").read_text())
    live = status | {"state": "training", "pid": os.getpid(), "pid_start": process_start(os.getpid()) or 0}
    (runs / "lr-0.01" / "status.json").write_text(json.dumps(live | {"heartbeat": time.time()}))
    run = by_name(RunIndex(runs).scan())["lr-0.01"]  # live: enter would open a follower, which needs it
    assert run.state == "broken" and run.problem.startswith("run.json")


def test_a_finished_run_whose_metrics_were_cut_or_removed_says_so(runs, tmp_path):
    """The workspace listed "finished 1/2" (or 0/2) with no word, and the export wrote the rows
    left, where a replay showed both epochs from the checkpoint."""
    from mnist_tui.workspace.export import export_runs

    metrics = runs / "lr-0.01" / "metrics.jsonl"
    metrics.write_text(metrics.read_text().splitlines(keepends=True)[0])  # one row of two
    (runs / "lr-0.003" / "metrics.jsonl").unlink()
    rows = by_name(RunIndex(runs).scan())
    said = "metrics.jsonl holds {} of the 2 epochs status.json counts (cut or removed; --replay shows"
    assert said.format(1) in rows["lr-0.01"].note and rows["lr-0.01"].epochs_done == 1
    assert said.format(0) in rows["lr-0.003"].note
    assert rows["sweep/lr-0.001"].note == ""
    result = export_runs([rows["lr-0.01"], rows["lr-0.003"]], tmp_path / "out.csv")
    assert [name for name, _ in result.noted] == ["lr-0.01", "lr-0.003"]  # named on stderr
    from mnist_tui.tui.widgets.runs_table import RunsTable
    from mnist_tui.workspace.columns import COLUMNS

    table = RunsTable()  # the note is shown for the row at the cursor: the rows that have one are flagged
    table.shown_columns = COLUMNS
    names = {run: table._cells(rows[run])[1] for run in ("lr-0.01", "sweep/lr-0.001")}
    assert names["lr-0.01"].style == "yellow" and names["sweep/lr-0.001"].style == ""


def test_a_run_steered_longer_without_its_status_is_not_more_done_than_planned(runs):
    """With status.json gone, the plan came from run.json's first one: "finished 3/2"."""
    from mnist_tui.runfolder.atomic import jsonl

    run = runs / "lr-0.01"
    rows = read_metrics(run).records
    extra = rows[-1].__class__(**(rows[-1].to_json() | {"epoch": 3}))
    (run / "metrics.jsonl").write_text(jsonl([r.to_json() for r in [*rows, extra]]))
    (run / "status.json").unlink()
    row = by_name(RunIndex(runs).scan())["lr-0.01"]
    assert (row.epochs_done, row.epochs_planned, row.state) == (3, 3, "finished")


def test_a_format_1_folder_lists_from_its_metrics_alone(runs):
    old = by_name(RunIndex(runs).scan())["old/format1"]
    assert old.problem == "" and old.format == 1
    assert old.epochs_done == 2 and old.epochs_planned is None and old.state == "unknown"
    assert old.dataset == "synthetic" and old.lr is None and old.batch_size is None  # settings: checkpoint only


def test_a_rescan_reads_only_the_files_that_changed(runs, monkeypatch):
    reads = []
    real = index_module.read_metrics
    monkeypatch.setattr(index_module, "read_metrics", lambda d: reads.append(Path(d).name) or real(d))
    index = RunIndex(runs)
    first = index.scan()
    assert len(reads) == 5  # every folder holding a metrics.jsonl, once
    reads.clear()
    assert index.scan() == first and reads == []
    metrics = runs / "lr-0.01" / "metrics.jsonl"
    metrics.write_text(metrics.read_text().splitlines()[0] + "\n")  # the run cut back to epoch 1
    rows = by_name(index.scan())
    assert reads == ["lr-0.01"] and rows["lr-0.01"].epochs_done == 1 and rows["lr-0.01"].state == "finished"


def test_a_run_whose_writer_died_is_lost_and_a_live_one_training(runs):
    status_path = runs / "lr-0.003" / "status.json"
    status = json.loads(status_path.read_text())
    status |= {"state": "training", "pid": 2**22 + 12345, "heartbeat": time.time() - 60}  # no such process
    status_path.write_text(json.dumps(status))
    live_path = runs / "lr-0.01" / "status.json"
    live = json.loads(live_path.read_text()) | {"state": "training", "pid": os.getpid(), "heartbeat": time.time()}
    live["pid_start"] = process_start(os.getpid())  # this process plays the writer
    live_path.write_text(json.dumps(live))
    rows = by_name(RunIndex(runs).scan())
    assert rows["lr-0.003"].state == "lost"
    assert rows["lr-0.01"].state == "training"


def test_a_missing_folder_is_one_clear_error(tmp_path):
    from mnist_tui.errors import UserError

    with pytest.raises(UserError, match="no such folder"):
        RunIndex(tmp_path / "nowhere").scan()


def test_500_generated_folders_list_correctly(tmp_path):
    sys.path.insert(0, str(BENCH))
    import workspace_index as bench

    folders = bench.make_run_folders(tmp_path, 500)
    index = RunIndex(tmp_path)
    rows = index.scan()
    assert len(rows) == 500 and not [r for r in rows if r.problem]
    assert sorted(r.path for r in rows) == sorted(folders)
    assert {r.name for r in rows if "/" in r.name}  # nested sweeps are found
    assert all(r.epochs_done == 10 and r.state == "finished" for r in rows)
    assert index.scan() == rows
    figures = bench.time_scans(tmp_path, repeats=1)  # the benchmark's own path runs (no bound asserted)
    assert figures["runs"] == 500


def test_a_runs_rate_is_its_samples_over_its_seconds_not_a_mean_of_epoch_rates():
    from mnist_tui.training.events import EpochRecord
    from mnist_tui.workspace.summary import results

    def epoch(n, seconds, rate):
        return EpochRecord(n, 0.1, 0.9, 0.1, 0.9, seconds, rate, 0.01)

    rate = results([epoch(1, 0.25, 40_000.0), epoch(2, 3.0, 3_000.0), epoch(3, 4.0, 2_500.0)])["samples_per_s"]
    assert rate == pytest.approx((10_000 + 9_000 + 10_000) / 7.25)


def test_a_sprint_reads_as_its_2_5_epochs_in_the_table_compare_and_export(runs, tmp_path):
    """The table said "3/3" for a sprint (3 epochs, the last half) and the export's
    ``epochs_planned`` 3, where its replay and the headless report said "2.5 epochs"."""
    job = headless(runs / "sprint", "--recipe", "sprint", epochs=None)
    out, _ = job.communicate(timeout=300)
    assert job.returncode == 0, out
    rows = by_name(RunIndex(runs).scan())
    sprint, whole = rows["sprint"], rows["lr-0.003"]
    assert (sprint.epochs_done, sprint.epochs_planned) == (3, 3)  # the rows and the status keep whole epochs
    assert (cell_text(BY_KEY["epochs"], sprint), cell_text(BY_KEY["epochs"], whole)) == ("2.5/2.5", "2/2")
    assert parse_filter("epochs>2").matches(sprint) and not parse_filter("epochs>2.5").matches(sprint)
    assert differing_settings([sprint, whole])[0]["epochs_length"] == [2.5, 2]
    export_runs([sprint, whole], tmp_path / "runs.json")
    planned = {row["run"]: row["epochs_planned"] for row in json.loads((tmp_path / "runs.json").read_text())}
    assert planned == {"sprint": 2.5, "lr-0.003": 2}


def test_a_folder_named_with_an_escape_sequence_is_shown_escaped_and_exported_as_named(runs, tmp_path):
    """A folder made by hand as ``red\\x1b[31mX`` coloured the workspace's row, footer line and
    legend: the terminal read its escape sequence. It is shown as ``\\x1b``; the export keeps its name."""
    import shutil

    name = "red\x1b[31mX\x07"
    shutil.copytree(runs / "lr-0.01", runs / name)
    run = by_name(RunIndex(runs).scan())[name]
    shown = cell_text(BY_KEY["name"], run)
    assert shown == "red\\x1b[31mX\\x07" and shown.isprintable()
    export_runs([run], tmp_path / "runs.json")
    assert json.loads((tmp_path / "runs.json").read_text())[0]["run"] == name
