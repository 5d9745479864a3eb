"""Time to 99 %: the first epoch at the target test accuracy and the training seconds up to it,
as every face says it at a run's end (issue 14 checks the sprint by it)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from rich.console import Console

from mnist_tui.headless import RichReporter
from mnist_tui.headless_json import JsonReporter
from mnist_tui.training.events import DataReady, EpochRecord, Finished
from mnist_tui.training.reached import Reached, first_reached
from mnist_tui.words import reached_text


def row(epoch: int, test_acc: float, seconds: float) -> EpochRecord:
    return EpochRecord(epoch, 0.1, 0.97, 0.05, test_acc, seconds, 2e4, 0.01)


def test_the_time_is_the_training_seconds_through_the_first_epoch_at_the_target():
    history = [row(1, 0.985, 3.5), row(2, 0.9912, 3.75), row(3, 0.989, 1.5), row(4, 0.995, 3.0)]
    assert first_reached(history) == Reached(2, 7.25)
    assert first_reached(history, target=0.993) == Reached(4, 11.75, 0.993)
    assert first_reached(history[:1]) is None and first_reached([]) is None


def test_an_epoch_trained_again_counts_once_as_its_last_row_says():
    """A resumed run rewound to epoch 1 trains epoch 2 again: its first attempt's row is not the run's."""
    history = [row(1, 0.985, 3.5), row(2, 0.9905, 9.0), row(2, 0.9901, 4.0)]
    assert first_reached(history) == Reached(2, 7.5)
    assert first_reached([row(2, 0.991, 4.0), row(1, 0.98, 3.0)]) == Reached(2, 7.0)  # in epoch order


def test_the_end_of_a_run_carries_its_best_and_its_time_to_99():
    history = (row(1, 0.985, 3.5), row(2, 0.9912, 3.75), row(3, 0.9910, 1.5))
    assert Finished.of(history, 3, False) == Finished(3, 0.9912, False, "", Reached(2, 7.25))
    assert Finished.of(history[:1], 1, True, "training") == Finished(1, 0.985, True, "training", None)
    assert Finished.of((), 0, True) == Finished(0, None, True)
    assert reached_text(Reached(2, 7.25)) == "99 % at epoch 2, after 7.2 s of training"
    assert reached_text(Reached(3, 12.04, 0.995)) == "99.5 % at epoch 3, after 12.0 s of training"


def _report(reporter, history) -> None:
    empty = np.zeros((0, 28, 28), np.uint8)
    ready = DataReady("MNIST", "cpu", "bf16", 100, 0, 1, 21840, None, empty, np.zeros(0, np.int64), 3, history, 3)
    reporter(ready)
    reporter(Finished.of(history, len(history), False))


def test_the_headless_end_line_and_json_say_when_99_was_reached_and_only_then():
    reached = (row(1, 0.985, 3.5), row(2, 0.9912, 3.75), row(3, 0.9910, 1.5))
    missed = (row(1, 0.985, 3.5), row(2, 0.9898, 3.75))
    for history, end in ((reached, "; 99 % at epoch 2, after 7.2 s of training"), (missed, "")):
        out = io.StringIO()
        _report(RichReporter(None, Console(file=out, width=200)), history)
        best = f"{max(r.test_acc for r in history):.2%}"
        assert out.getvalue().splitlines()[-1].endswith(f"on MNIST; best test accuracy {best}{end}"), out.getvalue()
    stream = io.StringIO()
    _report(JsonReporter(stream), reached)
    _report(JsonReporter(stream), missed)
    ends = [r["reached_99"] for r in map(json.loads, stream.getvalue().splitlines()) if r["event"] == "finished"]
    assert ends == [{"epoch": 2, "seconds": 7.25}, None]


@pytest.mark.real_mnist
@pytest.mark.slow
def test_the_sprint_on_real_mnist_reaches_99_and_says_when(real_mnist_dir, tmp_path):
    """What issue 14 checks: ``mnist-tui --headless --recipe sprint --seed 0`` on real MNIST ends at
    ≥ 99 % and names the first test at 99 % (its half-epoch tests count) and the training time to it,
    from its rows' seconds."""
    run_dir = tmp_path / "sprint"
    command = [sys.executable, "-m", "mnist_tui", "--headless", "--recipe", "sprint", "--seed", "0"]
    command += ["--data-dir", str(real_mnist_dir), "--run-dir", str(run_dir), "--log-format", "json"]
    out = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stdout.splitlines()]
    epochs = [e for e in events if e["event"] == "epoch"]
    assert any(e["test_acc"] >= 0.99 for e in epochs), [e["test_acc"] for e in epochs]  # issue 14's seed 0
    assert [len(e.get("inner_evals", [])) for e in epochs] == [1, 1, 0]  # tested at 0.5 and 1.5 (2.5 is the end)
    tests, before = [], 0.0  # (epochs trained, accuracy, training seconds) of every test, in order
    for e in epochs:
        tests += [(t["at"], t["test_acc"], before + t["seconds"]) for t in e.get("inner_evals", [])]
        before += e["seconds"]
        tests.append((e["epoch"], e["test_acc"], before))
    at, _, seconds = next(t for t in tests if t[1] >= 0.99)
    assert events[-1]["event"] == "finished"
    assert events[-1]["reached_99"] == {"epoch": at, "seconds": round(seconds, 3)}
    # and its replay says the same in words
    replayed = subprocess.run(
        [sys.executable, "-m", "mnist_tui", "--headless", "--replay", str(run_dir)], capture_output=True, text=True
    )
    assert replayed.returncode == 0, replayed.stderr
    assert f"; 99 % at epoch {round(at, 2):g}, after {seconds:.1f} s of training" in replayed.stdout
    shutil.rmtree(run_dir)
