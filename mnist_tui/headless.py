"""The headless face: any run source, reported as text (rich) or as JSON lines.

On a terminal: a progress bar per epoch and a table of epochs. Piped to a file: one record
per line, never wrapped, with no trailing spaces or escape codes, so grep and log parsers
read it. ``--log-format json``: one JSON object per event, for machines.
"""

from __future__ import annotations

import contextlib
import errno
import signal
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from mnist_tui.errors import one_line
from mnist_tui.headless_json import JsonReporter, epochs_before
from mnist_tui.headless_output import PipeConsole, drop_output, one_terminal, stop_live
from mnist_tui.insight.layer_records import LayerStatsRecord
from mnist_tui.plan import Plan
from mnist_tui.sources.base import RunSource
from mnist_tui.sources.kept import what_was_kept
from mnist_tui.stopping import StopOnSignal
from mnist_tui.training.events import (
    BatchEnd,
    DataReady,
    EpochRecord,
    Event,
    Failed,
    Finished,
    ModelWeights,
    Notice,
    PlanChanged,
    Predictions,
    Rewound,
    StateChanged,
    Steered,
)
from mnist_tui.words import inner_text, reached_text, rewound_text


def as_written(text: str) -> str:
    """Text naming a folder, for a rich line: no markup (``a[red]b`` lost its ``[red]``, and a stop
    line named ``--resume runs/ab``) and no escape sequence for the terminal."""
    return escape(one_line(text))


class RichReporter:
    """Turns events into text: progress bars and a table on a terminal, plain lines otherwise."""

    def __init__(self, run_dir: Any = None, console: Console | None = None) -> None:
        self.console = console or PipeConsole(highlight=False, soft_wrap=True)
        self.lines = not self.console.is_terminal  # piped: one record per line, no live display
        self.run_dir = run_dir
        self.progress = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}/{task.fields[epochs]}[/]{task.fields[phase]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}"),
            TextColumn("{task.fields[rate]:,.0f} samples/s"),
            TimeRemainingColumn(),
            TextColumn("[dim]left in epoch"),  # a follower's dashboard beside it shows the run's ETA
            console=self.console,
            transient=True,
            disable=self.lines,
        )
        self.table = _results_table()
        self.task: Any = None
        self.dataset = "?"
        self.plan = Plan()  # sprint's: 3 epochs, of which the last half
        self.recorded_through = 0  # the last epoch a resumed or recorded run had finished before
        self.epochs_done = 0
        self.state = ""
        self.earlier: list[EpochRecord] = []  # a replayed or resumed run's rows not yet said (piped)
        self.told_end: str | None = None  # a followed run's "lost"/"failed" reason, said here

    def say(self, text: str, command: bool = False) -> None:
        """Terminal lines wrap between words (it cut "17,767" in two); a command's stays one to copy."""
        self.console.print(text, soft_wrap=self.lines or command)

    def __call__(self, event: Event) -> None:
        self.say_earlier(epochs_before(event))
        match event:
            case BatchEnd():
                self._batch(event)
            case EpochRecord():
                self._epoch(event)
            case DataReady():
                self._ready(event)
            case PlanChanged(epochs=epochs):
                self.plan = self.plan.extended_to(epochs, self.epochs_done)  # epochs added are whole ones
            case Steered(what=what, epoch=epoch, batch=batch):
                self.say(f"steered: {what} (epoch {epoch}, batch {batch})" if batch else f"steered: {what}")
            case Notice(text=text):
                self.say(f"[yellow]note:[/] {escape(text)}")
            case Rewound(epoch=epoch):
                if self.task is not None:  # the killed attempt's bar: the new one starts at batch 1
                    self.progress.remove_task(self.task)
                    self.task = None
                self.recorded_through = min(self.recorded_through, epoch)  # epochs past it train again
                self.say(rewound_text(epoch))
            case StateChanged(state="lost" | "failed" as end, detail=detail):  # an end, as Finished is
                self._show_table()  # the table first
                self.say(f"{end}: {escape(detail)}" if detail else end)  # a reason is no markup
                self.told_end = detail
            case StateChanged(state=state, detail=detail) if state in ("paused", "waiting") or (
                state == "training" and self.state == "paused"
            ):
                self.state = state
                self.say(f"{'resumed' if state == 'training' else state}{': ' + escape(detail) if detail else ''}")
            case Finished():
                self._finished(event)
            case Failed() | StateChanged() | ModelWeights() | Predictions() | LayerStatsRecord():
                pass  # a failure is the caller's one line on stderr; weights and predictions are for the dashboard

    def _ready(self, e: DataReady) -> None:
        self.dataset, self.plan = e.dataset, Plan.of(e.epochs, e.settings, e.history, e.train_size)
        self.recorded_through = e.history[-1].epoch if e.history else 0
        if e.notice:
            self.say(f"[yellow]note:[/] {escape(e.notice)}")  # a damaged row's text is no markup
        run_dir = as_written(str(self.run_dir)) if self.run_dir else "(not saved)"
        ranks = f" · {e.world_size} processes" if e.world_size > 1 else ""
        known = e.train_size or e.test_size  # a replay without its digits knows no sizes: not "0 train"
        sizes = f" ({e.train_size:,} train / {e.test_size:,} test)" if known else ""
        self.say(
            f"[bold]mnist-tui[/] · {e.dataset}{sizes} · "
            f"device {e.device} · {e.precision}{ranks} · {e.parameters:,} parameters · run folder {run_dir}"
        )
        if e.history:  # said before their rows (it came after them, as if of what follows)
            done = e.history[-1].epoch
            heading = f"epochs 1-{done}, trained earlier:" if done > 1 else "epoch 1, trained earlier:"
            self.say(heading if self.lines else f"{heading} in the table at the end")  # else nothing came under it
        for row in e.history:
            self._add_row(row)
        if self.lines:  # on a terminal the table at the end shows them
            self.earlier = list(e.history)  # said with the run's steering in between, in the order it came
        self.progress.start()

    def say_earlier(self, before: float = float("inf")) -> None:
        """The earlier epochs' lines that come before an event at ``before`` (see
        :func:`~mnist_tui.headless_json.epochs_before`): a replay's recorded steering follows its
        DataReady, and each change was said below every row (lr ×2 in epoch 1 under epoch 8's
        line). With no argument, all that are left (the source ended without another event)."""
        while self.earlier and self.earlier[0].epoch < before:
            self.say(self._epoch_line(self.earlier.pop(0)))

    def _batch(self, e: BatchEnd) -> None:
        if e.epoch <= self.recorded_through:  # a finished epoch's batches, sent again for the plots: its
            return  # bar showed "epoch 1/3 testing… 20/20" for seconds, as if the epoch ran again
        # the epoch's batches are done and its row is not: the test set is being evaluated
        phase = " testing…" if e.batch >= e.batches_per_epoch else ""
        fields = dict(
            epoch=e.epoch, epochs=self.plan.of_epoch(e.epoch), loss=e.losses[-1], rate=e.samples_per_s, phase=phase
        )
        if self.task is not None and self.progress.tasks[-1].fields["epoch"] != e.epoch:
            # a resumed run's earlier epoch's batches come again first: its bar had reached its end,
            # and the next epoch's showed "0:00:00" left throughout
            self.progress.remove_task(self.task)
            self.task = None
        if self.task is None:
            self.task = self.progress.add_task("train", total=e.batches_per_epoch, **fields)
        self.progress.update(self.task, completed=e.batch, **fields)

    def _epoch(self, e: EpochRecord) -> None:
        if self.task is not None:
            self.progress.remove_task(self.task)
            self.task = None
        self._add_row(e)
        self.say(self._epoch_line(e))

    def _epoch_line(self, e: EpochRecord) -> str:
        return (
            f"epoch {e.epoch}/{self.plan.of_epoch(e.epoch)}: train loss {e.train_loss:.4f} acc {e.train_acc:.2%} · "
            f"test loss {e.test_loss:.4f} acc {e.test_acc:.2%}{inner_text(e)} · {e.seconds:.1f}s · "
            f"{e.samples_per_s:,.0f} samples/s"
        )

    def _show_table(self) -> None:
        stop_live(self.progress)
        if self.table.row_count and not self.lines:  # piped, each row was a line already
            self.console.print(self.table)

    def _finished(self, e: Finished) -> None:
        self._show_table()
        best = f"{e.best_test_acc:.2%}" if e.best_test_acc is not None else "n/a"
        if e.still:  # a replay of a run another process still writes: the run so far
            where = f"--follow {as_written(str(self.run_dir))} shows it live"
            done = f"{e.epochs_done} of {self.plan} so far on {self.dataset} (still {e.still} in another process"
            return self.say(f"{done}: {where}); best test accuracy {best}", command=True)
        reached = f"; {reached_text(e.reached)}" if e.reached else ""  # the sprint's goal: "99 % at epoch 2, after…"
        trained = f"{'stopped' if e.stopped else 'finished'} after {self.plan.trained(e.epochs_done)}"
        self.say(f"{trained} on {self.dataset}; best test accuracy {best}{reached}")

    def _add_row(self, row: EpochRecord) -> None:
        self.epochs_done = max(self.epochs_done, row.epoch)
        self.table.add_row(
            str(row.epoch),
            f"{row.train_loss:.4f}",
            f"{row.train_acc:.2%}",
            f"{row.test_loss:.4f}",
            f"{row.test_acc:.2%}",
            f"{row.seconds:.1f}",
            f"{row.samples_per_s:,.0f}",
        )


def _results_table() -> Table:
    table = Table(title="epochs")
    for name in ("epoch", "train loss", "train acc", "test loss", "test acc", "seconds", "samples/s"):
        table.add_column(name, justify="right")
    return table


def _closed_by(exc: OSError) -> int:
    """The signal that stands for an output closed under a write (``| head``: SIGPIPE, a closed
    terminal: SIGHUP), its output pointed at /dev/null from here on; any other error is raised."""
    why = errno.EPIPE if isinstance(exc, BrokenPipeError) else exc.errno  # Rich's has no errno
    closed = {errno.EPIPE: signal.SIGPIPE, errno.EIO: signal.SIGHUP, errno.ENXIO: signal.SIGHUP}
    if why not in closed:
        raise exc
    drop_output(terminal=closed[why] == signal.SIGHUP)
    return closed[why]


def run_headless(source: RunSource, console: Console | None = None, log_format: str = "text", quiet=False) -> int:
    """Report ``source`` until it ends. Exit code: 0 done, 2 bad input, 1 failure, 128+N on signal N.

    A failure is one line on stderr (``mnist-tui: error: ...``), like every other error.
    ``quiet``: report nothing (the ranks of a torchrun job other than rank 0).
    """
    from mnist_tui.errors import UserError

    text = RichReporter(source.run_dir, console)
    reporter = JsonReporter() if log_format == "json" else text
    failures: list[Failed] = []
    output_closed: int | None = None  # SIGPIPE: a closed pipe (`| head`); SIGHUP: a closed terminal
    planned: int | None = None

    def listen(event: Event) -> None:
        nonlocal output_closed, planned
        match event:
            case Failed():
                stop_live(reporter.progress)
                failures.append(event)
            case DataReady(epochs=epochs) | PlanChanged(epochs=epochs):
                planned = epochs
        stopper.observe(event)
        if quiet or output_closed:
            return
        try:
            reporter(event)
        except OSError as exc:  # `| head`, or the terminal closed: stop as on SIGHUP, keeping what is saved
            output_closed = _closed_by(exc)  # a closed terminal's EIO came before its SIGHUP: the run "failed"
            source.close()

    with StopOnSignal(source, quiet) as stopper:
        try:
            result = source.run(listen)
        finally:  # even on a second Ctrl-C: give the terminal its cursor back
            try:
                stop_live(reporter.progress)
            except OSError as exc:  # its last refresh met a terminal closed by the SIGHUP that stopped
                output_closed = _closed_by(exc)  # it: this EIO ended as "error: Input/output error", exit 2
    if not quiet and not output_closed:  # a follower closed before any later event: its earlier epochs
        with contextlib.suppress(OSError):  # still held (piped) were never said
            reporter.say_earlier()
    if output_closed:  # a follower or a replay only stops showing the run; a finished run is not "stopped"
        stopped = source.capabilities.save and result.stopped
        kept = what_was_kept(source, result.epochs_done, planned) if stopped else None
        said = f", so the run stopped{f'; {kept}' if kept else ''}" if stopped else ""
        if source.capabilities.save and not result.stopped and result.error is None and result.epochs_done:
            said = "; the run had finished"  # (exit 141 all the same: its output was cut)
        print(f"mnist-tui: the output was closed{said}", file=sys.stderr)  # to /dev/null if it was the terminal
        return 128 + output_closed
    closing = contextlib.suppress(OSError)  # a terminal closed by the signal that stopped the run hears nothing
    if not quiet and (failures or result.error is not None):
        message = failures[0].message if failures else str(result.error)
        # a follower's "lost: …" on the terminal, and then the same as "error: …" under it
        said = reporter is text and text.told_end == message and one_terminal(text.console.file, sys.stderr)
        with closing:
            if not said:
                print(f"mnist-tui: error: {one_line(message)}", file=sys.stderr)
    stopped_here = source.capabilities.save and result.stopped and result.error is None  # also by a follower's S S
    if stopper.exit_code is not None or stopped_here:
        kept = what_was_kept(source, result.epochs_done, planned)
        if kept and not quiet:
            with closing:
                if log_format == "json":  # stdout stays JSON lines only
                    print(f"mnist-tui: {kept}", file=sys.stderr)
                else:
                    text.say(as_written(kept))
    if stopper.exit_code is not None:
        return stopper.exit_code
    if result.error is not None:
        return 2 if isinstance(result.error, UserError) else 1
    return 0
