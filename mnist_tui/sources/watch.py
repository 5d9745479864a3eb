"""One polling step of a follower: what changed in the run folder since the last, as events.

New lines of ``batches.jsonl`` and ``metrics.jsonl`` become the trainer's own events (each
epoch's row after its batches and before the next epoch's), a new ``checkpoint.pt`` is
evaluated for predictions and drawing (paced; on one thread in a --follow process), and ``status.json`` gives the
state, or ``lost`` once its heartbeat is stale and its process gone. Without a status to read, a
folder whose writer is gone (:mod:`mnist_tui.runfolder.liveness`) ends as a replay judges it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from mnist_tui.config import Config
from mnist_tui.errors import UserError
from mnist_tui.runfolder.layers_log import read_layer_stats
from mnist_tui.runfolder.layout import (
    BATCHES_NAME,
    CHECKPOINT_NAME,
    LAYERS_NAME,
    METRICS_NAME,
    STATUS_NAME,
    STEERING_NAME,
    RunInfo,
    RunStatus,
)
from mnist_tui.runfolder.liveness import writer_gone
from mnist_tui.runfolder.reader import (
    BatchTail,
    Rows,
    effective_state,
    holds_results,
    read_info,
    read_metrics,
    read_rows,
    read_status,
)
from mnist_tui.schema import RecordError
from mnist_tui.sources.follow_end import damage_note, gone_without_status, judged_state, wrote_every_epoch
from mnist_tui.sources.log_reads import LogReads
from mnist_tui.sources.recorded import checkpoint_events
from mnist_tui.training.events import (
    ENDED,
    BatchEnd,
    Finished,
    Listener,
    Notice,
    PlanChanged,
    Rewound,
    StateChanged,
    Steered,
)
from mnist_tui.training.guards import DivergenceGuard
from mnist_tui.training.run_order import in_run_order

GONE = "gone"  # no status.json read, and no writer left: the run ends as its folder shows it


class RunWatch:
    """What the follower has reported so far, and one polling step."""

    # A checkpoint is evaluated (10,000 digits) at most this share of the time, on one thread in a
    # --follow process: a follower beside its writer took the cores it trains on (49-55k samples/s
    # alone; 5-24k with a dashboard follower evaluating every checkpoint on torch's threads).
    EVAL_SHARE = 0.2

    def __init__(
        self,
        run_dir: Path,
        history: list,
        epochs: int,
        model_views: bool = True,
        eval_threads: int | None = None,
        writer_created: float | None = None,
    ) -> None:
        self.run_dir = run_dir
        self.model_views = model_views
        self.eval_threads = eval_threads
        self.next_eval = 0.0  # monotonic time from which the next checkpoint may be evaluated
        self.held: list[BatchEnd] = []  # batches of an epoch after one whose row is not yet read
        self.batches = BatchTail(run_dir)
        self.history = list(history)
        self.epochs = epochs
        self.state = ""
        self.message = ""
        self.logs = LogReads(run_dir)
        self.layers_epoch = 0
        # (epoch, batch, time) of each change reported; a withdrawn one stays, never to be reported again
        self.steered: set[tuple[int, int, float]] = set()
        self.steering_due: list[Steered] = []  # read, not yet reported: their batches are not
        self.reported: tuple[int, int] = (0, 0)  # (epoch, batch) of the last batch report given
        self.writer_created = writer_created  # run.json's "created": which writer's run is shown
        self.writers: set[float] = {writer_created} if writer_created is not None else set()  # all seen
        self.last_status: RunStatus | None = None  # the last status.json read whole
        self.guard = DivergenceGuard()  # a loss at chance for good is told as the trainer tells it
        self.metrics = Rows()  # metrics.jsonl as last read: a torn last line is damage once the run ended

    @property
    def epochs_done(self) -> int:
        return self.history[-1].epoch if self.history else 0

    def _info(self) -> RunInfo | None:
        try:
            return read_info(self.run_dir)
        except (RecordError, UserError):
            return None  # read again at the next poll

    def _new_writer_kept(self) -> int | None:
        """When batches.jsonl was rewritten: the epochs a new writer kept (run.json, which it writes
        first), or None when it is the writer already followed (a copy of the file, an editor)."""
        info = self._info()
        if info is None or info.created == self.writer_created:
            return None
        earlier = info.created in self.writers  # a resume that trained nothing put its folder back
        self.writer_created = info.created
        self.writers.add(info.created)
        return None if earlier else info.epochs_kept

    def step(self, listener: Listener, data, config: Config) -> bool:
        """Report what changed on disk; True once the run has ended (and all it wrote is reported)."""
        try:
            status, problem = read_status(self.run_dir) or self.last_status, None
        except (RecordError, UserError) as exc:  # damaged (or its folder removed): read again at the next
            status = self.last_status  # poll, and meanwhile the last one read ages: a dead writer is "lost"
            problem = str(exc)  # it names the file
        self.last_status = status
        # judged before the files are read: a writer killed while this step read its batches had
        # appended more, which were then told after "lost" (as if the resumed run's)
        state = effective_state(status, time.time()) if status is not None else self._without_status(listener, problem)
        if problem is not None and state == "lost" and wrote_every_epoch(self.run_dir, status.epochs):
            status, state = None, self._without_status(listener, problem)  # a clean finish, unread, was "lost"
        if status is not None and state not in ENDED:  # a live state before the batches it holds (after
            self._report_state(listener, status, state)  # them, a late follower's backlog, even an epoch's
            # row, came before "training"); an end after them, and the plan where it was
        self._read_steering(listener)  # placed among the batches below, in the run's order
        try:
            new = self.batches.read_new(self._new_writer_kept)
        except UserError as exc:  # a folder in its place: told once, read again at the next poll
            new = []
            self.logs.tell_unreadable(listener, BATCHES_NAME, exc)
        if self.batches.rewound_to is not None:  # a resume after a kill or a stop
            listener(Rewound(self.batches.rewound_to))
            kept, started = self.batches.rewound_to, self.writer_created or 0.0
            # the killed attempt's held changes past the kept epochs go (made before the new writer began)
            self.steering_due = [s for s in self.steering_due if s.kept_on_resume(kept) or s.time >= started]
            self.batches.rewound_to = None
            self.held = []  # the earlier attempt's: no row will come for them
            # a row of the killed attempt's (written before its checkpoint) is the resumed run's to give
            self.layers_epoch = min(self.layers_epoch, kept)
        self.logs.tell_skipped(listener, BATCHES_NAME, self.batches.damage)
        fresh = self.held + new
        if (metrics := self.logs.read(listener, METRICS_NAME, lambda: read_metrics(self.run_dir))) is not None:
            self.metrics = metrics
            for record in metrics.records:
                if record.epoch > self.epochs_done:
                    self._report_batches(listener, [b for b in fresh if b.epoch <= record.epoch])
                    fresh = [b for b in fresh if b.epoch > record.epoch]
                    self.history.append(record)
                    listener(record)
                    self._report_batches(listener, [])  # a change at this epoch's end
        # An epoch's row comes after its batches and before the next epoch's: a row not yet
        # written (the writer saves the checkpoint first) holds the next epoch's batches back.
        # (while metrics.jsonl cannot be read, no row comes: the batches are shown as they come)
        last = self.epochs_done + 1 if METRICS_NAME not in self.logs.unreadable else sys.maxsize
        self.held = [b for b in fresh if b.epoch > last]
        self._report_batches(listener, [b for b in fresh if b.epoch <= last])
        layers = self.logs.read(listener, LAYERS_NAME, lambda: read_layer_stats(self.run_dir))
        if layers is not None:
            for layer_record in layers.records:
                if layer_record.epoch > self.layers_epoch:
                    self.layers_epoch = layer_record.epoch
                    listener(layer_record)
        if self.model_views and time.monotonic() >= self.next_eval and self.logs.changed(CHECKPOINT_NAME):
            self._report_checkpoint(listener, data, config)
        if state in ENDED or state == GONE:  # no row is coming for held batches (a kill), nor a batch for a change
            self._report_batches(listener, self.held, every_change=True)
            self.held = []
        if status is None:
            return state == GONE and self._end_without_status(listener)
        return self._report_status(listener, status, state)

    def _without_status(self, listener: Listener, problem: str | None) -> str | None:
        """No status.json read yet (``problem``: why; None where there is none): GONE once no writer
        is left (its lock free, nothing written for a while), else None (unknown), said once."""
        if self.state in ENDED:  # judged so already: the lock is not asked again
            return GONE
        absent, problem = problem is None, problem or f"its folder has no {STATUS_NAME}"
        if writer_gone(self.run_dir, getattr(self._info(), "host", ""), time.time()):
            listener(Notice(gone_without_status(problem)))  # said once: the run ends here
            return GONE
        # a silent wait looked like a hang (a finished run's folder without one was followed in silence)
        if not self.logs.told_unreadable(STATUS_NAME) and (not absent or holds_results(self.run_dir)):
            told = f"the run's state is unknown: {problem}; following what it writes"
            self.logs.tell_once(listener, STATUS_NAME, told)
        return None

    def _end_without_status(self, listener: Listener) -> bool:
        """The end of a run whose writer left no status to read, as a replay judges its folder."""
        if self.state not in ENDED:
            self.state = judged_state(self.epochs_done, max(self.epochs, self.batches.last[0]))
            self._tell_damage(listener, None)
            listener(Finished.of(self.history, self.epochs_done, self.state == "stopped"))
        return True

    def _tell_damage(self, listener: Listener, status: RunStatus | None) -> None:
        if note := damage_note(self.run_dir, status, len(self.history), self.metrics.torn, self.metrics.repeated):
            listener(Notice(note))

    def _read_steering(self, listener: Listener) -> None:
        """New lines of steering.jsonl, held until the batches they belong among are reported."""
        steering_log = self.run_dir / STEERING_NAME
        steering = self.logs.read(listener, STEERING_NAME, lambda: read_rows(steering_log, Steered.from_json))
        for steered in steering.records if steering is not None else ():
            key = (steered.epoch, steered.batch, steered.time)
            if key not in self.steered:
                self.steered.add(key)
                self.steering_due.append(steered)

    def _came_by_now(self, steered: Steered) -> bool:
        if steered.batch:  # from that batch on: before the report holding it
            return (steered.epoch, steered.batch) <= self.reported
        return steered.epoch <= self.epochs_done  # at that epoch's end: after its row

    def _report_batches(self, listener: Listener, reports: list[BatchEnd], every_change: bool = False) -> None:
        """``reports`` with the held changes that come before or among them, in the run's order
        (a follower opened on a run said a change in epoch 1 after epoch 2's row): a change from
        batch b before the report holding b, one at an epoch's end (batch 0) after its row."""
        if reports:
            self.reported = (reports[-1].epoch, reports[-1].batch)
        due = [s for s in self.steering_due if every_change or self._came_by_now(s)]
        if due:
            self.steering_due = [s for s in self.steering_due if s not in due]
        for event in in_run_order(reports, [], due) if due else reports:
            listener(event)
            if isinstance(event, BatchEnd) and (stalled := self.guard.stalled(event)):
                listener(Notice(stalled))

    def _report_checkpoint(self, listener: Listener, data, config: Config) -> None:
        started = time.monotonic()
        events = checkpoint_events(self.run_dir, data, config, self.eval_threads)
        if events is None:
            self.logs.forget(CHECKPOINT_NAME)  # try again at the next poll
            return
        for event in events:
            listener(event)
        self.next_eval = time.monotonic() + (time.monotonic() - started) * (1 / self.EVAL_SHARE - 1)

    def _report_status(self, listener: Listener, status: RunStatus, state: str) -> bool:
        if status.epochs and status.epochs != self.epochs:
            self.epochs = status.epochs
            listener(PlanChanged(status.epochs))
        return self._report_state(listener, status, state)

    def _report_state(self, listener: Listener, status: RunStatus, state: str) -> bool:
        """A new state, said once; True once the run has ended."""
        if state == self.state:
            return state in ENDED
        self.state, self.message = state, status.message
        if state in ENDED:  # metrics.jsonl's rows as they are now: no writer will finish a torn one
            self._tell_damage(listener, status)
        if state == "lost":
            where = f"pid {status.pid} on {status.host}" if status.host else f"pid {status.pid}"
            self.message = f"the writer ({where}) stopped without a word: killed or crashed"
            if not self.run_dir.is_dir():
                self.message += f"; {self.run_dir} was removed"
            listener(StateChanged("lost", self.message))
        elif state == "failed":  # the followed run's end state, as its replay says it: this follower did not fail
            listener(StateChanged("failed", status.message or "no reason was recorded"))
        elif state in ("finished", "stopped"):
            listener(Finished.of(self.history, self.epochs_done, state == "stopped"))
        else:
            listener(StateChanged(state, status.message))
        return state in ENDED
