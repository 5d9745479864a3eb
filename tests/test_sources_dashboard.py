"""One dashboard over every source: training here, a replay and a follow of a run folder.

Each test opens the same DashboardScreen on another source and checks what it shows: batch
losses, epochs, predictions and the keys the source's capabilities allow.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from waiting import notified
from waiting import pilot_wait as wait_for

from mnist_tui.config import Config
from mnist_tui.runfolder.layout import BATCHES_NAME, INFO_NAME, STATUS_NAME, process_start
from mnist_tui.runfolder.reader import read_batches
from mnist_tui.sources.follow import FollowSource
from mnist_tui.sources.replay import ReplayRequest, ReplaySource
from mnist_tui.sources.training import TrainingSource
from mnist_tui.tui.app import MnistApp
from mnist_tui.tui.widgets.epoch_plot import EpochPlot
from mnist_tui.tui.widgets.loss_plot import BatchLossPlot

SIZE = (120, 40)
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("sources") / "run"
    command = [sys.executable, "-m", "mnist_tui", "--headless", "--dataset", "synthetic", "--device", "cpu"]
    command += ["--limit-train", "1500", "--epochs", "2", "--batch-size", "128", "--run-dir", str(run_dir)]
    out = subprocess.run(
        command, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)}
    )
    assert out.returncode == 0, out.stderr
    return run_dir


def saved_config(saved) -> Config:
    return Config.from_dict(saved or {})


def recorded_losses(run_dir: Path) -> int:
    return sum(len(b.losses) for b in read_batches(run_dir).records)


async def shows_a_whole_run(app: MnistApp, pilot, epochs: int, batches: int) -> None:
    dashboard = app.dashboard
    await wait_for(pilot, lambda: dashboard.state == "finished", "the run to be shown whole")
    await wait_for(pilot, lambda: dashboard.browser.probabilities is not None, "the predictions")
    dashboard.redraw_plots()
    loss_plot = dashboard.query_one("#loss-plot", BatchLossPlot)
    assert len(loss_plot.raw) == batches
    assert dashboard.query_one("#acc-plot", EpochPlot).epochs == list(range(1, epochs + 1))
    assert dashboard.progress.epochs_done == epochs
    assert app.snapshot.ready and app.snapshot.epoch == epochs  # drawing predicts with the run's model


async def trains_again(app: MnistApp, pilot):
    """A whole replayed run told, as a resumed writer would tell it, that it trains again: the
    bridge that feeds its dashboard now, and its batches an epoch."""
    from mnist_tui.training.events import StateChanged
    from mnist_tui.tui.bridge import SourceBridge

    dashboard = app.dashboard
    bridge = SourceBridge(dashboard.post_message, dashboard.inbox, app.snapshot)
    bridge(StateChanged("training"))
    await wait_for(pilot, lambda: dashboard.state == "training", "training")
    return bridge, dashboard.progress.batches_per_epoch


def third_epochs(batch: int, per_epoch: int, loss: float = 0.2):
    """The report of the third epoch's batch ``batch``."""
    from mnist_tui.training.events import BatchEnd

    return BatchEnd(3, batch, per_epoch, (loss,), 1.0, 128, (0.01,), 1.7e9)


def footer_keys(app: MnistApp) -> set[str]:
    return {binding.action for (_, binding, enabled, _) in app.screen.active_bindings.values() if enabled}


def replay_with_a_refused_checkpoint(finished_run: Path, tmp_path: Path) -> MnistApp:
    """A dashboard replaying a copy of ``finished_run`` whose checkpoint is no checkpoint."""
    run_dir = tmp_path / "damaged"
    shutil.copytree(finished_run, run_dir)
    (run_dir / "checkpoint.pt").write_bytes(b"not a checkpoint")
    return MnistApp(ReplaySource(ReplayRequest(run_dir, saved_config)))


async def test_training_here_shows_the_run_and_offers_pause(tiny_config, small_synthetic):
    config = tiny_config.with_changes(epochs=2, batch_size=256)
    app = MnistApp(TrainingSource(config, datasets=small_synthetic))
    async with app.run_test(size=SIZE) as pilot:
        batches = 2 * -(-len(small_synthetic.train_labels) // 256)
        await shows_a_whole_run(app, pilot, 2, batches)
        assert "save" in footer_keys(app)
    assert recorded_losses(config.run_dir) == batches  # what the dashboard saw is what a follower reads


async def test_replay_shows_the_recorded_batch_losses(finished_run):
    app = MnistApp(ReplaySource(ReplayRequest(finished_run, saved_config)))
    async with app.run_test(size=SIZE) as pilot:
        await shows_a_whole_run(app, pilot, 2, recorded_losses(finished_run))
        keys = footer_keys(app)
        assert not keys & {"start", "pause", "resume", "save", "stop_run"}  # a replay cannot be steered


async def test_follow_of_a_finished_folder_shows_the_same(finished_run):
    app = MnistApp(FollowSource(finished_run, saved_config))
    async with app.run_test(size=SIZE) as pilot:
        await shows_a_whole_run(app, pilot, 2, recorded_losses(finished_run))
        await pilot.press("q")
    assert app.source_done.wait(timeout=10), "the follower kept running after q"


async def test_follow_of_a_finished_folder_without_its_status_ends_and_steers_nothing(finished_run, tmp_path):
    """status.json removed from a finished run: the follower stayed at "loading opening the run…"
    offering space, which wrote control.json into the folder for a writer that did not exist
    ("pausing", then "a Train 5 more"). No process holds its lock: it ends as its replay does."""
    run_dir = tmp_path / "nostatus"
    shutil.copytree(finished_run, run_dir)
    (run_dir / STATUS_NAME).unlink()
    then = time.time_ns() - 60 * 10**9  # its writer ended a minute ago
    for path in run_dir.iterdir():
        os.utime(path, ns=(then, then))
    app = MnistApp(FollowSource(run_dir, saved_config))
    async with app.run_test(size=SIZE) as pilot:
        await shows_a_whole_run(app, pilot, 2, recorded_losses(run_dir))
        assert not footer_keys(app) & {"start", "pause", "resume", "stop_run", "add_epochs(5)"}
        await notified(pilot, lambda text: "no process holds the run's lock" in text)
        await pilot.press("space", "a")
        said = await notified(pilot, lambda text: text.startswith("the run has finished"))
        assert not (run_dir / "control.json").exists(), said  # no request for a writer that is gone


async def test_a_format_1_folder_replays_and_says_its_batch_losses_were_not_recorded(finished_run, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(finished_run, old)
    for name in (INFO_NAME, STATUS_NAME, BATCHES_NAME):
        (old / name).unlink()
    lines = (old / "metrics.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    for row in rows:  # the fields format 1 did not write
        row.pop("world_size"), row.pop("eval_seconds")
    (old / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    app = MnistApp(ReplaySource(ReplayRequest(old, saved_config)))
    async with app.run_test(size=SIZE) as pilot:
        dashboard = app.dashboard
        await wait_for(pilot, lambda: dashboard.state == "finished", "the replay")
        loss_plot = dashboard.query_one("#loss-plot", BatchLossPlot)
        assert len(loss_plot.raw) == 0 and loss_plot.recorded is False
        loss_plot.redraw()
        assert "not recorded" in loss_plot.plt.build()  # said in the plot, not an empty box
        assert dashboard.query_one("#acc-plot", EpochPlot).epochs == [1, 2]


async def test_layer_statistics_are_recorded_per_epoch_and_the_model_view_opens_on_a_replay(finished_run):
    from mnist_tui.runfolder.layers_log import read_layer_stats
    from mnist_tui.tui.screens.model_view import ModelViewScreen

    rows = read_layer_stats(finished_run)
    records = rows.records
    assert [r.epoch for r in records] == [1, 2] and rows.skipped == 0
    assert {layer.name for layer in records[0].layers} == {"conv1", "conv2", "fc1", "fc2"}
    app = MnistApp(ReplaySource(ReplayRequest(finished_run, saved_config)))
    async with app.run_test(size=(80, 24)) as pilot:
        dashboard = app.dashboard
        await wait_for(pilot, lambda: dashboard.state == "finished", "the replay")
        assert [r.epoch for r in dashboard.layer_records] == [1, 2]  # replayed from layers.jsonl
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelViewScreen), "the model view")
        assert [r.epoch for r in app.screen.records] == [1, 2]
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is dashboard, "back to the dashboard")


async def test_a_rewound_run_withdraws_its_batches_and_marks_past_the_epoch(finished_run):
    """A followed run resumed after a kill reports Rewound: the face drops what came after."""
    from mnist_tui.training.events import BatchEnd, Rewound
    from mnist_tui.tui.bridge import SourceBridge

    app = MnistApp(ReplaySource(ReplayRequest(finished_run, saved_config)))
    async with app.run_test(size=SIZE) as pilot:
        await shows_a_whole_run(app, pilot, 2, recorded_losses(finished_run))
        dashboard = app.dashboard
        loss_plot = dashboard.query_one("#loss-plot", BatchLossPlot)
        loss_plot.mark(1.5, "lr ×2")  # a killed attempt's steering, in epoch 2
        loss_plot.mark(0.5, "lr ×0.5")
        bridge = SourceBridge(dashboard.post_message, dashboard.inbox, app.snapshot)
        per_epoch = dashboard.progress.batches_per_epoch
        bridge(BatchEnd(2, 1, per_epoch, (7.0,), 1.0, 128, (0.01,), 1.7e9))  # waiting in the inbox, withdrawn too
        bridge(Rewound(1))
        bridge(BatchEnd(2, 1, per_epoch, (0.25,), 1.0, 128, (0.01,), 1.7e9))  # the new attempt's first batch
        dashboard._take_losses()  # the plots' timer ran before the messages: the new batch must stay
        await wait_for(pilot, lambda: dashboard.progress.batch == 1, "the messages")
        dashboard.redraw_plots()
        assert len(loss_plot.raw) == recorded_losses(finished_run) // 2 + 1  # epoch 1's, and the new one
        assert loss_plot.raw.ys[-1] == 0.25 and max(loss_plot.raw.xs) <= 1 + 1 / per_epoch
        assert [what for _, what in loss_plot.marks] == ["lr ×0.5"]
        assert dashboard.progress.epoch == 2


async def test_a_training_run_says_it_is_testing_once_an_epochs_batches_are_done(finished_run):
    """The dashboard sat at "batch N/N" with no word while the test set was evaluated."""
    app = MnistApp(ReplaySource(ReplayRequest(finished_run, saved_config)))
    async with app.run_test(size=SIZE) as pilot:
        await shows_a_whole_run(app, pilot, 2, recorded_losses(finished_run))
        dashboard = app.dashboard
        line = dashboard.query_one("#position-line")
        assert "testing" not in str(line.content)
        bridge, per_epoch = await trains_again(app, pilot)  # as a resumed run training its third epoch
        bridge(third_epochs(per_epoch - 1, per_epoch))
        await wait_for(pilot, lambda: f"batch {per_epoch - 1}/" in str(line.content), "the batch")
        assert "testing" not in str(line.content)
        bridge(third_epochs(per_epoch, per_epoch))
        await wait_for(pilot, lambda: "testing…" in str(line.content), "the test set's evaluation to show")


async def test_a_dashboards_news_reaches_only_the_screens_it_opened(finished_run):
    """Two dashboards on the stack (a run opened from the workspace over a followed one): the
    first one's predictions replaced the matrix in the second's confusion screen ("epoch 99")."""
    import numpy as np

    from mnist_tui.training.events import Predictions
    from mnist_tui.tui.bridge import SourceBridge
    from mnist_tui.tui.screens.confusion import ConfusionScreen

    app = MnistApp(ReplaySource(ReplayRequest(finished_run, saved_config)))
    async with app.run_test(size=SIZE) as pilot:
        await shows_a_whole_run(app, pilot, 2, recorded_losses(finished_run))
        first = app.dashboard
        app.open_dashboard(ReplaySource(ReplayRequest(finished_run, saved_config)))
        second = app.screen
        await wait_for(pilot, lambda: second.state == "finished" and second.confusion is not None, "the second run")
        second.action_confusion()
        await wait_for(pilot, lambda: isinstance(app.screen, ConfusionScreen), "the confusion screen")
        confusion = app.screen
        assert confusion.epoch == 2
        n = len(first.browser.labels)
        news = Predictions(99, np.full((n, 10), 0.1, np.float32), first.browser.labels, np.eye(10, dtype=np.int64))
        SourceBridge(first.post_message, first.inbox, first.snapshot)(news)
        await wait_for(pilot, lambda: first.confusion[1] == 99, "the first dashboard's news")
        assert confusion.epoch == 2  # the second run's matrix stays
        SourceBridge(second.post_message, second.inbox, second.snapshot)(news)
        await wait_for(pilot, lambda: confusion.epoch == 99, "the second dashboard's own news to reach its screen")


async def test_requests_to_the_source_run_off_the_ui_thread_in_order_and_a_failure_is_a_notice(finished_run):
    """A follower's request locks and fsyncs control.json (up to 2 s behind another follower),
    and it ran in the key's handler; a folder it could not write crashed the app."""
    import threading

    app = MnistApp(ReplaySource(ReplayRequest(finished_run, saved_config)))
    async with app.run_test(size=SIZE) as pilot:
        await shows_a_whole_run(app, pilot, 2, recorded_losses(finished_run))
        dashboard = app.dashboard
        asked, done = [], []

        def request(n: int) -> None:
            asked.append((n, threading.current_thread() is threading.main_thread()))

        def refused() -> None:
            raise PermissionError(13, "Permission denied", "runs/a/control.json")

        for n in range(3):
            dashboard.ask_source(lambda n=n: request(n))
        dashboard.ask_source(refused)
        dashboard.ask_source(lambda: None, then=lambda: done.append(threading.current_thread()))
        await wait_for(pilot, lambda: done, "the last request's follow-up")
        assert asked == [(0, False), (1, False), (2, False)]  # in order, none on the UI thread
        assert done == [threading.main_thread()]  # its follow-up on the UI thread
        await notified(pilot, lambda text: "the run did not get the request" in text and "Permission denied" in text)


async def test_more_epochs_on_a_finished_run_draw_each_batch_once(tiny_config, small_synthetic):
    """`a` on a finished run: the continued run sends the finished epochs' batches again, and the
    loss plot drew them twice (a line back from epoch 0 across the plot)."""
    config = tiny_config.with_changes(epochs=1, batch_size=256)
    app = MnistApp(TrainingSource(config, datasets=small_synthetic))
    async with app.run_test(size=SIZE) as pilot:
        per_epoch = -(-len(small_synthetic.train_labels) // 256)
        await shows_a_whole_run(app, pilot, 1, per_epoch)
        dashboard = app.dashboard
        dashboard.action_add_epochs(1)
        await wait_for(pilot, lambda: dashboard.state == "finished" and dashboard.progress.epochs_done == 2, "epoch 2")
        dashboard.redraw_plots()
        xs = list(dashboard.query_one("#loss-plot", BatchLossPlot).raw.xs)
        assert len(xs) == 2 * per_epoch and xs == sorted(set(xs))  # each batch once, in order


async def test_the_dashboard_trains_exactly_as_headless_with_the_same_seed(tiny_config, small_synthetic, tmp_path):
    """At each epoch's end the dashboard built a CPU network for drawing, drawing its initial
    weights from torch's global generator, which dropout shares: epoch 2 trained differently."""
    from mnist_tui.runfolder.reader import read_metrics
    from mnist_tui.training.loop import Trainer

    config = tiny_config.with_changes(epochs=2, batch_size=256, conv_dropout=0.3, fc_dropout=0.3)
    app = MnistApp(TrainingSource(config, datasets=small_synthetic))
    async with app.run_test(size=SIZE) as pilot:
        await shows_a_whole_run(app, pilot, 2, 2 * -(-len(small_synthetic.train_labels) // 256))
    headless = config.with_changes(run_dir=tmp_path / "headless")
    assert Trainer(headless, lambda event: None, datasets=small_synthetic).run().error is None
    shown = [(r.train_loss, r.test_loss) for r in read_metrics(config.run_dir).records]
    assert shown == [(r.train_loss, r.test_loss) for r in read_metrics(headless.run_dir).records]


async def test_a_run_started_by_a_follower_offers_pause_here(tiny_config, small_synthetic):
    """A follower's space started the held run: this dashboard's footer still said "space Start",
    and space here only changed the footer; a start just before the first batch was never said."""
    config = tiny_config.with_changes(epochs=50, limit_train=256)
    app = MnistApp(TrainingSource(config, datasets=small_synthetic, hold=True))
    async with app.run_test(size=SIZE) as pilot:
        dashboard = app.dashboard
        await wait_for(pilot, lambda: dashboard.state == "ready" and "start" in footer_keys(app), "the held run")
        dashboard.source.control.resume()  # what the run folder's writer does on a follower's space
        await wait_for(pilot, lambda: dashboard.state == "training" and "pause" in footer_keys(app), "space to pause")
        assert "start" not in footer_keys(app)


async def test_epochs_added_while_paused_are_said_to_wait_for_the_resume(tiny_config, small_synthetic):
    """Paused, `a` said "5 more epochs from the next epoch boundary" and the plan stood still: a
    second press looked lost. As for `+`, the notice says it waits for the resume."""
    config = tiny_config.with_changes(epochs=50, limit_train=256)
    app = MnistApp(TrainingSource(config, datasets=small_synthetic))
    async with app.run_test(size=SIZE) as pilot:
        dashboard = app.dashboard
        await wait_for(pilot, lambda: dashboard.state == "training", "training")
        dashboard.action_pause()
        await wait_for(pilot, lambda: dashboard.state == "paused", "the pause")
        dashboard.action_add_epochs(5)
        said = await notified(pilot, lambda text: "more epoch" in text)
        assert said == ["5 more epochs from the next epoch boundary, once resumed"]


async def test_a_replays_help_lists_only_the_keys_that_act_on_it(finished_run):
    """The help was one fixed list: a replay's offered space, S, s, + / - and a."""
    from mnist_tui.tui.screens.help import HelpScreen

    app = MnistApp(ReplaySource(ReplayRequest(finished_run, saved_config)))
    async with app.run_test(size=SIZE) as pilot:
        await shows_a_whole_run(app, pilot, 2, recorded_losses(finished_run))
        app.action_help()
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        keys = [key for key, _ in app.screen.keys]
        assert "space" not in keys and "S S" not in keys and "+ / -" not in keys and "a" not in keys
        assert "x" in keys and "i" in keys and "R" in keys  # what a replay does offer
        assert any("Batch loss" in line for line in app.screen.about)


async def test_a_replay_says_why_space_and_the_steering_keys_do_nothing(finished_run):
    app = MnistApp(ReplaySource(ReplayRequest(finished_run, saved_config)))
    async with app.run_test(size=SIZE) as pilot:
        await shows_a_whole_run(app, pilot, 2, recorded_losses(finished_run))
        await pilot.press("x", "escape")  # a key that acts says nothing of the kind
        assert not [n for n in app._notifications if "trains" in str(n.message)]
        await pilot.press("space")
        said = await notified(pilot, lambda text: "nothing trains here" in text)
        shown = "nothing trains here, the run is only shown"
        assert said == [f"{shown}; to train it on: mnist-tui --resume {finished_run} --epochs 7"]  # 2 done


async def test_a_replay_of_a_failed_run_shows_it_failed_and_exits_0(finished_run, tmp_path):
    """Replaying a run that failed is no failure of the replay."""
    run_dir = tmp_path / "failed"
    shutil.copytree(finished_run, run_dir)
    status = json.loads((run_dir / STATUS_NAME).read_text())
    (run_dir / STATUS_NAME).write_text(json.dumps(status | {"state": "failed", "message": "NaN loss at epoch 2"}))
    app = MnistApp(ReplaySource(ReplayRequest(run_dir, saved_config)))
    async with app.run_test(size=SIZE) as pilot:
        dashboard = app.dashboard
        await wait_for(pilot, lambda: dashboard.state == "failed", "the run's end state")
        assert "NaN loss at epoch 2" in dashboard.detail
        assert app.exit_code() == 0


async def test_a_replay_of_a_run_still_being_written_ends_so_far_and_names_the_follow(finished_run, tmp_path):
    """It ended "stopped", as if the run's writer had stopped, while another process trained it on."""
    import socket

    run_dir = tmp_path / "live"
    shutil.copytree(finished_run, run_dir)
    status = json.loads((run_dir / STATUS_NAME).read_text())
    live = {"state": "training", "pid": os.getpid(), "host": socket.gethostname(), "heartbeat": time.time()}
    live["pid_start"] = process_start(os.getpid())  # this process plays the writer
    (run_dir / STATUS_NAME).write_text(json.dumps(status | live))
    app = MnistApp(ReplaySource(ReplayRequest(run_dir, saved_config)))
    async with app.run_test(size=SIZE) as pilot:
        dashboard = app.dashboard
        await wait_for(pilot, lambda: dashboard.state == "so far", "the replay's end")
        assert f"still training in another process: --follow {run_dir} shows it live" in dashboard.detail
        assert dashboard.detail.startswith("2 epochs; still training")


async def test_a_replay_whose_checkpoint_was_refused_says_why_in_the_digits_place(finished_run, tmp_path):
    """The panel said "no test digits loaded: nothing to browse"; the reason was a toast, soon gone."""
    app = replay_with_a_refused_checkpoint(finished_run, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        dashboard = app.dashboard
        await wait_for(pilot, lambda: dashboard.state == "finished", "the replay")
        hint = dashboard.browser.empty_hint
        assert hint.startswith("no test digits loaded: checkpoint not used:") and "checkpoint.pt" in hint


async def test_a_run_that_fails_before_its_digits_load_says_so_in_their_place(finished_run, tmp_path):
    """`--replay` of a folder with no finished epoch: "● failed" above "loading test digits…" for good."""
    run_dir = tmp_path / "nothing"
    run_dir.mkdir()
    shutil.copy(finished_run / INFO_NAME, run_dir)
    app = MnistApp(ReplaySource(ReplayRequest(run_dir, saved_config)))
    async with app.run_test(size=SIZE) as pilot:
        dashboard = app.dashboard
        await wait_for(pilot, lambda: dashboard.state == "failed", "the replay to fail")
        await pilot.pause(0.05)
        shown = " ".join(dashboard.browser.render().plain.split())  # wrapped to the panel
        assert shown.startswith("no test digits: the run failed (") and "nothing to replay" in shown


async def test_after_a_failure_the_confusion_and_inside_screens_say_no_model_will_come(tiny_config):
    """A run that failed loading its data: `x` said the matrix "fills in after each epoch", and `i`
    that the filters come "within seconds"; neither ever would."""
    from mnist_tui.tui.screens.confusion import ConfusionScreen
    from mnist_tui.tui.screens.model_view import ModelViewScreen
    from mnist_tui.tui.widgets.model_view import FiltersView

    raw = tiny_config.data_dir / "MNIST" / "raw"
    raw.parent.mkdir(parents=True)
    raw.write_text("a file where the folder goes")
    app = MnistApp(TrainingSource(tiny_config.with_changes(dataset="mnist"), hold=True))
    async with app.run_test(size=SIZE) as pilot:
        dashboard = app.dashboard
        await wait_for(pilot, lambda: dashboard.state == "failed", "the run to fail")
        dashboard.action_confusion()
        await wait_for(pilot, lambda: isinstance(app.screen, ConfusionScreen), "the confusion screen")
        await pilot.pause(0.05)
        shown = app.screen.matrix.render().plain
        assert "no confusion matrix here" in shown and "the run failed (" in shown and "fills in" not in shown
        app.screen.dismiss(None)
        await wait_for(pilot, lambda: app.screen is dashboard, "the dashboard again")
        dashboard.action_inside()
        await wait_for(pilot, lambda: isinstance(app.screen, ModelViewScreen), "the model view")
        await pilot.pause(0.05)
        filters = app.screen.query_one(FiltersView).build(100).plain
        assert filters.startswith("no model: the run failed (") and "within seconds" not in filters


async def test_a_replay_without_a_usable_model_says_so_on_the_drawing_and_inside_screens(finished_run, tmp_path):
    """With its checkpoint refused, `d` said "no model yet: it comes with the run's first weights",
    and `i` "no model yet" and "waiting for a model…": in a replay none ever comes."""
    from mnist_tui.tui.screens.draw import DrawScreen
    from mnist_tui.tui.screens.model_view import ModelViewScreen
    from mnist_tui.tui.widgets.model_view import SaliencyView

    app = replay_with_a_refused_checkpoint(finished_run, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        dashboard = app.dashboard
        await wait_for(pilot, lambda: dashboard.state == "finished", "the replay")
        dashboard.action_draw()
        await wait_for(pilot, lambda: isinstance(app.screen, DrawScreen) and app.screen.is_mounted, "the drawing")
        drawing = app.screen
        await pilot.press("enter")  # the pen down: one dot drawn
        await wait_for(pilot, lambda: drawing.shown_generation == drawing.generation > 0, "the guess")
        assert drawing.query_one("#draw-guess").note == "no model: this replay has no model"
        drawing.action_inside()
        await wait_for(pilot, lambda: isinstance(app.screen, ModelViewScreen), "the model view")
        await pilot.pause(0.05)
        inside = app.screen
        assert "Inside the network[/b] · no model · the drawn digit" in str(inside.query_one("#mv-title").content)
        assert inside.query_one(SaliencyView).message == "no model: this replay has no model"
        assert str(inside.query_one("#mv-embedding-status").content) == "no model: this replay has no model"


async def test_the_header_keeps_a_nested_runs_name_at_80_columns(finished_run, tmp_path):
    """At 80 columns the header cut "replay · MNIST · CNN 21,840 params · cpu · /tmp/s…", the run's
    name gone: the folder now loses its head, then the parts their words."""
    run_dir = tmp_path / "a-workspace" / "sweep" / "lr-0.001"
    shutil.copytree(finished_run, run_dir)
    app = MnistApp(ReplaySource(ReplayRequest(run_dir, saved_config)))
    async with app.run_test(size=(80, 24)) as pilot:
        dashboard = app.dashboard
        await wait_for(pilot, lambda: dashboard.loaded, "the run loaded")
        await pilot.pause(0.05)
        header = app.screen._compositor.render_strips()[0].text
        assert "…/sweep/lr-0.001" in header and "replay · " in header and "CNN · cpu" in header, header
        await pilot.resize_terminal(200, 40)
        await wait_for(pilot, lambda: str(run_dir) in dashboard.sub_title, "the whole path at 200 columns")
        assert "CNN 21,840 params" in dashboard.sub_title


async def test_a_runs_end_shows_its_last_batch_loss_at_once(finished_run):
    """At a run's end the stats kept the loss of the tick before (a served page showed a stale
    loss for up to a second): the batches still in the loss inbox are taken first."""
    from mnist_tui.training.events import Finished

    app = MnistApp(ReplaySource(ReplayRequest(finished_run, saved_config)))
    async with app.run_test(size=SIZE) as pilot:
        await shows_a_whole_run(app, pilot, 2, recorded_losses(finished_run))
        dashboard = app.dashboard
        dashboard.refresh_timer.pause()  # no tick takes the losses: only the end may
        line = dashboard.query_one("#speed-line")
        bridge, per_epoch = await trains_again(app, pilot)
        bridge(third_epochs(per_epoch, per_epoch, loss=0.0123))
        bridge(Finished(3, 0.99, False))
        await wait_for(pilot, lambda: dashboard.state == "finished", "the end")
        assert "loss 0.0123" in str(line.content), line.content


async def test_a_replay_without_its_test_digits_says_so_on_the_confusion_screen(finished_run, tmp_path):
    """Its model loaded (d draws with it, i shows it); x said "this replay has no model"."""
    from mnist_tui.tui.screens.confusion import ConfusionScreen
    from mnist_tui.tui.widgets.confusion import ConfusionMatrix

    empty = tmp_path / "empty"
    empty.mkdir()

    def elsewhere(saved) -> Config:
        return saved_config(saved).with_changes(dataset="mnist", data_dir=empty)

    app = MnistApp(ReplaySource(ReplayRequest(finished_run, elsewhere)))
    async with app.run_test(size=SIZE) as pilot:
        dashboard = app.dashboard
        await wait_for(pilot, lambda: dashboard.state == "finished", "the replay")
        assert app.snapshot.ready  # its model is here
        dashboard.action_confusion()
        shown_up = lambda: isinstance(app.screen, ConfusionScreen) and app.screen.query(ConfusionMatrix)  # noqa: E731
        await wait_for(pilot, shown_up, "the confusion screen")
        shown = app.screen.query_one(ConfusionMatrix).render().plain
        assert "no model" not in shown, shown
        said = " ".join(shown.split())
        assert "no test digits loaded: test digits not available (MNIST is not in" in said, shown
        assert said.endswith("to see predictions, pass --data-dir DIR (the folder holding MNIST)"), shown


async def test_a_stopped_runs_stats_show_what_its_folder_keeps(finished_run):
    """S S in epoch 3: the stats still said "epoch 3 … batch 5" of batches not kept."""
    from mnist_tui.training.events import Finished

    app = MnistApp(ReplaySource(ReplayRequest(finished_run, saved_config)))
    async with app.run_test(size=SIZE) as pilot:
        await shows_a_whole_run(app, pilot, 2, recorded_losses(finished_run))
        dashboard = app.dashboard
        line = dashboard.query_one("#position-line")
        bridge, per_epoch = await trains_again(app, pilot)
        bridge(third_epochs(1, per_epoch))
        await wait_for(pilot, lambda: dashboard.progress.epoch == 3, "the third epoch's batch")
        loss_plot = dashboard.query_one("#loss-plot", BatchLossPlot)
        loss_plot.mark(2.0 + 1e-6, "lr ×2")  # at epoch 2's end: kept, as the replay keeps it
        loss_plot.mark(2.5, "lr ×0.5")  # in the stopped epoch: not
        bridge(Finished(2, 0.99, True))
        await wait_for(pilot, lambda: dashboard.state == "stopped", "the stop")
        assert f"batch {per_epoch}/{per_epoch}" in str(line.content) and "epoch 2/" in str(line.content), line.content
        # nor its batches: a follower drew them where the replay of the same folder does not
        assert [what for _, what in loss_plot.marks] == ["lr ×2"]
        assert len(loss_plot.raw) == recorded_losses(finished_run) and max(loss_plot.raw.xs) == 2.0
        assert dashboard.progress.last_loss == loss_plot.raw.ys[-1] != 0.2  # the last kept batch's


async def test_a_lost_writers_stats_show_what_its_folder_keeps(finished_run):
    """A writer killed while testing its last epoch: the follower said "batch 40/40 … run 100 %"
    with one epoch fewer saved."""
    from mnist_tui.training.events import StateChanged

    app = MnistApp(ReplaySource(ReplayRequest(finished_run, saved_config)))
    async with app.run_test(size=SIZE) as pilot:
        await shows_a_whole_run(app, pilot, 2, recorded_losses(finished_run))
        dashboard = app.dashboard
        line = dashboard.query_one("#position-line")
        bridge, per_epoch = await trains_again(app, pilot)
        bridge(third_epochs(per_epoch, per_epoch))
        await wait_for(pilot, lambda: dashboard.progress.epoch == 3, "the third epoch's last batch")
        bridge(StateChanged("lost", "the writer (pid 1) stopped without a word: killed or crashed"))
        await wait_for(pilot, lambda: dashboard.state == "lost", "the loss of the writer")
        await wait_for(pilot, lambda: "epoch 2/" in str(line.content), "the kept position", timeout=10)
        dashboard.redraw_plots()  # takes the batches the inbox holds
        assert max(dashboard.query_one("#loss-plot", BatchLossPlot).raw.xs) == 3.0  # a crash's last batches stay


async def test_a_replay_with_its_model_never_says_it_has_none(finished_run):
    """Inside said "no model: this replay has no model" of a replay's model until it had read it."""
    from mnist_tui.tui.screens.model_view import ModelViewScreen

    app = MnistApp(ReplaySource(ReplayRequest(finished_run, saved_config)))
    async with app.run_test(size=SIZE) as pilot:
        await shows_a_whole_run(app, pilot, 2, recorded_losses(finished_run))
        await wait_for(pilot, lambda: app.dashboard.snapshot.ready, "the replay's model")
        app.dashboard.action_inside()
        await wait_for(pilot, lambda: isinstance(app.screen, ModelViewScreen), "the model view")
        assert app.screen.no_model == ""
        await wait_for(pilot, lambda: app.screen.weights is not None, "the model read")
