"""Tests inside an epoch (``--tests-per-epoch``; sprint's half epochs): where they fall, the record
they leave in their epoch's row, the time to 99 % they give, and that they change no weight."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from rich.console import Console

from mnist_tui.config import Config, make_config
from mnist_tui.errors import UserError
from mnist_tui.headless import RichReporter
from mnist_tui.schema import RecordError
from mnist_tui.training.events import DataReady, EpochRecord, Finished
from mnist_tui.training.inner_evals import InnerEval, InnerTests, inner_eval_batches
from mnist_tui.training.loop import Trainer
from mnist_tui.training.reached import Reached, first_reached
from mnist_tui.words import epochs_text, reached_text


def row(epoch: int, test_acc: float, seconds: float, inner: tuple[InnerEval, ...] = ()) -> EpochRecord:
    return EpochRecord(epoch, 0.1, 0.97, 0.05, test_acc, seconds, 2e4, 0.01, inner_evals=inner)


def test_the_tests_fall_at_the_first_batch_end_past_each_share_and_before_the_epochs_end():
    assert inner_eval_batches(2, 60_000, 60_000, 128) == (235,)  # 30,080 samples: epoch 1.5013 in epoch 2
    assert inner_eval_batches(4, 60_000, 60_000, 128) == (118, 235, 352)
    assert inner_eval_batches(1, 60_000, 60_000, 128) == ()  # the default: epoch ends only
    assert inner_eval_batches(2, 60_000, 30_000, 128) == ()  # sprint's half last epoch: its half-way is its end
    assert inner_eval_batches(3, 60_000, 60_000, 30_000) == (1,)  # 1/3 in batch 1, 2/3 at the end
    assert inner_eval_batches(10, 100, 100, 40) == (1, 2)  # batches past several shares are tested once


def test_an_epoch_row_keeps_its_inner_tests_and_a_row_without_any_stays_as_it_was():
    inner = (InnerEval(1.5013, 0.03, 0.9903, 2.25),)
    written = row(2, 0.9912, 4.5, inner).to_json()
    assert written["inner_evals"] == [{"at": 1.5013, "test_loss": 0.03, "test_acc": 0.9903, "seconds": 2.25}]
    assert EpochRecord.from_json(written) == row(2, 0.9912, 4.5, inner)
    assert "inner_evals" not in row(1, 0.98, 4.0).to_json()  # every other run's metrics.jsonl is unchanged
    for bad, says in (
        ({"inner_evals": {"at": 1.5}}, "not a list"),
        ({"inner_evals": [{"at": 2.5, "test_loss": 0.1, "test_acc": 0.9, "seconds": 1}]}, "outside epoch 2"),
        ({"inner_evals": [{"at": 1.5, "test_loss": 0.1, "test_acc": 1.5, "seconds": 1}]}, "'test_acc'"),
        ({"inner_evals": [inner[0].to_json() | {"at": 1.7}, inner[0].to_json()]}, "out of order"),
        ({"inner_evals": [inner[0].to_json() | {"seconds": 999}]}, "after its epoch's training seconds"),
    ):
        with pytest.raises(RecordError, match=says):
            EpochRecord.from_json(written | bad)


def test_a_test_just_before_an_epochs_end_stays_inside_it():
    """59,998 of 60,000 samples: 1.99997 rounded to four places was 2.0, epoch 2's end, and the row that
    held it was refused by its own schema (replay, resume and export skipped it)."""
    tests = InnerTests(lambda: SimpleNamespace(loss=0.03, accuracy=0.99), 60_000)
    tests(2, 59_998, 9.5)
    (inner,), _ = tests.take()
    assert inner.at == 1.9999 and epochs_text(inner.at) == "1.99"
    assert EpochRecord.from_json(row(2, 0.991, 9.6, (inner,)).to_json()).inner_evals == (inner,)


def test_the_best_accuracy_counts_the_tests_inside_epochs_as_the_time_to_99_does():
    """An end line read "best test accuracy 98.95%; 99 % at epoch 1.5"."""
    history = [row(1, 0.985, 4.5), row(2, 0.9895, 4.5, (InnerEval(1.5013, 0.03, 0.9903, 2.25),))]
    assert Finished.of(history, 2, False) == Finished(2, 0.9903, False, "", Reached(1.5013, 6.75))
    assert Finished.of(history[:1], 1, True).best_test_acc == 0.985


def test_the_time_to_99_counts_a_test_inside_an_epoch_from_the_epochs_before_it():
    inner = (InnerEval(1.5013, 0.03, 0.9903, 2.25),)
    history = [row(1, 0.985, 4.5, (InnerEval(0.5013, 0.09, 0.97, 2.2),)), row(2, 0.9912, 4.5, inner)]
    assert first_reached(history) == Reached(1.5013, 6.75)  # 4.5 s of epoch 1, 2.25 s into epoch 2
    assert first_reached([history[0], row(2, 0.9912, 4.5, (InnerEval(1.5, 0.04, 0.9899, 2.2),))]) == Reached(2, 9.0)
    assert reached_text(Reached(1.5013, 6.75)) == "99 % at epoch 1.5, after 6.8 s of training"
    assert reached_text(Reached(2, 9.0)) == "99 % at epoch 2, after 9.0 s of training"


def test_the_headless_line_of_an_epoch_names_its_inner_tests():
    out = io.StringIO()
    reporter = RichReporter(None, Console(file=out, width=200))
    empty = np.zeros((0, 28, 28), np.uint8)
    reporter(DataReady("MNIST", "cpu", "bf16", 100, 0, 1, 21840, None, empty, np.zeros(0, np.int64), 3, (), 3))
    reporter(row(2, 0.9912, 4.5, (InnerEval(1.5013, 0.03, 0.9903, 2.25),)))
    assert "acc 99.12% (99.03% at 1.5) ·" in out.getvalue()


def _epochs(config: Config, datasets) -> list[EpochRecord]:
    events: list = []
    result = Trainer(config, events.append, datasets=datasets).run()
    assert result.error is None
    return [e for e in events if isinstance(e, EpochRecord)]


@pytest.mark.parametrize("ema_decay", [0.0, 0.9])
def test_the_inner_tests_change_no_weight_and_no_second_of_training(tiny_config, small_synthetic, ema_decay):
    """The model is tested half-way through each epoch and trains on as it would have: the same
    losses and test results at each epoch's end (the model is put back in training mode, with its
    dropout; the EMA, where there is one, is what is tested)."""
    config = tiny_config.with_changes(epochs=2, run_dir=None, ema_decay=ema_decay, conv_dropout=0.3, fc_dropout=0.3)
    plain = _epochs(config, small_synthetic)
    tested = _epochs(config.with_changes(tests_per_epoch=2), small_synthetic)
    assert [(r.train_loss, r.test_loss, r.test_acc) for r in tested] == [
        (r.train_loss, r.test_loss, r.test_acc) for r in plain
    ]
    assert [r.inner_evals for r in plain] == [(), ()]
    assert [[e.at for e in r.inner_evals] for r in tested] == [[0.512], [1.512]]  # 16 batches of 64: 1,024 of 2,000
    for r in tested:
        (inner,) = r.inner_evals
        assert 0 < inner.seconds < r.seconds  # the training time half-way, the test's own not in it
        assert 0 <= inner.test_acc <= 1 and inner.test_loss > 0
        assert r.eval_seconds > 0


def test_the_option_is_checked_and_the_sprint_takes_two():
    assert make_config("sprint").tests_per_epoch == 2 and Config().tests_per_epoch == 1
    assert make_config(None, tests_per_epoch=4).tests_per_epoch == 4
    with pytest.raises(UserError, match="tests_per_epoch must be at most 10"):
        make_config(None, tests_per_epoch=11)
    out = subprocess.run(
        [sys.executable, "-m", "mnist_tui", "--headless", "--tests-per-epoch", "0"], capture_output=True, text=True
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "tests-per-epoch" in out.stderr.strip().splitlines()[-1] and "at least 1" in out.stderr


def test_a_run_folder_keeps_the_inner_tests_for_its_replay_and_export(tmp_path):
    """Through the contract: a run trained with ``--tests-per-epoch 2`` writes them in its rows, its
    replay says them as the run did, and the workspace's CSV export holds them as JSON text."""
    from workspace_helpers import headless

    from mnist_tui.workspace.export import export_runs

    run_dir = tmp_path / "runs" / "halves"
    job = headless(run_dir, "--tests-per-epoch", "2", "--batch-size", "50")  # 10 batches an epoch
    trained, _ = job.communicate(timeout=300)
    assert job.returncode == 0, trained
    rows = [EpochRecord.from_json(json.loads(line)) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [[round(e.at, 1) for e in r.inner_evals] for r in rows] == [[0.5], [1.5]]
    said = [line for line in trained.splitlines() if line.startswith("epoch ")]
    assert all(f"% at {at}) ·" in line for line, at in zip(said, ("0.5", "1.5"), strict=True)), said
    replayed = subprocess.run(
        [sys.executable, "-m", "mnist_tui", "--headless", "--replay", str(run_dir)], capture_output=True, text=True
    )
    assert replayed.returncode == 0, replayed.stderr
    assert [line for line in replayed.stdout.splitlines() if line.startswith("epoch ")] == said
    export_runs([run_dir], tmp_path / "runs.csv")
    cells = [row["inner_evals"] for row in csv.DictReader((tmp_path / "runs.csv").open())]
    assert [[e["at"] for e in json.loads(cell)] for cell in cells] == [[r.inner_evals[0].at] for r in rows]


def test_the_workspace_compares_the_tests_inside_epochs_and_their_count():
    """The compare plots drew epoch ends only (a run's plotted peak under its best column), and two
    runs tested 2 and 4 times an epoch read as the same settings."""
    from mnist_tui.workspace.compare import epoch_series
    from mnist_tui.workspace.summary import settings_from_config

    history = [row(1, 0.985, 4.5, (InnerEval(0.5013, 0.09, 0.97, 2.2),)), row(2, 0.9912, 4.5)]
    acc = epoch_series("r", history, "acc")
    assert acc.xs == (0.5013, 1.0, 2.0) and acc.ys == pytest.approx((97.0, 98.5, 99.12))
    assert epoch_series("r", history, "test_loss").ys == (0.09, 0.05, 0.05)
    assert epoch_series("r", history, "train_loss").xs == (1.0, 2.0)  # trained, not tested: epoch ends
    assert settings_from_config({"tests_per_epoch": 2})["tests_per_epoch"] == 2
    assert settings_from_config({"lr": 0.01})["tests_per_epoch"] == 1  # a run from before the option


def test_a_run_says_when_its_epochs_have_too_few_batches_for_the_tests_asked(tiny_config, small_synthetic):
    """10 tests asked of an epoch of 2 batches were 1, without a word."""
    from mnist_tui.training.events import Notice

    events: list = []
    config = tiny_config.with_changes(run_dir=None, batch_size=1000, tests_per_epoch=10)
    Trainer(config, events.append, datasets=small_synthetic).run()
    said = [e.text for e in events if isinstance(e, Notice)]
    assert "--tests-per-epoch 10: an epoch of 2 batches is tested 2 times (a test waits for a batch's end)" in said
    events.clear()
    Trainer(config.with_changes(tests_per_epoch=2), events.append, datasets=small_synthetic).run()
    assert not [e for e in events if isinstance(e, Notice) and "tests-per-epoch" in e.text]
