"""Where the run is and how long it has to go: pure bookkeeping fed by trainer events."""

from __future__ import annotations


class RunProgress:
    def __init__(self, epochs: int) -> None:
        self.epochs = epochs
        self.epoch = 0
        self.batch = 0
        self.batches_per_epoch = 0
        self.train_size = 0
        self.samples_seen = 0  # in the current epoch
        self.samples_per_s: float | None = None
        self.last_loss: float | None = None
        self.best_acc: float | None = None
        self.best_epoch: int | None = None
        self.last_test_loss: float | None = None
        self.epochs_done = 0
        self.epoch_seconds: dict[int, float] = {}  # training time of each finished epoch

    def on_loaded(self, e) -> None:
        """From DataReady."""
        self.epochs = max(e.epochs, e.start_epoch - 1)
        self.batches_per_epoch = e.batches_per_epoch
        self.train_size = e.train_size
        self.epochs_done = e.start_epoch - 1
        self.epoch = min(e.start_epoch, self.epochs)

    def on_batch(self, e) -> None:
        """From BatchEnd."""
        self.epoch, self.batch = e.epoch, e.batch
        self.batches_per_epoch = e.batches_per_epoch
        self.samples_seen, self.samples_per_s = e.samples_seen, e.samples_per_s

    def on_epoch(self, epoch: int, test_acc: float, test_loss: float, seconds: float = 0.0) -> None:
        self.epoch_seconds[epoch] = seconds  # a repeated epoch (a resumed run) replaces its row
        self.epochs_done = max(self.epochs_done, epoch)
        self.last_test_loss = test_loss
        if self.best_acc is None or test_acc > self.best_acc:
            self.best_acc, self.best_epoch = test_acc, epoch

    @property
    def training_seconds(self) -> float:
        return sum(self.epoch_seconds.values())

    @property
    def run_batches(self) -> int:
        return self.epochs * self.batches_per_epoch

    @property
    def run_batches_done(self) -> int:
        current = self.batch if self.epoch > self.epochs_done else 0
        return self.epochs_done * self.batches_per_epoch + current

    def eta_seconds(self) -> float | None:
        """Training time left at the current speed (pauses and evaluation not counted)."""
        if not self.samples_per_s or not self.train_size:
            return None
        in_epoch = self.train_size - self.samples_seen if self.epoch > self.epochs_done else 0
        later = (self.epochs - max(self.epoch, self.epochs_done)) * self.train_size
        return (in_epoch + later) / self.samples_per_s
