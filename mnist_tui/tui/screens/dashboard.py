"""The dashboard: a run's screen (:mod:`run_view`) and what its keys do.

Keys are offered as the source's capabilities allow (``dashboard_keys.allowed``): start,
pause and steer a live run, save it, browse and filter the test digits, and open the
screens that look closer (confusion, drawing, inside the network, the runs workspace), which
are imported when first opened (see ``opened_screens.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.screen import Screen

from mnist_tui.config import MAX_EPOCHS
from mnist_tui.training.events import ENDED
from mnist_tui.tui import messages as msg
from mnist_tui.tui.progress import not_kept
from mnist_tui.tui.screens.dashboard_keys import DASHBOARD_KEYS, allowed, key_actions, refusal
from mnist_tui.tui.screens.opened_screens import OpenedScreens
from mnist_tui.tui.screens.run_view import RunViewScreen
from mnist_tui.tui.source_requests import SourceRequests, save_words
from mnist_tui.words import counted

if TYPE_CHECKING:
    from mnist_tui.tui.screens.model_view import ModelViewScreen

STOP_CONFIRM_S = 3.0  # the second S must follow the first within this


class DashboardScreen(RunViewScreen):
    BINDINGS = DASHBOARD_KEYS
    _stop_asked = -STOP_CONFIRM_S  # time.monotonic() of the first S (a float: each screen sets its own)
    _leave_asked = -STOP_CONFIRM_S  # and of the first esc that would stop a run trained here

    def __init__(self, source, snapshot=None) -> None:
        super().__init__(source, snapshot)
        self.opened = OpenedScreens()  # the screens it opened: the run's news goes to them alone
        # its thread starts with the first request; self.app is read then (it is not set here yet)
        self._requests = SourceRequests(lambda done: self.app.call_from_thread(done), self._request_failed)

    def on_mount(self) -> None:
        # a filter or an order asked for while the side panel shows the epochs (80×24) seemed to do
        # nothing: the digits it picked stayed hidden behind the table
        self.watch(self.browser, "spec", lambda: self.remove_class("-epochs"), init=False)

    def action_side_panel(self) -> None:
        """Where the side panel cannot show everything: predictions ↔ epochs table."""
        self.toggle_class("-epochs")

    def action_epoch_plot(self) -> None:
        """Where one per-epoch plot fits (narrow): accuracy ↔ loss. Without it an 80-column
        dashboard showed no test loss over the epochs, the first sign of overfitting."""
        self.toggle_class("-epoch-loss")

    # -- steering the run ----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "side_panel":
            return self.has_class("-narrow") or self.has_class("-short")
        if action == "epoch_plot":
            return self.has_class("-narrow")
        if action == "back":
            return self.opened_over_another
        return allowed(action, self.state, self.capabilities, self.started, self.loaded)

    def on_key(self, event) -> None:
        """A key none of whose actions acts now (Textual sends keys here before their bindings):
        why, where it is lasting."""
        actions = key_actions(event.key)
        if any(self.check_action(action, ()) for action in actions):
            return
        said = refusal(actions, self.state, self.capabilities, self.source.run_dir, self.progress.epochs_done)
        if said:
            self.notify(said, timeout=5)

    def ask_source(self, request: Callable[[], object], then: Callable[[], object] | None = None) -> None:
        """``request`` off the UI thread, after those asked before it; ``then`` on it once done."""
        self._requests.ask(request, then)

    def _request_failed(self, said: str) -> None:
        self.notify(f"the run did not get the request: {said}", severity="error", timeout=10)
        if self.state == "loading" and self.source_done.is_set():  # `a` on a finished run: it never started
            self.show_state("finished", "it was not continued")

    def on_unmount(self) -> None:
        self._requests.close()

    def action_start(self) -> None:
        self.started = True
        self.ask_source(self.source.start)
        self.show_state("training" if self.loaded else "loading", "" if self.loaded else "starts once loaded")

    def action_pause(self) -> None:
        self.ask_source(self.source.pause)
        self.show_state("pausing", "at the next batch")

    def action_resume(self) -> None:
        self.ask_source(self.source.resume)
        self.show_state("training")

    def action_steer_lr(self, factor: float) -> None:
        self.ask_source(lambda: self.source.steer_lr(factor))
        if self.state in ("loading", "ready", "paused", "pausing"):  # news when a batch takes it
            first = {"loading": "the first batch, once loaded", "ready": "the first batch, once training starts"}
            when = first.get(self.state, "the next batch, once resumed")
            self.notify(f"lr × {factor:g} from {when}", timeout=4)

    def action_add_epochs(self, epochs: int) -> None:
        if self.progress.epochs + epochs > MAX_EPOCHS:  # the run would take none: it said "training 5 more"
            self.notify(f"the plan is at its limit: {MAX_EPOCHS:,} epochs", timeout=4)
            return
        if self.state in ENDED and self.capabilities.extend:
            self.show_state("loading", f"training {counted(epochs, 'more epoch')}")
            # the source continues the run from its last checkpoint, here, once it has loaded it
            self.ask_source(lambda: self.source.add_epochs(epochs), self.run_source)
        else:
            self.ask_source(lambda: self.source.add_epochs(epochs))
            held = ", once resumed" if self.state in ("paused", "pausing") else ""  # it said nothing of the pause
            when = "when training starts" if self.state == "ready" else f"from the next epoch boundary{held}"
            self.notify(f"{counted(epochs, 'more epoch')} {when}", timeout=3)

    def action_stop_run(self) -> None:
        """S twice within STOP_CONFIRM_S: a stop ends the run itself (a followed one's writer too),
        and the epoch in progress is not kept; one press threw away 1,973 batches of a follower's run."""
        now = time.monotonic()
        if now - self._stop_asked > STOP_CONFIRM_S:
            self._stop_asked = now
            said = f"press S again within {STOP_CONFIRM_S:g} s to stop the run{not_kept(self.progress)}"
            self.notify(said, timeout=STOP_CONFIRM_S)
            return
        self._stop_asked = -STOP_CONFIRM_S
        self.ask_source(self.source.stop)
        self.app.clear_notifications()  # "press S again …" stayed over the stopped run
        self.notify("asked the run to stop; finished epochs stay saved", timeout=5)

    def action_save(self) -> None:
        self._save_now()

    @work(thread=True, group="save", exit_on_error=False)
    def _save_now(self) -> None:
        """The write (with fsync) runs off the UI thread; the trainer serialises it with its own saves."""
        text, severity = save_words(self.source.save_now)
        self.app.call_from_thread(self.notify, text, severity=severity, timeout=10 if severity == "error" else 6)

    # -- plot controls (each plot remembers its own in plots.json) -----------------------------

    def action_plots_log(self) -> None:
        self.plots.toggle_log()

    def action_error_view(self) -> None:
        self.plots.toggle_error_view()

    def action_smoothing(self, step: int) -> None:
        weight = self.plots.step_smoothing(step)
        self.notify(f"batch-loss smoothing {weight:.2f}" if weight else "batch-loss smoothing off", timeout=2)

    def action_plots_range(self) -> None:
        self.plots.cycle_range()

    def action_toggle_lr(self) -> None:
        self.plots.toggle_lr()

    # -- browsing and exploring ----------------------------------------------------------------

    def action_browse(self, delta: int) -> None:
        self.browser.move(delta)

    def action_browse_to(self, position: int) -> None:
        self.browser.move_to(position if position >= 0 else self.browser.view_size - 1)

    def action_toggle_wrong(self) -> None:
        self.browser.toggle_wrong()
        if not self.browser.view_size:
            self.notify(self.browser.empty_hint, timeout=3)

    def action_order(self, step: int) -> None:
        cell = self.browser.spec.cell
        self.browser.step_order(step)
        if cell is not None:  # the cell is an order of its own (most confident first): say it went
            self.notify(f"the {cell[0]}→{cell[1]} cell gave way to this order of all digits; x picks a cell", timeout=4)

    def action_digit(self, digit: int) -> None:
        self.browser.show_digit(digit)

    @property
    def opened_over_another(self) -> bool:
        """Opened from the workspace (or any screen below): esc can go back to it."""
        return self.app.screen_stack[0] is not self

    def action_clear_filters(self) -> None:
        """Esc clears the browser's filters; with none, it goes back (to the workspace it came from)."""
        if not self.browser.clear_filters() and self.opened_over_another and self._may_leave():
            self.app.pop_screen()

    def _may_leave(self) -> bool:
        """Leaving stops a run this process trains (it closes with its screen): where it has begun
        and not ended, esc is asked twice within STOP_CONFIRM_S, as S is. One esc threw away a
        run started with the workspace's `n`, with the epoch in progress."""
        if not (self.capabilities.local and self.started and self.state not in ENDED):
            return True
        now = time.monotonic()
        if now - self._leave_asked <= STOP_CONFIRM_S:
            return True
        self._leave_asked = now
        said = f"press esc again within {STOP_CONFIRM_S:g} s to stop training and go back{not_kept(self.progress)}"
        self.notify(said, timeout=STOP_CONFIRM_S)
        return False

    def action_back(self) -> None:
        self.action_clear_filters()  # filters first, as esc does on every dashboard

    def action_open_runs(self) -> None:
        """The workspace over the folder holding this run (its siblings, to compare)."""
        if self.source.run_dir is None:
            self.notify("this run keeps no run folder", timeout=3)
            return
        from mnist_tui.tui.screens.workspace import WorkspaceScreen

        run_dir = Path(self.source.run_dir).resolve()
        below = self.app.screen_stack[-2] if self.opened_over_another else None
        if isinstance(below, WorkspaceScreen) and below.root.resolve() == run_dir.parent:
            if self._may_leave():  # back to the workspace it was opened from, not a second one on top
                self.app.pop_screen()
            return
        self.app.push_screen(WorkspaceScreen(run_dir.parent, select=run_dir.name))

    def action_cycle_digit_mode(self) -> None:
        self.browser.cycle_mode()

    # -- the screens it opens, and the run's news for them ------------------------------------

    def open_screen(self, screen: Screen, callback=None) -> None:
        """Push ``screen`` as this dashboard's: the run's news reaches it."""
        self.app.push_screen(self.opened.add(screen), callback)

    # Textual calls these and then RunViewScreen's handlers of the same messages (its own state)
    def on_predictions_arrived(self, message: msg.PredictionsArrived) -> None:
        self.opened.confusion_arrived(self.app.screen_stack, message.event.confusion, message.event.epoch)

    def on_model_arrived(self, message: msg.ModelArrived) -> None:
        self.opened.model_arrived(self.app.screen_stack, message.event.epoch)

    def on_layer_stats_arrived(self, message: msg.LayerStatsArrived) -> None:
        self.opened.layer_stats_arrived(self.app.screen_stack, message.event)

    def action_draw(self) -> None:
        from mnist_tui.tui.screens.draw import DrawScreen

        drawing = DrawScreen(self.snapshot, self._model_note, self.drawing, self.inside_screen, self._no_model)
        self.open_screen(drawing, self._keep_drawing)

    def _keep_drawing(self, grid) -> None:
        self.drawing = grid

    def _model_note(self) -> str:
        return self.snapshot.label  # weights copied during an epoch say so (they were called its end)

    def action_inside(self) -> None:
        """The model view: filters, the selected digit's activations and saliency, layers, embedding."""
        index, image, label = self.browser.selected or (None, None, None)
        self.app.push_screen(self.inside_screen(image, index, label))  # inside_screen makes it this run's

    def inside_screen(self, image=None, index: int | None = None, label: int | None = None) -> ModelViewScreen:
        """The model view on ``image`` (a test digit, or a drawing: no index, no label), with this
        run's layer statistics and test digits: the draw screen's ``i`` opens it too."""
        from mnist_tui.tui.screens.model_view import ModelViewScreen

        screen = ModelViewScreen(
            self.snapshot,
            image=image,
            index=index,
            label=label,
            layer_stats=self.layer_records,
            test_images=self.browser.images,
            test_labels=self.browser.labels,
            no_model=self._no_model(),
        )
        return self.opened.add(screen)  # whoever pushes it (the draw screen's i), it is this run's view

    def action_confusion(self) -> None:
        from mnist_tui.tui.screens.confusion import ConfusionScreen

        matrix, epoch = self.confusion or (None, None)
        no_matrix = self.browser.no_digits() or self._no_model()  # a model without digits: "has no model"
        screen = ConfusionScreen(matrix, epoch, self.browser.spec.cell, no_matrix)
        self.open_screen(screen, self._browse_cell)

    def _no_model(self) -> str:
        """Why no model (nor its confusion matrix) will come: a replay's came with it or never will,
        a failed run sends none (its screens said "fills in after each epoch"); empty while one may."""
        if self.failure is not None:
            return f"the run failed ({self.failure})"
        held = self.capabilities.live or self.snapshot.ready or not self.source_done.is_set()  # (it said so of
        return "" if held else "this replay has no model"  # a replay's model until its weights were read)

    def _browse_cell(self, cell: tuple[int, int] | None) -> None:
        if cell is not None:
            self.browser.show_cell(cell)
