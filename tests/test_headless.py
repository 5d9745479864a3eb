"""The headless command end to end, through a real subprocess."""

import json
import subprocess
import sys

import pytest


def run_cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "mnist_tui", *args], capture_output=True, text=True, timeout=timeout)


def run_synthetic(tmp_path, *args):
    """A headless run on the synthetic digits, on the CPU, into ``tmp_path / "run"``: (its
    completed process, its metrics rows)."""
    run_dir = tmp_path / "run"
    out = run_cli(
        "--headless",
        "--dataset",
        "synthetic",
        "--device",
        "cpu",
        *args,
        "--run-dir",
        str(run_dir),
        "--data-dir",
        str(tmp_path / "d"),
    )
    assert out.returncode == 0, out.stderr
    return out, [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_headless_synthetic_run_writes_metrics(tmp_path):
    # batch 256: 8 steps an epoch (the default batch, 1024, would take 2)
    out, rows = run_synthetic(tmp_path, "--epochs", "2", "--limit-train", "2000", "--batch-size", "256")
    assert [r["epoch"] for r in rows] == [1, 2]
    for key in (
        "epoch",
        "train_loss",
        "train_acc",
        "test_loss",
        "test_acc",
        "seconds",
        "samples_per_s",
        "dataset",
        "device",
    ):
        assert key in rows[0]
    assert rows[0]["dataset"] == "synthetic digits" and rows[0]["device"] == "cpu"
    assert rows[1]["test_acc"] > 0.5
    assert "synthetic digits" in out.stdout and "epoch 2/2" in out.stdout
    assert (tmp_path / "run" / "checkpoint.pt").exists()


def test_offline_empty_folder_says_so_and_trains_on_synthetic(tmp_path):
    # --dataset auto with an empty folder; downloads fail here (no network) or are disabled.
    out = run_cli(
        "--headless",
        "--epochs",
        "1",
        "--limit-train",
        "500",
        "--device",
        "cpu",
        "--data-dir",
        str(tmp_path / "empty"),
        "--run-dir",
        str(tmp_path / "run"),
    )
    assert out.returncode == 0, out.stderr
    assert "could not be downloaded" in out.stdout or "is not in" in out.stdout
    assert "synthetic digits" in out.stdout
    assert json.loads((tmp_path / "run" / "metrics.jsonl").read_text())["dataset"] == "synthetic digits"


@pytest.mark.real_mnist
def test_headless_real_mnist_small_slice(real_mnist_dir, tmp_path):
    out = run_cli(
        "--headless",
        "--data-dir",
        str(real_mnist_dir),
        "--epochs",
        "1",
        "--limit-train",
        "6000",
        "--batch-size",
        "256",  # 23 steps: the default batch (1024) would take 6
        "--run-dir",
        str(tmp_path / "run"),
    )
    assert out.returncode == 0, out.stderr
    row = json.loads((tmp_path / "run" / "metrics.jsonl").read_text())
    assert row["dataset"] == "MNIST"
    assert row["test_acc"] > 0.75  # 6,000 samples, one epoch: far above chance (0.10)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--epochs", "0"], "--epochs"),
        (["--lr", "-1"], "--lr"),
        (["--batch-size", "0"], "--batch-size"),
        (["--epochs", "abc"], "not a whole number"),
        (["--device", "tpu"], "unknown device"),
        (["--dataset", "cifar"], "--dataset"),
    ],
)
def test_bad_options_give_one_line_and_exit_2(args, message, tmp_path):
    out = run_cli("--headless", "--run-dir", str(tmp_path / "run"), *args, timeout=60)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], out.stderr
    assert "Traceback" not in out.stderr


def test_cuda_without_cuda_is_one_line_exit_2(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    out = run_cli("--headless", "--device", "cuda", "--run-dir", str(tmp_path / "run"), timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "mnist-tui: error: --device cuda: CUDA is not available on this machine (try --device cpu)"
    ]


@pytest.mark.parametrize(
    ("sizes", "shown"), [((60000, 10000), "MNIST (60,000 train / 10,000 test) ·"), ((0, 0), "MNIST ·")]
)
def test_the_header_gives_the_data_sizes_only_when_they_are_known(sizes, shown):
    import io

    import numpy as np
    from rich.console import Console

    from mnist_tui.headless import RichReporter
    from mnist_tui.training.events import DataReady

    out = io.StringIO()
    reporter = RichReporter(None, Console(file=out, width=200))
    empty = np.zeros((0, 28, 28), np.uint8)
    reporter(DataReady("MNIST", "cpu (replay)", "fp32", *sizes, 0, 21840, None, empty, np.zeros(0, np.int64)))
    reporter.progress.stop()
    assert shown in out.getvalue() and "0 train" not in out.getvalue().replace("60,000 train", "")


def test_a_rewound_run_is_one_line_in_text_and_one_object_in_json():
    import io
    import json

    from rich.console import Console

    from mnist_tui.headless import RichReporter
    from mnist_tui.headless_json import JsonReporter
    from mnist_tui.training.events import Rewound

    out = io.StringIO()
    RichReporter(None, Console(file=out, width=200))(Rewound(3))
    assert out.getvalue().strip().startswith("resumed from the end of epoch 3: the earlier attempt's")
    stream = io.StringIO()
    JsonReporter(stream)(Rewound(3))
    assert json.loads(stream.getvalue()) == {"event": "rewound", "epoch": 3}


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_closed_output_pipe_stops_the_run_cleanly(tmp_path, log_format):
    """``mnist-tui --headless … | head``: text output exited 1 without a word (Rich's own SystemExit
    inside the trainer's listener) and left status.json at "training"; JSON said "Broken pipe", exit 2."""
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "mnist_tui", "--headless", "--dataset", "synthetic", "--device", "cpu"]
    command += ["--limit-train", "1000", "--epochs", "50", "--run-dir", str(run_dir), "--log-format", log_format]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = process.stdout.readline()
    while log_format == "json" and '"batch"' not in first:  # a batch trained: a folder worth keeping
        first = process.stdout.readline()
    process.stdout.close()  # as `head` does
    _out, err = process.communicate(timeout=120)
    assert first.strip()
    assert process.returncode == 141, err  # 128 + SIGPIPE, as a shell reports a pipe's closed reader
    assert err.count("\n") == 1 and err.startswith("mnist-tui: the output was closed, so the run stopped"), err
    status = json.loads((run_dir / "status.json").read_text())
    assert status["state"] == "stopped" and status["epochs_done"] < 50


def _json_sequence(*args: str) -> list[tuple]:
    command = [sys.executable, "-m", "mnist_tui", "--headless", "--log-format", "json", *args]
    out = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    return [(r["event"], r["epoch"], r.get("batch")) for r in rows if r["event"] in ("batch", "epoch")]


def test_a_replay_tells_the_run_in_the_order_it_was_trained(tmp_path):
    """A replay wrote every epoch row before the first epoch's batches (and its text had no epoch
    lines at all when piped, only "epochs 1-3 already done")."""
    run_dir = str(tmp_path / "run")
    live = _json_sequence("--dataset", "synthetic", "--device", "cpu", "--limit-train", "600", "--batch-size", "100",
                          "--epochs", "3", "--run-dir", run_dir)  # fmt: skip
    assert [e for e in live if e[0] == "epoch"] == [("epoch", n, None) for n in (1, 2, 3)]
    assert _json_sequence("--replay", run_dir) == live
    text = subprocess.run([sys.executable, "-m", "mnist_tui", "--headless", "--replay", run_dir],
                          capture_output=True, text=True, timeout=300, check=True).stdout  # fmt: skip
    assert [line.split(":")[0] for line in text.splitlines() if line.startswith("epoch ")] == [
        "epoch 1/3", "epoch 2/3", "epoch 3/3"]  # fmt: skip
    lines = text.splitlines()  # said before those rows, not after them as if of what follows
    first_row = min(i for i, line in enumerate(lines) if line.startswith("epoch "))
    assert lines.index("epochs 1-3, trained earlier:") < first_row


def test_logged_events_are_put_back_in_the_order_the_run_made_them():
    from mnist_tui.training.events import BatchEnd, Steered
    from mnist_tui.training.run_order import in_run_order

    def report(epoch, batch):
        return BatchEnd(epoch, batch, 4, (1.0, 0.9), 1.0, 2 * batch, (0.01, 0.01))

    batches = [report(1, 2), report(1, 4), report(2, 2), report(2, 4)]
    doubled = Steered(1, 3, "lr ×2", 2.0, 2, 0.0)  # from batch 3: before the report of batches 3-4
    more = Steered(1, 0, "epochs 2 → 3", 2.0, 3, 0.0)  # at epoch 1's end
    ordered = in_run_order(batches, [], [more, doubled])
    assert ordered == [batches[0], doubled, batches[1], more, batches[2], batches[3]]


def test_a_lost_run_on_a_terminal_still_shows_its_epochs_table():
    """A replay of a killed run ends "lost" (not Finished): on a terminal, where earlier epochs go
    only into the table printed at the end, it showed no result at all."""
    import io

    import numpy as np
    from rich.console import Console

    from mnist_tui.headless import RichReporter
    from mnist_tui.training.events import DataReady, EpochRecord, StateChanged

    rows = tuple(EpochRecord(e, 0.5, 0.9, 0.4, 0.9 + e / 100, 1.0, 1e4, 0.01) for e in (1, 2))
    empty = np.zeros((0, 28, 28), np.uint8)
    ready = DataReady("MNIST", "cpu", "fp32", 100, 0, 1, 21840, None, empty, np.zeros(0, np.int64), 3, rows, 3)
    out = io.StringIO()
    reporter = RichReporter(None, Console(file=out, width=120, force_terminal=True))
    reporter(ready)
    reporter(StateChanged("lost", "killed or crashed"))
    text = out.getvalue()
    assert "92.00%" in text and "91.00%" in text  # the table's rows
    assert text.rstrip().endswith("lost: killed or crashed")


def test_a_replay_of_a_run_still_being_written_ends_so_far_in_text_and_json():
    """A replay of a live run ended "stopped after 2 epoch(s)", as if its writer had stopped."""
    import io
    from pathlib import Path

    import numpy as np
    from rich.console import Console

    from mnist_tui.headless import RichReporter
    from mnist_tui.headless_json import JsonReporter
    from mnist_tui.training.events import DataReady, EpochRecord, Finished

    rows = tuple(EpochRecord(e, 0.5, 0.9, 0.4, 0.9 + e / 100, 1.0, 1e4, 0.01) for e in (1, 2))
    empty = np.zeros((0, 28, 28), np.uint8)
    ready = DataReady("MNIST", "cpu", "fp32", 100, 0, 1, 21840, None, empty, np.zeros(0, np.int64), 3, rows, 5)
    end = Finished(2, 0.92, False, "training")
    out = io.StringIO()
    reporter = RichReporter(Path("runs/live"), Console(file=out, width=200, force_terminal=False))
    reporter(ready)
    reporter(end)
    last = out.getvalue().rstrip().splitlines()[-1]
    assert last.startswith("2 of 5 epochs so far on MNIST (still training in another process:")
    assert "--follow runs/live shows it live" in last and "stopped" not in last
    lines = io.StringIO()
    json_reporter = JsonReporter(lines)
    json_reporter(ready)
    json_reporter(end)
    row = json.loads(lines.getvalue().splitlines()[-1])
    assert row["event"] == "finished" and row["still"] == "training" and row["stopped"] is False


def test_the_dashboard_needs_its_terminal_on_stdin_and_stderr_not_stdout(monkeypatch):
    """Textual draws on stderr: `mnist-tui > out.txt` worked, and `2> err.txt` filled the file."""
    from types import SimpleNamespace

    from mnist_tui import cli
    from mnist_tui.errors import UserError

    args = cli.build_parser().parse_args([])
    tty, file = SimpleNamespace(isatty=lambda: True), SimpleNamespace(isatty=lambda: False)
    monkeypatch.delenv("TEXTUAL_DRIVER", raising=False)
    monkeypatch.setattr(cli.sys, "__stdin__", tty)
    monkeypatch.setattr(cli.sys, "__stderr__", tty)
    cli._check_terminal(args)  # stdout to a file is fine
    monkeypatch.setattr(cli.sys, "__stderr__", file)
    with pytest.raises(UserError, match="the dashboard needs a terminal"):
        cli._check_terminal(args)


def test_on_a_terminal_the_bar_says_testing_once_an_epochs_batches_are_done():
    """The bar sat full with no word while the test set was evaluated (seconds on a big test set)."""
    import io

    from rich.console import Console

    from mnist_tui.headless import RichReporter
    from mnist_tui.plan import Plan
    from mnist_tui.training.events import BatchEnd

    out = io.StringIO()
    reporter = RichReporter(None, Console(file=out, width=120, force_terminal=True))
    reporter.plan = Plan(3)
    try:
        reporter(BatchEnd(1, 9, 10, (0.5,), 1e4, 900, (0.01,), 1.7e9))
        shown = reporter.progress.columns[0].render(reporter.progress.tasks[0]).plain
        assert shown == "epoch 1/3"
        reporter(BatchEnd(1, 10, 10, (0.4,), 1e4, 1000, (0.01,), 1.7e9))
        shown = reporter.progress.columns[0].render(reporter.progress.tasks[0]).plain
        assert shown == "epoch 1/3 testing…"
        # the time is the epoch's: beside a follower's dashboard, whose ETA is the run's, they looked to disagree
        assert str(reporter.progress.columns[-1].render(reporter.progress.tasks[0])) == "left in epoch"
    finally:
        reporter.progress.stop()


def test_a_resumed_runs_finished_epochs_get_no_bar_until_its_next_epoch_trains():
    """A resumed run sends its kept epochs' batches again (for the dashboard's plot): on a terminal
    their bar read "epoch 1/3 testing… 20/20" for seconds, as if the finished epoch ran again."""
    import io

    import numpy as np
    from rich.console import Console

    from mnist_tui.headless import RichReporter
    from mnist_tui.training.events import BatchEnd, DataReady, EpochRecord, Rewound

    reporter = RichReporter(None, Console(file=io.StringIO(), width=120, force_terminal=True))
    no_digits = np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64)
    kept = (EpochRecord(1, 0.5, 0.8, 0.4, 0.85, 1.0, 1e4, 0.01),)
    try:
        reporter(DataReady("MNIST", "cpu", "fp32", 1000, 0, 10, 21840, None, *no_digits, 2, kept, epochs=3))
        reporter(BatchEnd(1, 10, 10, (0.4,), 1e4, 1000, (0.01,), 1.7e9))
        assert reporter.progress.tasks == []
        reporter(BatchEnd(2, 3, 10, (0.3,), 1e4, 300, (0.01,), 1.7e9))
        assert [task.fields["epoch"] for task in reporter.progress.tasks] == [2]
        reporter(Rewound(0))  # a followed run started again: epoch 1 trains anew and has its bar
        reporter(BatchEnd(1, 2, 10, (0.6,), 1e4, 200, (0.01,), 1.7e9))
        assert [task.fields["epoch"] for task in reporter.progress.tasks] == [1]
    finally:
        reporter.progress.stop()


def test_epochs_added_after_sprints_half_epoch_are_said_with_it_as_a_half():
    """A finished sprint (2.5 epochs) given 5 more said "epoch 4/8" and "finished after 8 epochs"."""
    import io

    import numpy as np
    from rich.console import Console

    from mnist_tui.headless import RichReporter
    from mnist_tui.training.events import DataReady, EpochRecord, Finished, PlanChanged

    out = io.StringIO()
    reporter = RichReporter(None, Console(file=out, width=150, force_terminal=False))
    no_digits = np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64)
    sprint = {"epochs": 3, "last_epoch_fraction": 0.5}
    reporter(DataReady("MNIST", "cpu", "fp32", 1000, 0, 10, 21840, None, *no_digits, epochs=3, settings=sprint))
    for epoch in (1, 2, 3):
        reporter(EpochRecord(epoch, 0.5, 0.8, 0.4, 0.85, 1.0, 1e4, 0.01))
    reporter(PlanChanged(8))
    reporter(EpochRecord(4, 0.5, 0.8, 0.4, 0.86, 1.0, 1e4, 0.01))
    reporter(Finished(4, 0.86, stopped=True))
    text = out.getvalue()
    assert "epoch 3/3 (half):" in text and "epoch 4/8:" in text
    assert "stopped after 3.5 epochs" in text


def test_a_closed_terminal_stops_the_run_as_its_hangup_does(tmp_path):
    """Closing the terminal of `mnist-tui --headless` ended the run "failed" (exit 1, "Input/output
    error"): writing to the closed terminal failed before its SIGHUP stopped the run."""
    import os
    import pty

    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "mnist_tui", "--headless", "--dataset", "synthetic", "--device", "cpu"]
    command += ["--limit-train", "1000", "--epochs", "50", "--run-dir", str(run_dir)]
    pid, terminal = pty.fork()
    if pid == 0:  # the child: a session of its own on the new terminal, as a shell's job is
        os.execv(sys.executable, command)
    shown = b""
    while b"samples/s" not in shown:  # a batch trained: a folder worth keeping
        shown += os.read(terminal, 4096)
    os.close(terminal)  # the terminal window closes
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 129  # 128 + SIGHUP, as README says of a closed terminal
    state = json.loads((run_dir / "status.json").read_text())
    assert state["state"] == "stopped" and state["epochs_done"] < 50, state


def test_a_notes_text_is_shown_as_written_not_read_as_markup():
    """A damaged row quoted in a follower's note ("[/x]") raised Rich's MarkupError and ended the run."""
    import io

    from rich.console import Console

    from mnist_tui.headless import RichReporter
    from mnist_tui.training.events import Notice

    out = io.StringIO()
    RichReporter(None, Console(file=out, width=200))(
        Notice('skipped 1 damaged row of batches.jsonl ({"epoch": "[/x]"})')
    )
    assert "[/x]" in out.getvalue()


def test_piped_lines_of_a_replay_place_its_steering_among_the_earlier_epochs():
    """`--headless --replay RUN | cat`: every recorded change came below every epoch's line (an lr
    ×2 in epoch 1 under epoch 3's), where the JSON lines had them in the run's order."""
    import io

    import numpy as np
    from rich.console import Console

    from mnist_tui.headless import RichReporter
    from mnist_tui.training.events import DataReady, EpochRecord, Finished, Steered

    rows = tuple(EpochRecord(e, 0.5, 0.9, 0.4, 0.9 + e / 100, 1.0, 1e4, 0.01) for e in (1, 2, 3))
    empty = np.zeros((0, 28, 28), np.uint8)
    ready = DataReady("MNIST", "cpu", "fp32", 100, 0, 1, 21840, None, empty, np.zeros(0, np.int64), 3, rows, 3)
    out = io.StringIO()
    reporter = RichReporter(None, Console(file=out, width=200))  # not a terminal: one line per record
    for event in (ready, Steered(1, 2, "lr ×2", 2.0, 3, 0.0), Steered(2, 0, "epochs 2 → 3", 2.0, 3, 0.0)):
        reporter(event)
    reporter(Finished(3, 0.93, False))
    lines = [line.split(":")[0] for line in out.getvalue().splitlines()[2:]]
    assert lines == [
        "steered",
        "epoch 1/3",
        "epoch 2/3",
        "steered",
        "epoch 3/3",
        "finished after 3 epochs on MNIST; best test accuracy 93.00%",
    ], out.getvalue()


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_follower_closed_before_any_later_event_still_says_the_earlier_epochs(capsys, log_format):
    """`--headless --follow RUN | cat`, Ctrl-C while it waits: the earlier epochs' lines are held
    until a later event places them, and with none they were never said."""
    import io

    import numpy as np
    from rich.console import Console

    from mnist_tui.headless import run_headless
    from mnist_tui.sources.base import Capabilities, PassiveSource
    from mnist_tui.training.events import DataReady, EpochRecord, RunResult

    rows = tuple(EpochRecord(e, 0.5, 0.9, 0.4, 0.9 + e / 100, 1.0, 1e4, 0.01) for e in (1, 2))
    empty = np.zeros((0, 28, 28), np.uint8)
    ready = DataReady("MNIST", "cpu", "fp32", 100, 0, 1, 21840, None, empty, np.zeros(0, np.int64), 3, rows, 3)

    class ClosedAfterItsHistory(PassiveSource):
        title, capabilities, run_dir = "following", Capabilities(live=True), None

        def run(self, listener):
            listener(ready)
            return RunResult()  # closed: no event after the history

        def close(self):
            pass

    out = io.StringIO()
    assert run_headless(ClosedAfterItsHistory(), Console(file=out, width=200), log_format=log_format) == 0
    said = out.getvalue() if log_format == "text" else capsys.readouterr().out
    if log_format == "text":
        assert [line.split(":")[0] for line in said.splitlines()[2:]] == ["epoch 1/3", "epoch 2/3"], said
    else:
        epochs = [json.loads(line)["epoch"] for line in said.splitlines() if '"event": "epoch"' in line]
        assert epochs == [1, 2], said


def test_a_note_does_not_pull_the_earlier_epochs_ahead_of_their_batches(capsys):
    """A follower's note of damaged steering rows came before its batch reports, and the JSON
    lines then wrote every earlier epoch before any batch."""
    import numpy as np

    from mnist_tui.headless_json import JsonReporter
    from mnist_tui.training.events import BatchEnd, DataReady, EpochRecord, Finished, Notice

    rows = tuple(EpochRecord(e, 0.5, 0.9, 0.4, 0.9, 1.0, 1e4, 0.01) for e in (1, 2))
    empty = np.zeros((0, 28, 28), np.uint8)
    ready = DataReady("MNIST", "cpu", "fp32", 100, 0, 1, 21840, None, empty, np.zeros(0, np.int64), 2, rows, 3)
    reporter = JsonReporter()
    for event in (ready, Notice("skipped 1 damaged row of steering.jsonl (line 2 is not JSON)")):
        reporter(event)
    for epoch in (1, 2):
        reporter(BatchEnd(epoch, 1, 1, (0.5,), 1e4, 100, (0.01,), 1.0))
    reporter(Finished(2, 0.9, False))
    kinds = [(row["event"], row.get("epoch")) for row in map(json.loads, capsys.readouterr().out.splitlines())]
    assert kinds == [("ready", None), ("note", None), ("batch", 1), ("epoch", 1), ("batch", 2), ("epoch", 2),
                     ("finished", None)], kinds  # fmt: skip


def test_a_resume_tells_its_earlier_epochs_steering_where_the_run_made_it(tmp_path):
    """`--resume RUN --headless`: the kept steering came after every earlier batch (after the
    earlier epochs' rows, in text and JSON), where a replay of the same folder placed it right."""
    from mnist_tui.runfolder.atomic import jsonl, write_text_atomically
    from mnist_tui.training.events import BatchEnd, Steered
    from mnist_tui.training.resume import saved_reports

    def report(epoch, batch):
        return BatchEnd(epoch, batch, 4, (1.0, 0.9), 1.0, 2 * batch, (0.01, 0.01))

    batches = [report(1, 2), report(1, 4), report(2, 2), report(2, 4)]
    halved = Steered(1, 3, "lr ×0.5", 0.5, 2, 0.0)
    write_text_atomically(tmp_path / "batches.jsonl", jsonl([b.to_json() for b in batches]))
    write_text_atomically(tmp_path / "steering.jsonl", jsonl([halved.to_json()]))
    assert list(saved_reports(tmp_path, 2)) == [batches[0], halved, *batches[1:]]


def test_a_resumed_runs_next_epoch_gets_a_bar_of_its_own_and_the_earlier_rows_are_placed():
    """After --resume the earlier epoch's batches came again first: their bar reached its end and
    epoch 2's showed 0:00:00 left throughout; "trained earlier:" had nothing under it."""
    import io

    import numpy as np
    from rich.console import Console

    from mnist_tui.headless import RichReporter
    from mnist_tui.training.events import BatchEnd, DataReady, EpochRecord

    rows = (EpochRecord(1, 0.5, 0.9, 0.4, 0.91, 1.0, 1e4, 0.01),)
    empty = np.zeros((0, 28, 28), np.uint8)
    ready = DataReady("MNIST", "cpu", "fp32", 100, 0, 1, 21840, None, empty, np.zeros(0, np.int64), 2, rows, 2)
    out = io.StringIO()
    reporter = RichReporter(None, Console(file=out, width=120, force_terminal=True, highlight=False))
    reporter(ready)
    assert ", trained earlier: in the table at the end" in out.getvalue()
    reporter(BatchEnd(1, 20, 20, (0.5,), 1e4, 2000, (0.01,), 1.0))  # the earlier epoch's, again
    reporter(BatchEnd(2, 2, 20, (0.4,), 1e4, 200, (0.01,), 2.0))
    (task,) = reporter.progress.tasks
    assert task.fields["epoch"] == 2 and task.completed == 2 and task.total == 20 and not task.finished
    reporter.progress.stop()


def test_sprints_plan_of_two_and_a_half_epochs_is_said_so(tmp_path):
    """It printed "epoch 3/3" and "finished after 3 epochs" for the 2.5 epochs the README promises."""
    out, rows = run_synthetic(tmp_path, "--recipe", "sprint", "--limit-train", "512")
    epochs = [line.split(":")[0] for line in out.stdout.splitlines() if line.startswith("epoch ")]
    assert epochs == ["epoch 1/3", "epoch 2/3", "epoch 3/3 (half)"], out.stdout
    assert "finished after 2.5 epochs on synthetic digits" in out.stdout
    assert [r["epoch"] for r in rows] == [1, 2, 3]  # the half epoch is epoch 3 on disk, as trained


def test_a_followers_closed_terminal_is_its_hangup_also_with_stderr_in_a_file(tmp_path):
    """With stderr in a file, a follower's closed terminal ended "error: Input/output error", exit
    2: its progress bar's last refresh, after the SIGHUP that stopped it, met the closed terminal."""
    import os
    import pty
    import subprocess

    run_dir = tmp_path / "run"
    writer = [sys.executable, "-m", "mnist_tui", "--headless", "--dataset", "synthetic", "--device", "cpu"]
    writer += ["--limit-train", "2000", "--epochs", "500", "--run-dir", str(run_dir)]
    training = subprocess.Popen(writer, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    errors = tmp_path / "follower.err"
    try:
        pid, terminal = pty.fork()
        if pid == 0:  # the follower, on a terminal of its own, its stderr in a file
            os.dup2(os.open(errors, os.O_WRONLY | os.O_CREAT), 2)
            os.execv(sys.executable, [sys.executable, "-m", "mnist_tui", "--headless", "--follow", str(run_dir)])
        shown = b""
        while b"samples/s" not in shown:  # it follows a batch in progress: its progress bar is live
            shown += os.read(terminal, 4096)
        os.close(terminal)  # the terminal window closes
        _, status = os.waitpid(pid, 0)
    finally:
        training.terminate()
        training.wait(timeout=60)
    assert os.waitstatus_to_exitcode(status) == 129, errors.read_text()
    assert "error" not in errors.read_text()


class _LostRun:
    """A follower whose writer died: the state said on stdout, the same reason as its error."""

    from mnist_tui.sources.base import Capabilities

    capabilities = Capabilities(pause=True, stop=True, live=True, steer=True)
    run_dir = None
    title = "following"
    reason = "the writer (pid 1 on here) stopped without a word: killed or crashed"

    def run(self, listener):
        from mnist_tui.training.events import RunResult, StateChanged

        listener(StateChanged("lost", self.reason))
        return RunResult(error=RuntimeError(self.reason), stopped=True)

    def close(self) -> None:
        pass


@pytest.mark.parametrize("stderr_to", ["the terminal", "a file"])
def test_a_lost_followed_run_is_said_once_on_one_terminal(stderr_to, tmp_path, monkeypatch):
    """On a terminal a follower said "lost: <reason>", then "mnist-tui: error: <reason>" under it."""
    import os
    import pty

    from rich.console import Console

    from mnist_tui.headless import run_headless

    master, slave = pty.openpty()
    terminal = os.fdopen(slave, "w", buffering=1)
    stderr = terminal if stderr_to == "the terminal" else (tmp_path / "err.txt").open("w", buffering=1)
    monkeypatch.setattr(sys, "stderr", stderr)
    assert run_headless(_LostRun(), Console(file=terminal, force_terminal=True, color_system=None)) == 1
    terminal.close()  # then the master reads all that was written, and EIO at its end (Linux)
    written = b""
    while True:  # one read may return part of it: the pty passes the bytes on as it goes
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        written += chunk
    shown = written.decode(errors="replace")
    error_line = f"mnist-tui: error: {_LostRun.reason}"
    assert f"lost: {_LostRun.reason}" in shown
    if stderr_to == "the terminal":
        assert shown.count(_LostRun.reason) == 1 and error_line not in shown
    else:  # a log of the errors keeps its line
        stderr.close()
        assert (tmp_path / "err.txt").read_text() == error_line + "\n"
    os.close(master)


def test_a_run_folder_named_like_markup_or_an_escape_is_written_as_named():
    """``--replay 'runs/a[red]b'`` said "run folder runs/ab" (rich read ``[red]`` as markup), and a
    name holding an escape sequence coloured the terminal."""
    import io
    from pathlib import Path

    import numpy as np
    from rich.console import Console

    from mnist_tui.headless import RichReporter
    from mnist_tui.training.events import DataReady, Finished

    empty = np.zeros((0, 28, 28), np.uint8)
    ready = DataReady("MNIST", "cpu", "fp32", 100, 0, 1, 21840, None, empty, np.zeros(0, np.int64), 3, (), 5)
    out = io.StringIO()
    reporter = RichReporter(Path("runs/a[red]b\x1b[0m"), Console(file=out, width=200, force_terminal=False))
    reporter(ready)
    reporter(Finished(2, 0.92, False, "training"))
    text = out.getvalue()
    assert "b\x1b[0m" not in text  # the name's own escape never reaches the terminal
    assert "run folder runs/a[red]b\\x1b[0m" in text and "--follow runs/a[red]b\\x1b[0m shows it live" in text


def test_on_a_terminal_a_long_line_wraps_between_words_and_piped_it_stays_one_line():
    """At 80 columns a terminal showed "… 0.3s · 1" / "7,767 samples/s" (rich's soft wrap left it
    to the terminal, which cuts anywhere)."""
    import io

    from rich.console import Console

    from mnist_tui.headless import RichReporter

    text = "epoch 1/2: train loss 0.3501 acc 89.20% · test loss 0.0383 acc 98.87% · 0.3s · 17,767 samples/s"
    terminal, piped = io.StringIO(), io.StringIO()
    RichReporter(None, Console(file=terminal, width=60, force_terminal=True, color_system=None)).say(text)
    RichReporter(None, Console(file=piped, width=60)).say(text)
    lines = terminal.getvalue().splitlines()
    assert len(lines) == 2 and all(len(line) <= 60 for line in lines), lines
    assert [word for line in lines for word in line.split()] == text.split()  # no word cut in two
    assert piped.getvalue() == text + "\n"
