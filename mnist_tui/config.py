"""The one frozen configuration of a run, its recipes, and the one validation of its values.

The command line, a resumed checkpoint's saved config, a run folder's ``run.json`` and the
new-run form all go through :func:`check_value` / :func:`validate`, so a value refused on
the command line is refused with the same words wherever else it comes from.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from mnist_tui.errors import UserError
from mnist_tui.schema import finite, show

MAX_EPOCHS = 100_000  # a plan past it is refused, also from a follower's control.json

DATASETS = ("auto", "mnist", "synthetic")
SCHEDULES = ("onecycle", "constant")
PRECISIONS = ("auto", "fp32", "bf16")
CUDA_GRAPHS = ("auto", "off")  # auto: on CUDA in one process (mnist_tui.training.graphed)
SPLIT_BATCH = ("auto", "on", "off")  # auto: on 2 CPU cores, fp32 (mnist_tui.training.split_step)
SHARE_CORES = ("auto", "off")  # auto: fewer op threads while other processes are busy (training.core_share)
MAX_TESTS_PER_EPOCH = 10  # each test is a pass over the 10,000 test images (0.2 s on 2 Intel Xeon cores)
MAX_SEED = 2**32 - 1  # numpy's seeds stop here (the synthetic digits); torch takes less than 2**64

# fast (the default): one-cycle to a peak lr of 2e-2, batch 1024, light dropout. Measured on
# real MNIST, seeds 0-4 (README, Performance): 99.0 % by epoch 5-6 of 10 and 99.09-99.33 % at
# the end (mean 99.23), as batch 512 at lr 1e-2 and dropout 0.1 did (99.21-99.31 %, mean 99.27),
# with 5-13 % more samples a second on 2 CPU cores.
# seed: the seed's own recipe (pytorch/examples-style), kept so users can compare.
RECIPES: dict[str, dict[str, Any]] = {
    "fast": dict(batch_size=1024, lr=2e-2, schedule="onecycle", conv_dropout=0.05, fc_dropout=0.05),
    "seed": dict(batch_size=64, lr=1e-3, schedule="constant", conv_dropout=0.5, fc_dropout=0.5),
    # sprint: 99 % in the fewest samples (benchmarks/sprint.py, sprint_results.md): batch 128, a
    # one-cycle schedule planned over 2.5 epochs, dropout 0.05, and test evaluation on an EMA (0.99)
    # of the weights. Dropout was 0.1 (3.0-3.7 s to 99 % on a Zen 5 EPYC with bf16) until an Intel
    # Xeon with AMX ended seed 2 at 98.98 % in bf16 (7 of seeds 0-9 reached 99 %); at 0.05, 9 of 10
    # there in bf16 (seeds 0-5 at epoch 2) and seeds 0-5 in fp32 (README, The sprint recipe).
    "sprint": dict(
        batch_size=128,
        lr=1e-2,
        schedule="onecycle",
        conv_dropout=0.05,
        fc_dropout=0.05,
        epochs=3,
        last_epoch_fraction=0.5,
        ema_decay=0.99,
        tests_per_epoch=2,  # 99 % after 1.5 epochs for seeds 0 and 1 (mnist_tui.training.inner_evals)
    ),
}
DEFAULT_RECIPE = "fast"


# Datasets.name, as every epoch row records it → the --dataset option that loads the same data
DATASET_OPTIONS = {"MNIST": "mnist", "synthetic digits": "synthetic"}


def dataset_option_of(name: str | None) -> str | None:
    """``"MNIST"`` → ``"mnist"``; None for a name this program does not make."""
    return DATASET_OPTIONS.get(name) if name else None


def default_data_dir() -> Path:
    """``$MNIST_TUI_DATA``, else the user's cache folder (XDG on Linux)."""
    env = os.environ.get("MNIST_TUI_DATA")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "mnist-tui"


@dataclass(frozen=True)
class Config:
    """Everything a run needs. The defaults are the default recipe's values."""

    epochs: int = 10
    batch_size: int = RECIPES[DEFAULT_RECIPE]["batch_size"]
    lr: float = RECIPES[DEFAULT_RECIPE]["lr"]
    seed: int = 0
    device: str = "auto"
    data_dir: Path = Path(".")
    dataset: str = "auto"
    run_dir: Path | None = None  # None: keep nothing on disk (tests, benchmarks)
    limit_train: int | None = None
    schedule: str = RECIPES[DEFAULT_RECIPE]["schedule"]
    conv_dropout: float = RECIPES[DEFAULT_RECIPE]["conv_dropout"]
    fc_dropout: float = RECIPES[DEFAULT_RECIPE]["fc_dropout"]
    precision: str = "auto"
    # 500: 85 ms for the 10,000 test images where 2000 took 160 ms and held 47 MB more at its
    # peak (fp32; a 2000-image conv1 output is 46 MB, past glibc's 32 MiB heap ceiling: fresh pages)
    eval_batch_size: int = 500
    download: bool = True
    recipe: str = DEFAULT_RECIPE
    last_epoch_fraction: float = 1.0  # the plan's last epoch trains this share of the data (2.5 epochs)
    ema_decay: float = 0.0  # > 0: evaluate an exponential moving average of the weights
    cuda_graphs: str = "auto"
    split_batch: str = "auto"
    share_cores: str = "auto"
    tests_per_epoch: int = 1  # > 1: also test the model after each 1/N of an epoch (sprint: 2)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (paths as strings): used for metrics and checkpoints."""
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Config:
        """Known keys only; paths made Paths. Call :func:`validate` on the result."""
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in values.items() if k in known}
        for name in ("data_dir", "run_dir"):
            if kwargs.get(name) is not None:
                kwargs[name] = Path(kwargs[name])
        return cls(**kwargs)

    def with_changes(self, **changes: Any) -> Config:
        return replace(self, **changes)

    def with_epochs(self, epochs: int) -> Config:
        """A plan of ``epochs`` whole epochs, whatever share of its last one the recipe planned
        (``--epochs 4`` after ``--recipe sprint``'s 2.5, a follower's ``a``, the form's epochs)."""
        return replace(self, epochs=epochs, last_epoch_fraction=1.0)


# -- validation: one rule per field, shared by argparse and every saved config ------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return finite(value)


def _int_between(low: int, high: int | None = None) -> Callable[[Any], str | None]:
    def rule(value: Any) -> str | None:
        if not _is_int(value):
            return f"{show(value)} is not a whole number"
        if value < low:
            return f"must be at least {low}, got {show(value)}"
        if high is not None and value > high:
            return f"must be at most {high}, got {show(value)}"
        return None

    return rule


def _number_in(low: float, high: float, low_open: bool, high_open: bool = False) -> Callable[[Any], str | None]:
    def rule(value: Any) -> str | None:
        if not _is_number(value):
            return f"{show(value)} is not a finite number"
        too_low = value <= low if low_open else value < low
        too_high = value >= high if high_open else value > high
        if too_low or too_high:
            bounds = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
            return f"must be in {bounds}, got {value:g}"
        return None

    return rule


def _one_of(choices: tuple[str, ...]) -> Callable[[Any], str | None]:
    def rule(value: Any) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}, got {value!r}"

    return rule


def _device(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"{value!r} is not a device name"
    if value in ("auto", "cpu", "cuda") or (value.startswith("cuda:") and value[5:].isdigit()):
        return None
    return f"unknown device {value!r} (use auto, cpu, cuda or cuda:N)"


def _optional(rule: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    return lambda value: None if value is None else rule(value)


# Dropout 1 zeroes every activation: nothing can learn, so it is refused rather than trained.
RULES: dict[str, Callable[[Any], str | None]] = {
    "epochs": _int_between(1, MAX_EPOCHS),
    "batch_size": _int_between(1, 1_000_000),
    "lr": _number_in(0, 10, low_open=True),
    "seed": _int_between(0, MAX_SEED),
    "device": _device,
    "dataset": _one_of(DATASETS),
    "limit_train": _optional(_int_between(1)),
    "schedule": _one_of(SCHEDULES),
    "conv_dropout": _number_in(0, 1, low_open=False, high_open=True),
    "fc_dropout": _number_in(0, 1, low_open=False, high_open=True),
    "precision": _one_of(PRECISIONS),
    "eval_batch_size": _int_between(1, 1_000_000),
    "recipe": _one_of(tuple(RECIPES)),
    "last_epoch_fraction": _number_in(0, 1, low_open=True),
    "ema_decay": _number_in(0, 1, low_open=False, high_open=True),
    "cuda_graphs": _one_of(CUDA_GRAPHS),
    "split_batch": _one_of(SPLIT_BATCH),
    "share_cores": _one_of(SHARE_CORES),
    "tests_per_epoch": _int_between(1, MAX_TESTS_PER_EPOCH),
    "data_dir": lambda value: None if isinstance(value, Path) and str(value).strip() else f"{value!r} is not a folder",
}


def check_value(name: str, value: Any) -> str | None:
    """The problem with one field's value, or None when it is fine."""
    rule = RULES.get(name)
    return rule(value) if rule is not None else None


def last_epoch_fraction_of(settings: Any) -> float:
    """The share of its last epoch a run's plan trains, from its settings (a DataReady's, a run
    folder's config): 1.0 where they hold none, or none that is valid."""
    value = settings.get("last_epoch_fraction", 1.0) if isinstance(settings, dict) else 1.0
    return float(value) if check_value("last_epoch_fraction", value) is None else 1.0


def validate(config: Config, source: str = "the configuration") -> Config:
    """Every field checked; one line naming each bad one (``source`` says where it came from)."""
    problems = [f"{name} {problem}" for name in RULES if (problem := check_value(name, getattr(config, name)))]
    if problems:
        raise UserError(f"{source} is invalid: {'; '.join(problems)}")
    return config


def config_from_saved(values: Any, source: str) -> Config:
    """A Config from a saved dict (a checkpoint, run.json), validated; damage is one UserError line."""
    if not isinstance(values, dict):
        raise UserError(f"{source} is damaged: its config is not a mapping")
    try:
        config = Config.from_dict(values)
    except (TypeError, ValueError) as exc:
        raise UserError(f"{source} is damaged ({exc})") from None
    return validate(config, source)


def recipe_values(name: str) -> dict[str, Any]:
    """The recipe's values with its name, ready for ``Config(**...)``."""
    return {**RECIPES[name], "recipe": name}


# every field some recipe sets: another recipe sets each to its own value or to the default
RECIPE_FIELDS = tuple(sorted({name for values in RECIPES.values() for name in values}))


def with_recipe(config: Config, name: str) -> Config:
    """``config`` under recipe ``name``: sprint's 2.5-epoch plan and weight average do not stay
    when ``fast`` is chosen after it (the form had kept them, and crashed on them)."""
    defaults = Config()
    changes = {field: getattr(defaults, field) for field in RECIPE_FIELDS} | recipe_values(name)
    return replace(config, **changes)


def make_config(recipe: str | None = None, saved: dict[str, Any] | None = None, **explicit: Any) -> Config:
    """The one rule a Config is made by (the command line, the dashboard's runs, the new-run
    form): the default recipe's values and the default data folder, then a saved run's settings,
    then the recipe asked for (:func:`with_recipe`: `--runs DIR --recipe seed` then `n` had kept
    the run's fast settings), then the values given explicitly, ``epochs`` as whole epochs.
    Validated; ``run_dir`` is the caller's."""
    values: dict[str, Any] = recipe_values(DEFAULT_RECIPE) | {"data_dir": default_data_dir()}
    if saved is not None:
        values.update(config_from_saved(saved, "the run's saved config").to_dict())
    values.pop("run_dir", None)
    config = Config.from_dict(values)
    if recipe is not None:
        config = with_recipe(config, recipe)
    config = Config.from_dict(config.to_dict() | explicit)
    if "epochs" in explicit:
        config = config.with_epochs(explicit["epochs"])
    return validate(config)


# The text fields of the form and how each is read (the command line's argparse types agree)
TEXT_TYPES: dict[str, type] = {
    "epochs": int,
    "batch_size": int,
    "lr": float,
    "conv_dropout": float,
    "fc_dropout": float,
    "seed": int,
}


def value_from_text(name: str, text: str, convert: type | None = None) -> tuple[Any, str | None]:
    """(value, None), or (None, the problem: "'x' is not a number", "must be in (0, 10], got 20"):
    how both the command line and the new-run form read a typed value."""
    convert = convert or TEXT_TYPES.get(name, str)
    try:
        value = convert(text.strip())
    except ValueError:
        kind = "whole number" if convert is int else "number"
        return None, f"{text.strip()!r} is not a {kind}"
    problem = check_value(name, value)
    return (None, problem) if problem else (value, None)
