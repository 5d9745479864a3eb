"""The last finished epoch's checkpoint, frozen as bytes, and its writes.

The trainer keeps each epoch's checkpoint here at the epoch's end; :meth:`CheckpointKeeper.save_now`
writes it again from any thread (the dashboard's ``s``, also while paused), so a checkpoint
always holds whole epochs, never the half-trained weights of an epoch in progress.
"""

from __future__ import annotations

import threading
from pathlib import Path

from mnist_tui.training import checkpoint as ckpt


class CheckpointKeeper:
    def __init__(self, run_dir: Path | None, writes: bool = True) -> None:
        """``writes``: False for the ranks of a torchrun job other than 0 (rank 0 keeps the folder)."""
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.writes = writes and run_dir is not None
        self._lock = threading.Lock()  # the worker's epoch-end saves and save_now() from any thread
        self.saved: tuple[int, bytes] | None = None  # (epoch, checkpoint bytes)
        self.written_epoch: int | None = None  # the epoch of the checkpoint on disk

    def keep(self, epoch: int, state: dict) -> None:
        """Freeze this epoch's state; write it when there is a run folder."""
        data = ckpt.serialize(state)
        with self._lock:
            self.saved = (epoch, data)
            if self.writes:
                self._write()

    def restored(self, epoch: int, state: dict) -> None:
        """A resumed run: its checkpoint is the one kept (and on disk, when the folder holds it)."""
        self.saved = (epoch, ckpt.serialize(state))
        if self.run_dir is not None and (self.run_dir / ckpt.CHECKPOINT_NAME).exists():
            self.written_epoch = epoch

    def save_now(self) -> tuple[int, Path] | None:
        """Write the last finished epoch's checkpoint now; None when no epoch is done yet."""
        with self._lock:
            if self.saved is None or not self.writes:
                return None
            return self.saved[0], self._write()

    def _write(self) -> Path:
        path = self.run_dir / ckpt.CHECKPOINT_NAME
        try:
            ckpt.write_checkpoint_bytes(path, self.saved[1])
        except OSError as exc:  # disk full, folder gone: the previous checkpoint is still whole
            raise OSError(exc.errno, f"cannot write the checkpoint {path}: {exc.strerror or exc}") from None
        self.written_epoch = self.saved[0]
        return path
