"""The trainer: one loop, reported as plain events, steered by a :class:`TrainingControl`.

The dashboard runs :meth:`Trainer.run` in a worker thread, the headless command in the main
thread (:mod:`mnist_tui.sources.training` makes it a run source). With a run folder, every event
passes through a :class:`RunFolderWriter` first: a follower in another process sees it too.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import torch

from mnist_tui.config import Config
from mnist_tui.data import Datasets, load_datasets
from mnist_tui.insight.layer_stats import epoch_layer_stats, weights_copy
from mnist_tui.plan import Plan
from mnist_tui.sysstats import SystemSampler
from mnist_tui.training.allocator import keep_freed_memory
from mnist_tui.training.build import make_ema, make_model, make_optimizer, one_cycle, place_data
from mnist_tui.training.control import TrainingControl
from mnist_tui.training.device import choose_device, choose_precision
from mnist_tui.training.distributed import World
from mnist_tui.training.events import (
    BatchEnd,
    Failed,
    Finished,
    Listener,
    Notice,
    PlanChanged,
    RunResult,
    StateChanged,
    Steered,
)
from mnist_tui.training.guards import DivergenceGuard
from mnist_tui.training.reports import ModelReports, epoch_record, inner_tests_capped, ready_event, test_inside
from mnist_tui.training.resume import (
    as_it_was,
    checkpoint_state,
    failure_message,
    leave_untrained_folder,
    restore,
    saved_reports,
    settings_changed,
)
from mnist_tui.training.saving import CheckpointKeeper
from mnist_tui.training.steps import EpochRun, choose_step, evaluate, release, train_epoch
from mnist_tui.training.warm_up import wants_warm_up, warm_up


class Trainer:
    def __init__(
        self,
        config: Config,
        listener: Listener,
        control: TrainingControl | None = None,
        resume_state: dict[str, Any] | None = None,
        datasets: Datasets | None = None,
        world: World | None = None,
        logs_from: Path | None = None,
    ) -> None:
        """``logs_from``: the run folder a resumed checkpoint came from, where it is not ``config.run_dir``."""
        self.config = config
        self.logs_from = logs_from
        self.face = listener  # the face alone: history replayed from disk must not be written again
        self.listener = listener
        self.control = control or TrainingControl()
        self.resume_state = resume_state
        self.world = world or World()
        self._datasets = datasets
        self.result = RunResult()
        self.keeper = CheckpointKeeper(config.run_dir, self.world.is_main)
        self.guard = DivergenceGuard(lambda: self.control.lr_scale)
        self.restored_ema_steps = 0  # set from a checkpoint (resume.py) before the epoch run exists
        self.epoch_run = None
        self.finished = False  # ran its whole plan: add_epochs can continue it from saved_state
        self.writer = None
        self.trained_here = False  # a batch was trained by this process (else its new folder goes at the end)
        self.held: list[Steered] = []  # a plan change (and what came after it) until a batch trains
        self.announced = 0  # a plan asked and shown before it trains (see _emit_checked)
        self.system: SystemSampler | None = None  # made when the run starts: CPU % counts from there

    def run(self) -> RunResult:
        """Train to the end, until stopped, or until an error (reported as :class:`Failed`)."""
        try:
            self.listener(StateChanged("loading", "loading torch and the data"))
            self._setup()  # first: a run that cannot start (no data, a bad checkpoint) leaves its folder as it was
            self._open_run_folder()
            self._train()
        except Exception as exc:  # the worker must never die silently: every failure is an event
            self.result.error = exc
            message = failure_message(exc, self.world, self.keeper.written_epoch, self.config.run_dir)
            self.listener(Failed(message, self.result.epochs_done))
        finally:
            if self.epoch_run is not None:
                release(self.epoch_run)  # now, not when the garbage collector runs
            if self.writer is not None:
                self.writer.close()
            leave_untrained_folder(self)
        return self.result

    def _open_run_folder(self) -> None:
        if self.config.run_dir is None or not self.world.is_main:
            return
        from mnist_tui.runfolder.writer import RunFolderWriter

        done = int(self.resume_state["epoch"]) if self.resume_state is not None else 0
        cfg = self.config
        writer = RunFolderWriter(cfg.run_dir, cfg.to_dict(), self.control, self.face, self.world.world_size)
        writer.open(epochs_done=done, logs_from=self.logs_from)  # UserError: cannot be written (none is closed)
        self.writer = self.listener = writer

    # -- set-up ---------------------------------------------------------------------------

    def _setup(self) -> None:
        cfg, world = self.config, self.world
        torch.manual_seed(cfg.seed)
        self.device = world.device(choose_device(cfg.device))
        self.precision = choose_precision(cfg.precision, self.device)
        if self.device.type == "cpu":
            keep_freed_memory()  # batches over 512 otherwise fault in fresh pages every step
        data = self._datasets or load_datasets(cfg.dataset, cfg.data_dir, cfg.seed, cfg.download)
        self.data = data.limited(cfg.limit_train)
        self.train_x, self.train_y, self.test_x, self.test_y = place_data(self.data, self.device)
        self.model = make_model(cfg.conv_dropout, cfg.fc_dropout, self.device)
        self.optimizer = make_optimizer(self.model, cfg.lr, self.device)
        self.batch_size = world.batch_size(cfg.batch_size)
        shard = len(world.shard(torch.arange(len(self.train_y))))
        self.batches = (shard + self.batch_size - 1) // self.batch_size
        self.scheduler = self.make_scheduler(cfg.epochs)
        self.shuffle = torch.Generator().manual_seed(cfg.seed)
        self.ema = make_ema(self.model, cfg.ema_decay)  # --recipe sprint: the model that is evaluated
        self.reports = ModelReports(
            lambda event: self.listener(event),  # the run folder's writer, once it is open
            lambda: self.evaluated,
            self.test_x,
            self.test_y,
            cfg.eval_batch_size,
            self.world.is_main,
        )
        self.start_epoch, self.history = 1, []
        if self.resume_state is not None:
            restore(self, self.resume_state)
        self.result.history = self.history

    def last_epoch_samples(self, n: int) -> int:
        """Samples of the plan's last epoch (all of them unless the recipe plans, e.g., 2.5 epochs)."""
        return max(1, round(self.config.last_epoch_fraction * n))

    def make_scheduler(self, epochs: int, done_steps: int = 0):
        if self.config.schedule != "onecycle":
            return None
        shard = len(self.world.shard(torch.arange(self.last_epoch_samples(len(self.train_y)))))
        last = (shard + self.batch_size - 1) // self.batch_size
        return one_cycle(self.optimizer, self.config.lr, (epochs - 1) * self.batches + last - done_steps)

    # -- the run --------------------------------------------------------------------------

    def _train(self) -> None:
        cfg, world = self.config, self.world
        self.listener(ready_event(self))
        if self.resume_state is not None and (changed := settings_changed(self.resume_state.get("config") or {}, cfg)):
            self.listener(Notice(changed))
        for report in saved_reports(self.logs_from or cfg.run_dir, self.start_epoch - 1):
            self.face(report)  # the finished epochs' batch losses and layer statistics (already on disk)
        if self.history:  # a resumed run shows its model's predictions before training on
            self.reports.after_epoch(self.start_epoch - 1)
        epoch_run = EpochRun(
            world.wrap(self.model, self.device), self.optimizer, self.scheduler, self.train_x, self.train_y,
            self.batch_size, self.precision, self.control, self._emit_checked, world=world, base_lr=cfg.lr,
            ema=(list(self.ema.parameters()), list(self.model.parameters())) if self.ema is not None else None,
            ema_decay=cfg.ema_decay, ema_steps=self.ema_steps,
            applied_scale=self.control.lr_scale,  # a resumed run's steering is in force, not news
        )  # fmt: skip
        choose_step(epoch_run, cfg.cuda_graphs, cfg.split_batch, cfg.share_cores)
        self.epoch_run = epoch_run  # its ema_steps counts the averaging steps (checkpointed)
        # A held run waits here for space (or a follower's) and says "training" once it goes (after the
        # EpochRun: a scale steered while held is news to it). A plan asked while it loaded is said first.
        self._plan(self.start_epoch - 1)  # else `a` then space on a finished run showed "3/3", 100 %
        if self.control.wait_while_paused(on_pause=lambda: self.listener(StateChanged("paused"))):
            self.listener(StateChanged("training"))
        to_train = not self.control.stopped and self.start_epoch <= (self.control.target_epochs or cfg.epochs)
        if to_train and wants_warm_up(epoch_run):  # CUDA: its libraries start here, not in epoch 1's clock
            self.listener(Notice(f"CUDA set-up before the training clock: {warm_up(epoch_run):.2f} s"))
        self.system = SystemSampler()  # CPU % per epoch counts from here
        if capped := inner_tests_capped(self):
            self.listener(Notice(capped))
        epoch = self.start_epoch
        while epoch <= self._plan(epoch - 1):
            order = torch.randperm(len(self.train_y), generator=self.shuffle)
            if epoch == self.config.epochs:  # the whole permutation is drawn either way: same random stream
                order = order[: self.last_epoch_samples(len(order))]
            start_weights = weights_copy(self.model)  # 4 small clones: the epoch's update/weight ratio
            shard = world.shard(order).to(self.device, non_blocking=True)
            tests = test_inside(self, epoch_run, len(shard))  # the epoch's tests inside it
            stats = train_epoch(epoch_run, epoch, shard)
            if stats is None:
                self.result.stopped = True
                break
            self._finish_epoch(epoch, stats, start_weights, tests.take())
            stopped, _ = self.world.agree(self.control.stopped, self.control.lr_scale, self.device)  # every rank
            if stopped:  # (rank 0 alone broke here, and the others waited in the next epoch's first all-reduce)
                self.result.stopped = epoch < self.config.epochs
                break
            epoch += 1
        self.finished = not self.result.stopped and self.result.epochs_done > 0
        if not self.trained_here and self.resume_state is not None:
            as_it_was(self)
        self.listener(Finished.of(self.history, self.result.epochs_done, self.result.stopped))

    @property
    def evaluated(self):
        """The model that is evaluated, drawn with and saved for replay: the EMA when there is one."""
        return self.ema if self.ema is not None else self.model

    @property
    def ema_steps(self) -> int:
        return self.epoch_run.ema_steps if self.epoch_run is not None else self.restored_ema_steps

    def _plan(self, done: int) -> int:
        """The epochs to train in all, taking a new plan (`a`, a follower's request) at this epoch
        boundary: one-cycle gets a fresh cycle for the epochs left, as a longer resume does."""
        wanted = self.control.target_epochs or self.config.epochs
        wanted = self.world.from_main(wanted, self.device) if self.world.distributed else wanted
        old = self.config.epochs
        if wanted == old or wanted <= done:
            return old
        # as the faces read it: a resumed sprint's half epoch 3 is in its rows, not its config
        before = Plan.planned(old, self.config.last_epoch_fraction, self.history, len(self.train_y))
        self.config = self.config.with_epochs(wanted)
        if self.scheduler is not None:
            self.scheduler = self.epoch_run.scheduler = self.make_scheduler(wanted, done * self.batches)
        if wanted != self.announced:  # shown when it was asked, as status.json said it
            self.listener(PlanChanged(wanted))
        self.announced = 0
        scale = self.epoch_run.applied_scale  # in force: a `+` asked, not yet taken, is its own row
        # told once a batch trains under it: `a` then S S on a finished run left its mark on the plot
        self.held.append(Steered(done, 0, before.change_to(wanted, done), scale, wanted, time.time()))
        return wanted

    def _finish_epoch(self, epoch: int, stats, start_weights, inner_tests) -> None:
        """Evaluate (rank 0), save, report. Other ranks only keep count."""
        self.guard.check_epoch(epoch, stats.loss)
        if not self.world.is_main:
            self.result.epochs_done = epoch
            return
        layers = epoch_layer_stats(epoch, self.model, start_weights)  # .grad still holds the last step's
        started = time.perf_counter()
        test = evaluate(self.evaluated, self.test_x, self.test_y, self.config.eval_batch_size)
        self.guard.check_test_loss(epoch, test.loss)
        inner, inner_s = inner_tests  # (the tests, their seconds)
        record = epoch_record(self, epoch, stats, test, time.perf_counter() - started + inner_s, inner)
        self.history.append(record)
        self.listener(layers)  # before the checkpoint: a kill between them lost it, a resume going on past it
        if self.config.run_dir is not None:
            self.keeper.keep(epoch, checkpoint_state(self, epoch))
        self.result.epochs_done = epoch  # once evaluated and saved: Failed counted an epoch it had not kept
        self.listener(record)
        self.reports.after_epoch(epoch, test)

    def _emit_checked(self, event) -> None:
        """Batch reports carry each loss read back once: checked there, at no extra sync. An lr change
        is recorded with the plan in force; after a plan change, held with it (see :meth:`_plan`)."""
        match event:
            case Steered(epochs=0):
                event = dataclasses.replace(event, epochs=self.config.epochs)
            case BatchEnd(epoch=epoch):
                for change in self.held:  # in the order they came, before the first batch under them
                    self.listener(change)
                self.held = []
                # A new plan (`a`, a follower's) trains from this epoch's end but is the plan from now:
                # status.json said "1/9" at once, this run's faces "1/4" to the epoch's end. Not in a
                # partial last epoch: the faces count epochs added before it as making it whole.
                wanted = self.control.target_epochs
                partial = epoch == self.config.epochs and self.config.last_epoch_fraction < 1
                if wanted and not partial and wanted > epoch and wanted not in (self.config.epochs, self.announced):
                    self.announced = wanted
                    self.listener(PlanChanged(wanted))
                self.trained_here = True
                self.reports.on_batch(event)
                self.guard.check_batches(event)
                if stalled := self.guard.stalled(event):
                    self.listener(Notice(stalled))
        if self.held and isinstance(event, Steered):  # `a`, `+`, space, S S: both stayed on the plot
            self.held.append(event)
        else:
            self.listener(event)

    @property
    def saved_state(self) -> tuple[int, bytes] | None:
        """(epoch, checkpoint bytes) of the last finished epoch, kept in memory."""
        return self.keeper.saved

    def save_now(self) -> tuple[int, Path] | None:
        """From any thread, at any moment (also paused): write the last finished epoch's checkpoint
        (never an epoch in progress: resume continues from the next one). None before epoch 1 ends."""
        return self.keeper.save_now()
