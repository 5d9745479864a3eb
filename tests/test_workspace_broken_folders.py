"""A folder whose files cannot even be looked at is one broken row, never the end of the scan."""

from __future__ import annotations

import shutil

from workspace_helpers import made_runs

from mnist_tui import cli
from mnist_tui.workspace.index import RunIndex


def test_a_run_json_in_a_symlink_loop_is_a_broken_row_and_the_rest_still_export(tmp_path, tmp_path_factory, capsys):
    """`ln -s run.json bad/run.json`: the scan's OSError ended the workspace and every export."""
    root = tmp_path / "runs"
    shutil.copytree(made_runs(tmp_path_factory) / "lr-0.01", root / "good")
    (root / "bad").mkdir()
    (root / "bad" / "run.json").symlink_to("run.json")
    by_name = {s.name: s for s in RunIndex(root).scan()}
    assert not by_name["good"].problem
    assert "too many levels of symbolic links" in by_name["bad"].problem.lower()
    code = cli.main(["--runs", str(root), "--export", str(tmp_path / "out.csv")])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "of 1 run to" in out.out and "left out bad: run.json" in out.err
