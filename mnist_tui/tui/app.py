"""The dashboard: a thin Textual face over the one trainer.

Torch loads inside the training worker, after the first frame. The worker starts at
launch held paused, so the data and the model load while the user reads the screen;
``space`` lets it go. The worker only posts messages (see ``bridge.py``); every widget is
touched on the UI thread.
"""

from __future__ import annotations

import threading
from typing import Any

from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Header

from mnist_tui.config import Config
from mnist_tui.training.control import TrainingControl
from mnist_tui.tui import messages as msg
from mnist_tui.tui.bridge import LossInbox, TrainerBridge
from mnist_tui.tui.controls import TrainingControlsMixin
from mnist_tui.tui.explore import EXPLORE_BINDINGS, ExploreMixin
from mnist_tui.tui.progress import RunProgress
from mnist_tui.tui.screens.help import HelpScreen
from mnist_tui.tui.views import View, ViewBuilder, all_digits, wrong_only
from mnist_tui.tui.widgets.epoch_plot import EpochPlot
from mnist_tui.tui.widgets.epoch_table import EpochTable
from mnist_tui.tui.widgets.loss_plot import BatchLossPlot
from mnist_tui.tui.widgets.predictions import PredictionsPanel
from mnist_tui.tui.widgets.stats import StatsPanel

# Every UI-thread millisecond is taken from training (the GIL, and two torch threads on two
# cores): stats refresh twice a second and the plots once (plotext renders ~40 ms on the UI
# thread). Measured on full MNIST slices: dashboard/headless 0.89 at 4 Hz/2 Hz, 0.96-0.99 here.
REFRESH_S = 0.5
PLOT_EVERY = 2
NARROW_COLUMNS, SHORT_ROWS = 100, 34


class MnistApp(TrainingControlsMixin, ExploreMixin, App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "mnist-tui"
    BINDINGS = [
        Binding("space", "start", "Start"),
        Binding("space", "pause", "Pause"),
        Binding("space", "resume", "Resume"),
        Binding("q", "quit", "Quit"),
        Binding("s", "save", "Save", show=False),
        Binding("j,down,right", "browse(1)", "Next digit", show=False),
        Binding("k,up,left", "browse(-1)", "Previous digit", show=False),
        Binding("pagedown", "browse(10)", "10 digits on", show=False),
        Binding("pageup", "browse(-10)", "10 digits back", show=False),
        Binding("home", "browse_to(0)", "First digit", show=False),
        Binding("end", "browse_to(-1)", "Last digit", show=False),
        Binding("w", "toggle_wrong", "Wrong only"),
        Binding("m", "cycle_digit_mode", "ASCII/blocks"),
        Binding("question_mark", "help", "Help"),
        *EXPLORE_BINDINGS,
    ]

    def __init__(
        self,
        config: Config,
        autostart: bool = False,
        resume_state: dict[str, Any] | None = None,
        datasets: Any = None,
        launch_trainer: bool = True,
        replay: Any = None,
    ) -> None:
        super().__init__()
        self.replay = replay  # a ReplayRequest: show a recorded run instead of training
        self.config = config
        self.autostart = autostart
        self.resume_state = resume_state
        self.datasets = datasets  # tests pass a small set; None loads config.dataset
        self.launch_trainer = launch_trainer  # False: a still dashboard fed by tests
        self.control = TrainingControl()
        self.inbox = LossInbox()
        self.progress = RunProgress(config.epochs)
        self.state = "loading"
        self.started = False
        self.loaded = False
        self.quitting = False
        self.view_builder: ViewBuilder = all_digits
        self.result = None  # the trainer's RunResult once it returns
        self.trainer_done = threading.Event()
        self._ticks = 0
        self._progress_dirty = False
        self.trainer_launched = False
        self.trainer = None  # set by the worker; its save_now() is safe from any thread
        self.failure: str | None = None

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with Vertical(id="plots"):
                yield BatchLossPlot(id="loss-plot")
                with Horizontal(id="epoch-plots"):
                    yield EpochPlot("accuracy per epoch", "accuracy %", id="acc-plot")
                    yield EpochPlot("loss per epoch", "loss", id="epoch-loss-plot")
            with Vertical(id="side"):
                yield StatsPanel(id="stats")
                yield PredictionsPanel(id="predictions")
                yield EpochTable(id="epochs")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self._describe(self.config.dataset, "CNN", self.config.device)
        self._fit_layout()
        self.set_interval(REFRESH_S, self._refresh_tick)
        self.stats.show_state("loading", "loading torch and the data…")
        if self.launch_trainer:
            self.control.pause()  # hold at the first batch until the user starts
            if self.autostart:
                self.action_start()
            self.trainer_launched = True
            self._train()

        self._watch_signals()

    def on_resize(self) -> None:
        self._fit_layout()

    def _fit_layout(self) -> None:
        self.screen.set_class(self.size.width < NARROW_COLUMNS, "-narrow")
        self.screen.set_class(self.size.height < SHORT_ROWS, "-short")

    def _describe(self, dataset: str, model: str, device: str) -> str:
        run_dir = self.config.run_dir if self.config.run_dir is not None else "not saved"
        return f"{dataset} · {model} · {device} · {run_dir}"

    @property
    def stats(self) -> StatsPanel:
        return self.query_one("#stats", StatsPanel)

    @property
    def predictions(self) -> PredictionsPanel:
        return self.query_one("#predictions", PredictionsPanel)

    # -- the worker: runs the trainer, posts messages, never touches a widget ------------------

    @work(thread=True, exclusive=True, name="trainer", exit_on_error=False)
    def _train(self) -> None:
        bridge = TrainerBridge(self.post_message, self.inbox)
        try:
            from mnist_tui.training.loop import Trainer  # torch loads here, after the first frame

            if self.replay is not None:
                self.result = self.run_replay(bridge)
                return
            listener = self.snapshot_listener(bridge, lambda: trainer.model)  # a model copy for drawing
            trainer = Trainer(self.config, listener, self.control, self.resume_state, self.datasets)
            self.trainer = trainer
            self.result = trainer.run()
        except Exception as exc:  # an import that fails (a broken torch) is a failure too
            from mnist_tui.training.events import Failed

            self.result_error = exc
            bridge(Failed(f"cannot start training: {type(exc).__name__}: {exc}", 0))
        finally:
            self.trainer_done.set()

    # -- messages from the worker ----------------------------------------------------------

    def on_trainer_loaded(self, message: msg.TrainerLoaded) -> None:
        e = message.event
        self.loaded = True
        self.progress.on_loaded(e)
        precision = f" {e.precision}" if e.precision != "fp32" else ""
        self.sub_title = self._describe(e.dataset, f"CNN {e.parameters:,} params", f"{e.device}{precision}")
        if e.notice:
            self.notify(e.notice, severity="warning", timeout=12)
        self.predictions.set_data(e.test_images, e.test_labels)
        for row in e.history:
            self._add_epoch(row)
        self.query_one("#loss-plot", BatchLossPlot).fit_smoothing(e.batches_per_epoch)
        if self.started:
            self._set_state("paused" if self.control.paused else "training")
        else:
            self._set_state("ready", "press space to train")
        self._show_progress()

    def on_batch_progress(self, message: msg.BatchProgress) -> None:
        self.progress.on_batch(message.event)
        self._progress_dirty = True  # shown on the next refresh tick

    def _refresh_tick(self) -> None:
        self._ticks += 1
        self._take_losses()
        if self._progress_dirty:
            self._progress_dirty = False
            self._show_progress()
        if self._ticks % PLOT_EVERY == 0:
            self.redraw_plots()

    def _take_losses(self) -> None:
        plot = self.query_one("#loss-plot", BatchLossPlot)
        per_epoch = max(self.progress.batches_per_epoch, 1)
        for epoch, batch, loss in self.inbox.drain():
            plot.add(epoch - 1 + batch / per_epoch, loss)
            self.progress.last_loss = loss

    def on_epoch_done(self, message: msg.EpochDone) -> None:
        self._add_epoch(message.event)
        self._progress_dirty = True

    def on_predictions_ready(self, message: msg.PredictionsReady) -> None:
        e = message.event
        self.predictions.set_predictions(e.probabilities, e.epoch)
        self.show_view(self.view_builder)

    def on_training_finished(self, message: msg.TrainingFinished) -> None:
        e = message.event
        self._set_state("stopped" if e.stopped else "finished", f"after {e.epochs_done} epoch(s)")

    def on_training_failed(self, message: msg.TrainingFailed) -> None:
        self.failure = message.event.message
        self._set_state("failed", message.event.message)
        self.notify(message.event.message, title="Training failed", severity="error", timeout=30)

    def _add_epoch(self, row) -> None:
        get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
        epoch = int(get("epoch"))
        self.query_one("#acc-plot", EpochPlot).add(epoch, 100 * get("train_acc"), 100 * get("test_acc"))
        self.query_one("#epoch-loss-plot", EpochPlot).add(epoch, get("train_loss"), get("test_loss"))
        self.query_one("#epochs", EpochTable).add_epoch(row)
        self.progress.on_epoch(epoch, get("test_acc"), get("test_loss"))

    def _show_progress(self) -> None:
        p = self.progress
        self.stats.show_position(p.epoch, p.epochs, p.batch, p.batches_per_epoch)
        self.stats.show_progress(p.batch, p.batches_per_epoch, p.run_batches_done, p.run_batches)
        self.stats.show_speed(p.samples_per_s, p.eta_seconds(), p.last_loss)
        self.stats.show_results(p.best_acc, p.best_epoch, p.last_test_loss)

    def redraw_plots(self) -> None:
        """Redraw the plots that gained points (on a timer, every PLOT_EVERY ticks)."""
        self._take_losses()
        for plot in self.query("#plots PlotextPlot"):
            plot.redraw_if_dirty()

    def _set_state(self, state: str, detail: str = "") -> None:
        self.state = state
        self.stats.show_state(state, detail)
        self.refresh_bindings()

    # -- views of the test set for the predictions browser ---------------------------------------

    def show_view(self, builder: ViewBuilder) -> View | None:
        """Browse what ``builder`` returns; it is rebuilt after every epoch's predictions."""
        self.view_builder = builder
        panel = self.predictions
        if panel.labels is None:
            return None
        view = builder(panel.probabilities, panel.labels)
        panel.set_view(view.indices, view.title, view.empty_hint)
        return view

    # -- actions ---------------------------------------------------------------------------

    def action_browse(self, delta: int) -> None:
        self.predictions.move(delta)

    def action_browse_to(self, position: int) -> None:
        panel = self.predictions
        panel.move_to(position if position >= 0 else len(panel.indices) - 1)

    def action_toggle_wrong(self) -> None:
        view = self.show_view(all_digits if self.view_builder is wrong_only else wrong_only)
        if view is not None and not len(view.indices):
            self.notify(view.empty_hint, timeout=3)

    def action_cycle_digit_mode(self) -> None:
        self.predictions.cycle_mode()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def get_system_commands(self, screen):
        yield from super().get_system_commands(screen)
        yield SystemCommand("Start / pause / resume training", "The space key", self.action_toggle_training)
        yield SystemCommand("Next digit", "Browse predictions forward (j)", lambda: self.action_browse(1))
        yield SystemCommand("Previous digit", "Browse predictions back (k)", lambda: self.action_browse(-1))
        yield SystemCommand("Wrong only", "Show only misclassified test digits, or all (w)", self.action_toggle_wrong)
        yield SystemCommand("Digit drawing", "ASCII characters or half-blocks (m)", self.action_cycle_digit_mode)
        yield SystemCommand("Help", "Keys and panels (?)", self.action_help)
        yield SystemCommand("Save checkpoint", "Write the last finished epoch's checkpoint now (s)", self.action_save)


def run_app(
    config: Config, autostart: bool = False, resume_state: dict[str, Any] | None = None, replay: Any = None
) -> int:
    """Run the dashboard; return the exit code (0, 1 on a training failure, 2 on bad input)."""
    app = MnistApp(config, autostart=autostart, resume_state=resume_state, replay=replay)
    code = app.run()
    app.control.stop()
    if app.trainer_launched:
        app.trainer_done.wait(timeout=30)  # normally already set: the loop stops within a batch
    if app.failure is not None:
        import sys

        print(f"mnist-tui: error: {app.failure}", file=sys.stderr)
    return code if isinstance(code, int) else 0
