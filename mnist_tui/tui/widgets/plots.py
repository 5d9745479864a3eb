"""The dashboard's plots as one widget: batch loss over epochs, accuracy (or error) and loss per epoch.

It owns the three plots, feeds them, and applies the controls to all of them at once (a
range applies to every plot, so they stay in step). Each plot remembers its controls in
plots.json; plotext renders on the UI thread, so :meth:`redraw_if_dirty` redraws only the
plots that changed, and the dashboard calls it on a timer, only while it is on screen.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical

from mnist_tui.training.events import Rewound
from mnist_tui.tui.plot_settings import load_settings, next_range, update_settings
from mnist_tui.tui.widgets.epoch_plot import AccuracyPlot, EpochLossPlot
from mnist_tui.tui.widgets.live_plot import LivePlot
from mnist_tui.tui.widgets.loss_plot import BatchLossPlot

# The plots redraw when they changed, at most once per
# plot_interval(their last redraw's cost): plotext builds on the UI thread, and on 2 cores every
# UI millisecond is taken from training (two OpenMP threads wait at their barrier while one is
# preempted). Measured on 2 AMD EPYC cores at 120×40: the three plots cost ~60 ms a redraw, the
# UI thread 4.3 % of a core with plots every 3 s and 1.9 % with none; dashboard/headless
# 0.93 with stats at 2 Hz and plots at 1 Hz, 0.95-0.97 with plots every 3 s.
PLOT_SHARE = 0.01  # of one core, for the plots
MIN_PLOT_S, MAX_PLOT_S = 1.0, 8.0


def plot_interval(cost_s: float) -> float:
    """Seconds until the next plot redraw: 45 ms of plotting every 4.5 s is 1 % of a core."""
    return min(MAX_PLOT_S, max(MIN_PLOT_S, cost_s / PLOT_SHARE))


class PlotsPanel(Vertical):
    def compose(self) -> ComposeResult:
        settings = load_settings()  # the plot controls a user chose last time
        yield BatchLossPlot(id="loss-plot", settings=settings, remember=True)
        with Horizontal(id="epoch-plots"):
            yield AccuracyPlot(id="acc-plot", settings=settings, remember=True)
            yield EpochLossPlot(id="epoch-loss-plot", settings=settings, remember=True)

    @property
    def losses(self) -> BatchLossPlot:
        return self.query_one("#loss-plot", BatchLossPlot)

    @property
    def accuracy(self) -> AccuracyPlot:
        return self.query_one("#acc-plot", AccuracyPlot)

    @property
    def epoch_losses(self) -> EpochLossPlot:
        return self.query_one("#epoch-loss-plot", EpochLossPlot)

    # -- data --------------------------------------------------------------------------------

    def add_batches(self, items) -> float | None:
        """(x in epochs, loss, lr) items from the loss inbox, and its rewinds; returns the last loss."""
        last = None
        for item in items:
            if isinstance(item, Rewound):
                self.losses.drop_after(item.epoch)
                continue
            x, loss, lr = item
            self.losses.add(x, loss, lr if lr == lr else None)
            last = loss
        return last

    def withdraw_after(self, epoch: int) -> float | None:
        """The batches and steering marks past ``epoch`` go (a run stopped in the next: not kept, and
        not in its replay; a change at the epoch's end stays); the last loss left."""
        self.losses.drop_after(epoch)
        self.losses.drop_marks_after(epoch + 1e-6)
        return self.losses.raw.ys[-1] if len(self.losses.raw) else None

    def add_epoch(self, row) -> None:
        inner = row.inner_evals
        self.accuracy.add(row.epoch, 100 * row.train_acc, 100 * row.test_acc, [(e.at, 100 * e.test_acc) for e in inner])
        self.epoch_losses.add(row.epoch, row.train_loss, row.test_loss, [(e.at, e.test_loss) for e in inner])

    def mark(self, epoch: int, batch: int, batches_per_epoch: int, what: str) -> None:
        """A steering change from ``batch`` of ``epoch``; batch 0, at the epoch's end, belongs to
        what follows (a rewind to that epoch drops it)."""
        self.losses.mark(epoch + 1e-6 if batch == 0 else epoch - 1 + batch / max(batches_per_epoch, 1), what)

    def drop_marks_after(self, epoch: float) -> None:
        """The steering marks past ``epoch`` go (a rewound run; all of them, 0, when a run loads:
        its source sends the ones it keeps again)."""
        self.losses.drop_marks_after(epoch)

    def set_recorded(self, recorded: bool) -> None:
        """Whether the run recorded its batch losses (a format-1 folder did not: the plot says so)."""
        self.losses.recorded = recorded

    def redraw_if_dirty(self) -> None:
        for plot in self.query(LivePlot):
            plot.redraw_if_dirty()

    def redraw_cost(self) -> float:
        """UI-thread seconds the shown plots took at their last redraw."""
        return sum(plot.cost_s for plot in self.query(LivePlot) if plot.display)

    # -- controls ----------------------------------------------------------------------------

    def toggle_log(self) -> None:
        self.losses.toggle_log()
        self.epoch_losses.toggle_log()

    def toggle_error_view(self) -> None:
        self.accuracy.toggle_error_view()

    def step_smoothing(self, step: int) -> float:
        return self.losses.step_smoothing(step)

    def cycle_range(self) -> int:
        """The next range on every plot, saved once (each plot saving its own was three reads
        and writes of the settings file on the UI thread per key press)."""
        epochs = next_range(self.losses.range_epochs)
        for plot in self.query(LivePlot):
            plot.set_range(epochs, save=False)
        if self.losses.remember:
            update_settings(range_epochs=epochs)
        return epochs

    def toggle_lr(self) -> None:
        self.losses.toggle_lr()
