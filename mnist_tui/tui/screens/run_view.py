"""A run's screen: plots, stats, the predictions browser and the epoch table over any run source.

It shows what the source reports (run messages, see ``messages.py``) and never asks which
kind of source it has. Plots and stats redraw on a timer, only when their data changed:
every UI-thread millisecond is taken from training on a 2-core machine. What the keys do
(start, steer, browse, explore) is the :class:`~mnist_tui.tui.screens.dashboard.DashboardScreen`'s.
"""

from __future__ import annotations

import threading
import time
from functools import partial

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Header

from mnist_tui.model_snapshot import ModelSnapshot
from mnist_tui.tui import messages as msg
from mnist_tui.tui.bridge import LossInbox, SourceBridge
from mnist_tui.tui.header_line import header_sub_title
from mnist_tui.tui.progress import RunProgress, run_summary
from mnist_tui.tui.screens.dashboard_keys import LEFT_OUT_OF_NARROW_FOOTER
from mnist_tui.tui.widgets.browser import PredictionsBrowser
from mnist_tui.tui.widgets.epoch_table import EpochTable
from mnist_tui.tui.widgets.fitted_footer import FittedFooter
from mnist_tui.tui.widgets.plots import PlotsPanel, plot_interval
from mnist_tui.tui.widgets.settings_panel import SettingsPanel, plan_settings
from mnist_tui.tui.widgets.stats import StatsPanel
from mnist_tui.tui.widgets.system_panel import SystemPanel
from mnist_tui.words import rewound_text

REFRESH_S = 1.0  # stats, once a second; the plots at their own pace (widgets.plots.plot_interval)
NARROW_COLUMNS, SHORT_ROWS = 100, 34


class RunViewScreen(Screen):
    state: reactive[str] = reactive("loading", init=False)

    def __init__(self, source, snapshot=None) -> None:
        super().__init__()
        self.source = source
        self.result = None  # the source's RunResult once it returns
        self.source_done = threading.Event()
        self.capabilities = source.capabilities
        self.snapshot = snapshot or ModelSnapshot()  # the drawing model, kept fresh by the bridge
        self.inbox = LossInbox()
        self.progress = RunProgress(0)
        self.started = not self.capabilities.start  # a held trainer starts with space
        self.loaded = False
        self.detail = ""
        self.failure: str | None = None
        self.confusion: tuple | None = None  # (matrix, epoch)
        self.drawing = None  # the last drawing, kept for the next visit
        self.layer_records: list = []  # per-layer statistics, one per epoch, for the model view
        self._next_plots = 0.0  # time.monotonic() of the next plot redraw
        self._predictions: tuple | None = None  # (probabilities, epoch) not shown yet
        self._progress_dirty = False
        self._header_parts = ("", "CNN", "")  # dataset, model, device: fitted to the width at each resize

    # -- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            yield PlotsPanel(id="plots")
            with Vertical(id="side"):
                yield StatsPanel(id="stats")
                yield SettingsPanel(id="settings")
                yield SystemPanel(id="system", own_timer=False, trains_here=self.source.capabilities.local)
                yield PredictionsBrowser(id="predictions")
                yield EpochTable(id="epochs")
        yield FittedFooter(LEFT_OUT_OF_NARROW_FOOTER)

    def on_mount(self) -> None:
        self.refresh_timer = self.set_interval(REFRESH_S, self._refresh_tick)  # tests pause it to tick by hand
        self.stats.show_state("loading", "opening the run…")
        self._fit_layout(self.app.size.width, self.app.size.height)

    def on_resize(self, event: Resize) -> None:
        self._fit_layout(event.size.width, event.size.height)  # this event's size: never a stale one

    def _fit_layout(self, width: int, height: int) -> None:
        narrow, short = width < NARROW_COLUMNS, height < SHORT_ROWS
        self.set_class(narrow, "-narrow")
        self.set_class(short, "-short")
        self.browser.set_compact(narrow)
        self.query_one("#epochs", EpochTable).set_compact(narrow)
        self.query_one(FittedFooter).fit(width, narrow)
        self.refresh_bindings()  # p (the side panel) is offered only where the panels take turns
        self._describe(width)

    def _describe(self, width: int = 0) -> None:
        parts, width = (self.source.title, *self._header_parts), width or self.app.size.width
        self.sub_title = header_sub_title(parts, self.source.run_dir, width, self.app.title)

    @property
    def stats(self) -> StatsPanel:
        return self.query_one("#stats", StatsPanel)

    @property
    def plots(self) -> PlotsPanel:
        return self.query_one("#plots", PlotsPanel)

    @property
    def browser(self) -> PredictionsBrowser:
        return self.query_one("#predictions", PredictionsBrowser)

    # -- the source's worker: it only posts messages here ------------------------------------------

    def run_source(self) -> None:
        """Start (or, for a source that can extend an ended run, start again) the source's worker."""
        # a new event for each run: the worker before it (`a` on a finished run) may still be
        # returning, and its set() must not say this one is done
        self.source_done = done = threading.Event()
        work = partial(self._run_source, done)
        self.run_worker(work, thread=True, exclusive=True, name="source", exit_on_error=False)

    def _run_source(self, done: threading.Event) -> None:
        try:
            self.result = SourceBridge(self.post_message, self.inbox, self.snapshot).run(self.source)
        finally:
            done.set()

    def on_unmount(self) -> None:
        self.source.close()  # a trainer stops within a batch; a follower stops following

    # -- the run's state -----------------------------------------------------------------------

    def watch_state(self) -> None:
        self.stats.show_state(self.state, self.detail)
        self.refresh_bindings()
        self.query_one(FittedFooter).keys_changed()  # also while blurred (a served page left unfocused)
        if self.state != "training":  # paused or ended: the whole picture now, not at the next pace
            self._show_predictions()
            self._next_plots = 0.0
            self._progress_dirty = True  # the ETA goes once the run is not live (a lost writer kept it)
        if self.state in ("stopped", "lost", "failed"):  # after the end's summary, which counts its time
            self.progress.show_kept(self.progress.epochs_done)  # the epoch it was in is not kept
        if self.state == "stopped":  # nor its batches, as its replay shows it (a crash's last batches stay: evidence)
            self._take_losses()
            self.progress.last_loss = self.plots.withdraw_after(self.progress.epochs_done)

    def show_state(self, state: str, detail: str = "") -> None:
        self.detail = detail
        if state == self.state:
            self.watch_state()  # the detail changed
        self.state = state

    def on_state_reported(self, message: msg.StateReported) -> None:
        state, detail = message.event.state, message.event.detail
        if state == "training":
            self.started = True  # started here or by a follower's space: the key now pauses
        if state == "paused" and not self.started:
            state, detail = "ready", "press space to train"
        elif state == "loading" and self.loaded:
            return
        self.show_state(state, detail)

    def on_run_loaded(self, message: msg.RunLoaded) -> None:
        e = message.event
        self.loaded = True
        self.progress.on_loaded(e)
        precision = f" {e.precision}" if e.precision and e.precision != "fp32" else ""
        self._header_parts = (e.dataset, f"CNN {e.parameters:,} params", f"{e.device}{precision}")
        self._describe()
        if e.notice:
            self.notify(e.notice, severity="warning", timeout=12)
        self.browser.set_data(e.test_images, e.test_labels, e.notice or "")
        for row in e.history:
            self._add_epoch(row)
        self.plots.set_recorded(e.batches_recorded)
        self.plots.drop_marks_after(0)  # the source sends the steering it keeps again, after this
        self.query_one("#settings", SettingsPanel).show(e.settings | plan_settings(self.progress.plan), e.world_size)
        self.query_one("#system", SystemPanel).use_device(e.device)
        if not self.started:
            self.show_state("ready", "press space to train")
        self._show_progress()

    def settings_lines(self) -> list[str]:
        """The run's settings for the help screen (none before the run is open)."""
        return self.query_one("#settings", SettingsPanel).help_lines()

    def on_batches_arrived(self, message: msg.BatchesArrived) -> None:
        self.progress.on_batch(message.event)
        self._progress_dirty = True  # shown on the next refresh tick

    def on_epoch_finished(self, message: msg.EpochFinished) -> None:
        self._add_epoch(message.event)
        self._progress_dirty = True

    def on_plan_reported(self, message: msg.PlanReported) -> None:
        self.progress.on_plan(message.event.epochs)
        self._progress_dirty = True
        self.query_one("#settings", SettingsPanel).show_plan(self.progress.plan)  # and so the help

    def on_steering_reported(self, message: msg.SteeringReported) -> None:
        e = message.event
        self.plots.mark(e.epoch, e.batch, self.progress.batches_per_epoch, e.what)
        self.query_one("#settings", SettingsPanel).show_lr_scale(e.lr_scale)
        # a continued run's finished epochs come with their steering again: marks, not news
        if self.source.capabilities.live and not e.kept_on_resume(self.progress.epochs_done):
            lr = f": the lr is the schedule's × {e.lr_scale:g} from here" if e.what.startswith("lr") else ""
            self.notify(f"{e.what}{lr}", timeout=3)

    def on_run_rewound(self, message: msg.RunRewound) -> None:
        epoch = message.event.epoch  # its batches leave the plot through the loss inbox, in order
        self.plots.drop_marks_after(epoch)  # the steering after it comes in later messages
        self.progress.on_rewound(epoch)
        self._progress_dirty = True
        self.notify(rewound_text(epoch))

    def on_notice_reported(self, message: msg.NoticeReported) -> None:
        self.notify(message.event.text, severity="warning", timeout=10)

    def on_predictions_arrived(self, message: msg.PredictionsArrived) -> None:
        e = message.event
        self._predictions = (e.probabilities, e.epoch)
        if self.state != "training":  # while training, the next tick shows them with the rest
            self._show_predictions()
        self.confusion = (e.confusion, e.epoch)  # the dashboard passes it on to its open screens

    def on_layer_stats_arrived(self, message: msg.LayerStatsArrived) -> None:
        record = message.event
        self.layer_records = [r for r in self.layer_records if r.epoch < record.epoch] + [record]

    def on_run_finished(self, message: msg.RunFinished) -> None:
        e = message.event
        self._take_losses()  # the last batches' (the stats kept the tick before's loss a second)
        self.progress.on_finished(e.epochs_done)
        if e.still:  # the run goes on in another process: this view holds it so far
            where = f"--follow {self.source.run_dir} shows it live"
            self.show_state("so far", f"{self._summary(e)}; still {e.still} in another process: {where}")
        else:
            self.show_state("stopped" if e.stopped else "finished", self._summary(e))
        self._show_progress()
        if self.capabilities.live:
            self.notify(self._summary(e, long=True), title=f"Run {self.state}", timeout=8)  # also in the state line

    def _summary(self, e, long: bool = False) -> str:
        can_extend, elsewhere = self.capabilities.extend and not e.stopped, self.app.screen is not self  # `a`: finished
        return run_summary(self.progress, e.epochs_done, self.source.run_dir, can_extend, long, elsewhere, e.reached)

    def on_run_failed(self, message: msg.RunFailed) -> None:
        self.failure = message.event.message
        self.show_state("failed", message.event.message)
        self.browser.set_never_loaded(f"the run failed ({message.event.message})")
        self.notify(message.event.message, title="The run failed", severity="error", timeout=15)

    def _add_epoch(self, row) -> None:
        self.query_one("#system", SystemPanel).show_run(row)
        self.plots.add_epoch(row)
        self.query_one("#epochs", EpochTable).add_epoch(row)
        self.progress.on_row(row)

    # -- redrawing, on a timer -----------------------------------------------------------------

    def _refresh_tick(self) -> None:
        """Everything that changes while a run trains is shown here, in one screen update a second."""
        self._take_losses()
        self.query_one("#system", SystemPanel).tick()
        self._show_predictions()
        if self._progress_dirty:
            self._progress_dirty = False
            self._show_progress()
        if time.monotonic() >= self._next_plots:
            self.redraw_plots()

    def _show_predictions(self) -> None:
        if self._predictions is not None:
            self.browser.set_predictions(*self._predictions)
            self._predictions = None

    def _take_losses(self) -> None:
        last = self.plots.add_batches(self.inbox.drain())
        if last is not None:
            self.progress.last_loss = last

    def _show_progress(self) -> None:
        """The stats and the epochs table: on load, on finish and on the tick when they changed."""
        self.query_one("#epochs", EpochTable).flush()
        p = self.progress
        testing = p.testing and self.state == "training"
        self.stats.show_position(p.epoch, p.epochs, p.batch, p.batches_per_epoch, testing, p.epoch_part)
        self.stats.show_progress(p.batch, p.batches_per_epoch, p.run_batches_done, p.run_batches)
        live = self.capabilities.live and self.state in ("training", "loading")  # a replay loading has none
        self.stats.show_speed(p.samples_per_s, p.eta_seconds() if live else None, p.last_loss)
        self.stats.show_results(p.best_acc, p.best_epoch, p.last_test_loss)

    def redraw_plots(self) -> None:
        """Redraw the plots that gained points (on the tick, every :func:`plot_interval`)."""
        self._take_losses()
        if self.app.screen is not self:
            return  # hidden under another screen: drawn when it shows again
        self.plots.redraw_if_dirty()
        self._next_plots = time.monotonic() + plot_interval(self.plots.redraw_cost())

    def on_screen_resume(self) -> None:
        self.redraw_plots()
