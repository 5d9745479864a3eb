"""The headless face: the same trainer, reported with rich (progress bars and a results table)."""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from mnist_tui.config import Config
from mnist_tui.training.control import TrainingControl
from mnist_tui.training.events import BatchEnd, DataReady, EpochEnd, Event, Failed, Finished


class RichReporter:
    """Turns trainer events into rich output: a progress bar per epoch and a table of epochs."""

    def __init__(self, config: Config, console: Console | None = None) -> None:
        self.config = config
        self.console = console or Console(highlight=False)
        self.progress = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}/{task.fields[epochs]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}"),
            TextColumn("{task.fields[rate]:,.0f} samples/s"),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self.table = _results_table()
        self.task: Any = None
        self.dataset = "?"

    def __call__(self, event: Event) -> None:
        handler = getattr(self, f"_on_{type(event).__name__}", None)
        if handler is not None:
            handler(event)

    def _on_DataReady(self, e: DataReady) -> None:
        self.dataset = e.dataset
        if e.notice:
            self.console.print(f"[yellow]note:[/] {e.notice}")
        run_dir = self.config.run_dir or "(not saved)"
        self.console.print(
            f"[bold]mnist-tui[/] · {e.dataset} ({e.train_size:,} train / {e.test_size:,} test) · "
            f"device {e.device} · {e.precision} · {e.parameters:,} parameters · run folder {run_dir}"
        )
        for row in e.history:
            self._add_row(row)
        if e.history:
            self.console.print(f"resuming after epoch {e.start_epoch - 1}")
        self.progress.start()

    def _on_BatchEnd(self, e: BatchEnd) -> None:
        fields = dict(epoch=e.epoch, epochs=self.config.epochs, loss=e.losses[-1], rate=e.samples_per_s)
        if self.task is None:
            self.task = self.progress.add_task("train", total=e.batches_per_epoch, **fields)
        self.progress.update(self.task, completed=e.batch, **fields)

    def _on_EpochEnd(self, e: EpochEnd) -> None:
        if self.task is not None:
            self.progress.remove_task(self.task)
            self.task = None
        self._add_row(e.__dict__)
        self.console.print(
            f"epoch {e.epoch}/{e.epochs}: train loss {e.train_loss:.4f} acc {e.train_acc:.2%} · "
            f"test loss {e.test_loss:.4f} acc {e.test_acc:.2%} · {e.seconds:.1f}s · {e.samples_per_s:,.0f} samples/s"
        )

    def _on_Finished(self, e: Finished) -> None:
        self.progress.stop()
        if self.table.row_count:
            self.console.print(self.table)
        best = f"{e.best_test_acc:.2%}" if e.best_test_acc is not None else "n/a"
        state = "stopped" if e.stopped else "finished"
        self.console.print(f"{state} after {e.epochs_done} epoch(s) on {self.dataset}; best test accuracy {best}")

    def _on_Failed(self, e: Failed) -> None:
        self.progress.stop()
        self.console.print(f"[red]error:[/] {e.message}")

    def _add_row(self, row: dict[str, Any]) -> None:
        self.table.add_row(
            str(row["epoch"]),
            f"{row['train_loss']:.4f}",
            f"{row['train_acc']:.2%}",
            f"{row['test_loss']:.4f}",
            f"{row['test_acc']:.2%}",
            f"{row['seconds']:.1f}",
            f"{row['samples_per_s']:,.0f}",
        )


def _results_table() -> Table:
    table = Table(title="epochs")
    for name in ("epoch", "train loss", "train acc", "test loss", "test acc", "seconds", "samples/s"):
        table.add_column(name, justify="right")
    return table


# Ctrl-C, kill, and a closed terminal (SIGHUP) all stop at a batch boundary, keeping the last epoch.
_STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class StopOnSignal:
    """A stop signal asks the trainer to stop within one batch; a second one exits at once.

    Before training starts (torch, data, a download) nothing is at stake, so the first signal
    exits at once too. Either way the checkpoint on disk stays whole: it is only ever
    replaced atomically.
    """

    def __init__(self, control: TrainingControl) -> None:
        self.control = control
        self.signum: int | None = None
        self.training = False  # set once the data is ready (the DataReady event)
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopOnSignal:
        if threading.current_thread() is threading.main_thread():
            for signum in _STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: object) -> None:
        if self.signum is not None or not self.training:
            self.signum = signum
            raise SystemExit(128 + signum)
        self.signum = signum
        self.control.stop()

    @property
    def exit_code(self) -> int | None:
        return None if self.signum is None else 128 + self.signum


def _stop_live(progress: Progress) -> None:
    if progress.live.is_started:  # stopping one never started prints a stray blank line
        progress.stop()


def _say_what_was_kept(console: Console, config: Config, epochs_done: int) -> None:
    if config.run_dir is None:
        return
    if epochs_done:
        console.print(
            f"checkpoint of epoch {epochs_done} kept in {config.run_dir}; "
            f"continue with: mnist-tui --headless --resume {config.run_dir}",
            soft_wrap=True,  # a path to copy must not be broken across lines
        )
    else:
        console.print("no epoch finished, so nothing was saved")


def run_headless(config: Config, resume_state: dict[str, Any] | None = None, console: Console | None = None) -> int:
    """Train with rich output. Exit code: 0 done, 2 bad input, 1 failure, 130/143 on a signal.

    A failure is one line on stderr (``mnist-tui: error: ...``), like every other error.
    """
    from mnist_tui.errors import UserError
    from mnist_tui.training.loop import Trainer

    control = TrainingControl()
    reporter = RichReporter(config, console)
    failures: list[Failed] = []

    def listen(event: Event) -> None:
        if isinstance(event, Failed):
            _stop_live(reporter.progress)
            failures.append(event)
        else:
            stopper.training = stopper.training or isinstance(event, DataReady)
            reporter(event)

    with StopOnSignal(control) as stopper:
        try:
            result = Trainer(config, listen, control, resume_state=resume_state).run()
        finally:  # even on a second Ctrl-C: give the terminal its cursor back
            _stop_live(reporter.progress)
    if failures:
        print(f"mnist-tui: error: {failures[0].message}", file=sys.stderr)
    if stopper.exit_code is not None:
        _say_what_was_kept(reporter.console, config, result.epochs_done)
        return stopper.exit_code
    if result.error is not None:
        return 2 if isinstance(result.error, UserError) else 1
    return 0
