"""What the replayer and the follower share: a run's test data, and a checkpoint made into events.

Both evaluate a saved model on the run's own test set, on the CPU, in the source's worker
thread (never the UI thread): 10,000 MNIST digits take ~0.3 s.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from mnist_tui.config import Config, dataset_option_of
from mnist_tui.errors import UserError
from mnist_tui.training.events import DataReady, EpochRecord, ModelWeights, Predictions


def dataset_option(config: Config, dataset_name: str | None) -> Config:
    """Evaluate on the run's own data: ``auto`` becomes whichever data the run trained on, so a
    replay never swaps MNIST for synthetic digits or back; nothing is downloaded."""
    if config.dataset == "auto" and dataset_name:
        dataset = dataset_option_of(dataset_name) or "synthetic"
        return config.with_changes(dataset=dataset, download=False)
    return config.with_changes(download=False)


def load_test_data(config: Config, datasets: Any = None):
    """(datasets, None), or (None, a note saying why the digits are missing)."""
    from mnist_tui.data import load_datasets

    try:
        return datasets or load_datasets(config.dataset, config.data_dir, config.seed, download=False), None
    except UserError as exc:
        return (
            None,
            f"test digits not available ({exc}); to see predictions, pass --data-dir DIR (the folder holding MNIST)",
        )


def model_from_state(state: dict[str, Any], config: Config):
    """The saved network on the CPU in eval mode; a state of another model is one clear line."""
    from mnist_tui.model import net_holding

    try:  # no draw from the random generator
        weights = {k: v.to("cpu") for k, v in state.items()}
        return net_holding(weights, conv_dropout=config.conv_dropout, fc_dropout=config.fc_dropout)
    except (RuntimeError, KeyError, TypeError) as exc:
        raise UserError(f"the checkpoint is of another model ({str(exc).splitlines()[0]})") from None


def model_events(state: dict[str, Any], epoch: int, data, config: Config) -> list:
    """ModelWeights and, with test digits, Predictions of a saved model."""
    model = model_from_state(state, config)
    weights = {k: v.detach().float().numpy().copy() for k, v in model.state_dict().items()}
    events: list = [ModelWeights(epoch, weights)]
    if data is not None:
        from mnist_tui.training.steps import evaluate

        stats = evaluate(model, data.test_images, data.test_labels, config.eval_batch_size)  # uint8: per batch
        events.append(Predictions(epoch, stats.probabilities, data.test_labels.numpy(), stats.confusion))
    return events


def checkpoint_events(run_dir, data, config: Config, threads: int | None = None) -> list | None:
    """:func:`model_events` of a run folder's newest checkpoint; None where it cannot be loaded
    now (being replaced, damaged). ``threads``: torch's for evaluating, set process-wide (only
    where the process trains nothing: a writer may be on the same cores)."""
    import torch

    from mnist_tui.training.checkpoint import CheckpointError, evaluated_weights, load_checkpoint

    try:
        state = load_checkpoint(run_dir)
    except CheckpointError:
        return None
    if threads:
        torch.set_num_threads(threads)
    return model_events(evaluated_weights(state), int(state["epoch"]), data, config)


def ready_event(
    data,
    config: Config,
    history: list[EpochRecord],
    epochs: int,
    notice: str | None,
    device: str,
    parameters: int = 0,
    world_size: int = 1,
) -> DataReady:
    """DataReady for a recorded run (its data may be missing: then no digits to browse)."""
    if not parameters:  # torch for the count (1.6-6 s to import): a headless follower, given the
        from mnist_tui.model import parameter_count, shaped_net  # writer's, reported 4-10 s late

        parameters = parameter_count(shaped_net())
    train_size = len(data.limited(config.limit_train).train_labels) if data is not None else 0
    fallback = history[-1].dataset if history else "unknown"
    return DataReady(
        dataset=data.name if data is not None else (fallback or "unknown"),
        device=device,
        precision=config.precision,
        train_size=train_size,
        test_size=len(data.test_labels) if data is not None else 0,
        batches_per_epoch=-(-train_size // config.batch_size),
        parameters=parameters,
        notice=notice,
        test_images=data.test_images.numpy() if data is not None else np.zeros((0, 28, 28), dtype=np.uint8),
        test_labels=data.test_labels.numpy() if data is not None else np.zeros(0, dtype=np.int64),
        start_epoch=(history[-1].epoch if history else 0) + 1,
        history=tuple(history),
        epochs=max(epochs, history[-1].epoch if history else 0),
        settings=config.to_dict(),
        world_size=world_size,
    )


def with_resolved(ready: DataReady, device: str, precision: str) -> DataReady:
    """``ready`` naming what the run trained with (run.json's device and precision), not its
    config's ``auto``; a folder that did not record them keeps the config's words."""
    resolved = {name: value for name, value in (("device", device), ("precision", precision)) if value}
    return dataclasses.replace(ready, precision=precision or ready.precision, settings=ready.settings | resolved)
