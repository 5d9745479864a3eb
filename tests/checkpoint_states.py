"""A real checkpoint for the checkpoint reliability tests: the dictionary the trainer writes."""

from __future__ import annotations

from pathlib import Path

import torch

from mnist_tui.synthetic import synthetic_digits


def tiny_synthetic():
    return synthetic_digits(seed=0, train_size=128, test_size=64)


def trained_state(folder: Path, data) -> dict:
    """A checkpoint dictionary exactly as the trainer writes it, after one real epoch."""
    from mnist_tui.config import Config
    from mnist_tui.training.loop import Trainer

    config = Config(
        epochs=1, batch_size=64, lr=3e-3, seed=0, device="cpu", dataset="synthetic", run_dir=folder / "run",
        data_dir=folder / "data", precision="fp32", download=False,
    )  # fmt: skip
    result = Trainer(config, lambda event: None, datasets=data).run()
    assert result.error is None and result.epochs_done == 1
    return torch.load(folder / "run" / "checkpoint.pt", weights_only=True)


def save(path: Path, state) -> Path:
    torch.save(state, path)
    return path
