"""Where the run is and how long it has to go: pure bookkeeping fed by trainer events."""

from __future__ import annotations

from mnist_tui.plan import Plan
from mnist_tui.training.reached import Reached
from mnist_tui.words import counted, epochs_text, reached_text

# The speed a batch report gives is its epoch's so far, and the first batches carry the start-up
# (oneDNN builds its kernels, the caches fill): after sprint's first batch it read 371 samples/s and
# an ETA of 8:05 for a run that took 8 s. Until this share of an epoch is trained, the ETA runs on
# the speed the epoch before ended at (none in a run's first epoch: the ETA waits).
SETTLED_SHARE = 0.05
# A last epoch this far below the best is said at the end: "best 99.11% at epoch 4 … saved in
# runs/d1" read as if the 99.11 % were saved, where a run steered into a dead net kept its 11.35 %.
FELL_BY = 0.005


class RunProgress:
    def __init__(self, epochs: int) -> None:
        self.plan = Plan(epochs)
        self.epoch = 0
        self.batch = 0
        self.batches_per_epoch = 0  # the current epoch's (a plan's partial last epoch has fewer)
        self.whole_epoch_batches = 0  # a whole epoch's, as the run was loaded
        self.train_size = 0
        self.samples_seen = 0  # in the current epoch
        self.samples_per_s: float | None = None
        self.settled_rate: float | None = None  # the speed the previous epoch ended at
        self.last_loss: float | None = None
        self.best_acc: float | None = None
        self.best_epoch: float | None = None  # 1.5: a test inside epoch 2 (--tests-per-epoch)
        self.last_test_loss: float | None = None
        self.last_acc: float | None = None  # the newest epoch's: what its checkpoint holds
        self.epochs_done = 0
        self.epoch_seconds: dict[int, float] = {}  # training time of each finished epoch
        self.eval_seconds = 0.0  # the newest epoch's test set took this long (0: none yet)

    def on_loaded(self, e) -> None:
        """From DataReady."""
        self.plan = Plan.of(max(e.epochs, e.start_epoch - 1), e.settings, e.history, e.train_size)
        self.batches_per_epoch = self.whole_epoch_batches = e.batches_per_epoch
        self.train_size = e.train_size
        self.epochs_done = e.start_epoch - 1
        self.epoch = min(e.start_epoch, self.epochs)

    def on_batch(self, e) -> None:
        """From BatchEnd."""
        if e.epoch != self.epoch and self.samples_per_s and self.samples_seen >= SETTLED_SHARE * self.train_size:
            self.settled_rate = self.samples_per_s
        self.epoch, self.batch = e.epoch, e.batch
        self.batches_per_epoch = e.batches_per_epoch
        self.samples_seen, self.samples_per_s = e.samples_seen, e.samples_per_s

    def on_plan(self, epochs: int) -> None:
        """From PlanChanged: epochs added to a plan are whole ones (``Config.with_epochs``)."""
        self.plan = self.plan.extended_to(epochs, self.epochs_done)

    def on_finished(self, epochs_done: int) -> None:
        """From Finished: a run that trained past the plan known here (a PlanChanged it missed)."""
        if epochs_done > self.epochs:
            self.on_plan(epochs_done)

    def show_kept(self, epochs_done: int) -> None:
        """A stopped, lost or failed run at the end of its last whole epoch, as its folder keeps
        it: the stopped epoch's batches (its first S said they are not kept) showed as "epoch 4/8
        batch 41/59", and a writer killed while testing its last epoch as "run 100 %"."""
        if self.epoch > epochs_done:  # and of a whole epoch's batches: sprint stopped in its half epoch read "469/235"
            self.epoch, self.batch = max(epochs_done, 1), self._whole_batches if epochs_done else 0
            self.batches_per_epoch = self._whole_batches

    @property
    def epochs(self) -> int:
        return self.plan.epochs

    @property
    def epoch_part(self) -> str:
        """ " (half)" while the plan's partial last epoch trains (sprint's 2.5), else ""."""
        return self.plan.part(self.epoch)

    def trained(self, epochs_done: int) -> str:
        """ "2 epochs", or sprint's "2.5 epochs" once its half epoch is done."""
        return self.plan.trained(epochs_done)

    def on_rewound(self, epoch: int) -> None:
        """From Rewound: the run goes on from the end of ``epoch``."""
        self.epoch, self.batch, self.samples_seen = min(epoch + 1, self.epochs), 0, 0

    def on_epoch(
        self,
        epoch: int,
        test_acc: float,
        test_loss: float,
        seconds: float = 0.0,
        eval_seconds: float = 0.0,
        inner: tuple[tuple[float, float], ...] = (),
    ) -> None:
        """An epoch's row; ``inner``: its tests inside it, (place on the epoch axis, accuracy) each,
        which the best counts as every other face does (the end line, the runs table)."""
        self.epoch_seconds[epoch] = seconds  # a repeated epoch (a resumed run) replaces its row
        self.eval_seconds = eval_seconds or self.eval_seconds  # an older row has none: keep the one known
        self.epochs_done = max(self.epochs_done, epoch)
        self.last_test_loss, self.last_acc = test_loss, test_acc
        for at, acc in (*inner, (epoch, test_acc)):
            if self.best_acc is None or acc > self.best_acc:
                self.best_acc, self.best_epoch = acc, at

    def on_row(self, row) -> None:
        """An epoch's row (an :class:`~mnist_tui.training.events.EpochRecord`), its inner tests with it."""
        inner = tuple((e.at, e.test_acc) for e in row.inner_evals)
        self.on_epoch(row.epoch, row.test_acc, row.test_loss, row.seconds, row.eval_seconds, inner)

    @property
    def testing(self) -> bool:
        """The epoch's batches are all trained and its row has not come: the test set is being
        evaluated (and the checkpoint written). On a slow machine or a big test set that takes seconds."""
        return 0 < self.batches_per_epoch <= self.batch and self.epoch > self.epochs_done

    @property
    def training_seconds(self) -> float:
        return sum(self.epoch_seconds.values())

    @property
    def _whole_batches(self) -> int:
        return self.whole_epoch_batches or self.batches_per_epoch  # before a DataReady: the batches' own

    @property
    def run_batches(self) -> int:
        """The plan's batches: sprint's half last epoch counts half (its bar read 89 % for 93 %)."""
        return round(self.plan.length * self._whole_batches)

    @property
    def run_batches_done(self) -> int:
        current = self.batch if self.epoch > self.epochs_done else 0
        done = round(self.plan.trained_length(self.epochs_done) * self._whole_batches)
        return min(done + current, self.run_batches)

    def eta_seconds(self) -> float | None:
        """Time left at the current speed: the training, and each epoch's test set as long as the
        newest one took (it read "ETA 0:00" for the last epoch's 5 s of testing); pauses not counted."""
        if not self.train_size or self.epochs_done >= self.epochs:  # `a` on a finished run, loading
            return None  # its new plan: "ETA 0:00" beside the last epoch's bar, as if about to end
        settled = self.samples_seen >= SETTLED_SHARE * self.train_size
        rate = self.samples_per_s if settled else self.settled_rate
        if not rate:
            return None
        in_epoch = 0
        if self.epoch > self.epochs_done:  # the plan's partial epoch trains a share of the data
            in_epoch = max(round(self.plan.share_of(self.epoch) * self.train_size) - self.samples_seen, 0)
        later_epochs = range(max(self.epoch, self.epochs_done) + 1, self.epochs + 1)
        later = sum(self.plan.share_of(epoch) for epoch in later_epochs) * self.train_size
        return (in_epoch + later) / rate + (self.epochs - self.epochs_done) * self.eval_seconds


def run_summary(
    progress: RunProgress,
    epochs_done: int,
    run_dir,
    can_extend: bool,
    long: bool = False,
    elsewhere: bool = False,
    reached: Reached | None = None,
) -> str:
    """What happened and what next, for a finished or stopped run (short: the state line's few words).

    ``can_extend``: the run finished here and ``a`` trains it on; ``elsewhere``: said over another
    screen (the drawing, inside the network), where `a` does nothing. A run stopped before any
    epoch ended keeps nothing to replay or resume, and says so rather than offering either."""
    from mnist_tui.tui.widgets.stats import format_duration

    p = progress
    best = (
        f"best {p.best_acc:.2%} at epoch {epochs_text(p.best_epoch)}" if p.best_acc is not None else "no epoch finished"
    )
    text = f"{p.trained(epochs_done)}, {best}"
    if not long:  # the state line: the best is on the results line under it (at 80 columns it wrapped)
        return p.trained(epochs_done) if epochs_done else "no epoch finished"
    partial = p.samples_seen / p.samples_per_s if p.epoch > p.epochs_done and p.samples_per_s else 0.0
    lines = [text + f", {format_duration(p.training_seconds + partial)} of training"]
    if reached is not None:
        lines.append(reached_text(reached))
    if run_dir is not None and epochs_done:
        lines.append(f"saved in {run_dir}; replay: mnist-tui --replay {run_dir}")
        if p.best_acc is not None and p.last_acc is not None and p.best_acc - p.last_acc >= FELL_BY:
            lines.append(
                f"its checkpoint is epoch {p.epochs_done}'s ({p.last_acc:.2%}): each epoch's replaced the "
                f"one before, so the weights at epoch {epochs_text(p.best_epoch)} are not kept"
            )
        if not can_extend and epochs_done < p.epochs:
            lines.append(f"continue: mnist-tui --resume {run_dir}")
    elif run_dir is not None:
        lines.append("nothing kept: a run keeps whole epochs (checkpoints hold finished epochs)")
    if can_extend:
        lines.append("a on the dashboard (esc): train 5 more epochs" if elsewhere else "a: train 5 more epochs here")
    return "\n".join(lines)


def not_kept(p: RunProgress) -> str:
    """What a stop now throws away: the batches of the epoch in progress. Once its last batch is
    trained (its test set being evaluated) the epoch is kept: the trainer looks for a stop at
    each batch's start and then only after the epoch's checkpoint (it said "epoch 3's 30 batches
    so far are not kept" while epoch 3 was testing, and then kept epoch 3)."""
    if p.epoch <= p.epochs_done or (p.batches_per_epoch and p.batch >= p.batches_per_epoch):
        return ""
    batches = f"{counted(p.batch, 'batch', 'batches')} so far {'is' if p.batch == 1 else 'are'}"
    return f": epoch {p.epoch}'s {batches} not kept"
