"""The one frozen configuration of a run, built by the CLI and passed down unchanged."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

DATASETS = ("auto", "mnist", "synthetic")
SCHEDULES = ("onecycle", "constant")
PRECISIONS = ("auto", "fp32", "bf16")


def default_data_dir() -> Path:
    """``$MNIST_TUI_DATA``, else the user's cache folder (XDG on Linux)."""
    env = os.environ.get("MNIST_TUI_DATA")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "mnist-tui"


@dataclass(frozen=True)
class Config:
    """Everything a run needs. Defaults are the project's fast recipe (see README, Performance)."""

    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    seed: int = 0
    device: str = "auto"
    data_dir: Path = Path(".")
    dataset: str = "auto"
    run_dir: Path | None = None  # None: keep nothing on disk (tests, benchmarks)
    limit_train: int | None = None
    schedule: str = "onecycle"
    conv_dropout: float = 0.5
    fc_dropout: float = 0.5
    precision: str = "auto"
    eval_batch_size: int = 2000
    download: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (paths as strings): used for metrics and checkpoints."""
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Config:
        known = {f.name: f for f in fields(cls)}
        kwargs = {k: v for k, v in values.items() if k in known}
        for name in ("data_dir", "run_dir"):
            if name in kwargs:
                kwargs[name] = Path(kwargs[name])
        return cls(**kwargs)

    def with_changes(self, **changes: Any) -> Config:
        return replace(self, **changes)
