"""The plot controls a user chose, remembered between launches: pure, no Textual.

One small JSON file, ``plots.json``, in the user's config folder (``platformdirs``:
``~/.config/mnist-tui`` on Linux), or in ``$MNIST_TUI_CONFIG_DIR`` when set (tests set it, so
they never touch the real one). Written atomically; a missing or damaged file, or a field of
the wrong type, gives the defaults (field by field), never an error.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

from mnist_tui.runfolder.atomic import write_json_atomically

FILE_NAME = "plots.json"
ENV_DIR = "MNIST_TUI_CONFIG_DIR"
MAX_SMOOTHING = 0.99
SMOOTHING_STEPS = (0.0, 0.6, 0.8, 0.9, 0.95, 0.98, 0.99)  # what [ and ] step through
RANGE_CHOICES = (0, 10, 3, 1)  # r cycles: the whole run (0), then the last 10, 3, 1 epochs


@dataclass(frozen=True)
class PlotSettings:
    log_loss: bool = True  # batch-loss and epoch-loss plots on a log y axis
    error_view: bool = True  # accuracy plot as train/test error % on a log axis (MNIST's convention)
    smoothing: float = 0.9  # EMA weight for batch losses, 0 (raw) to 0.99
    range_epochs: int = 0  # x range: 0 = whole run, else the last N epochs
    show_lr: bool = True  # the learning rate on the batch-loss plot's right axis

    def __post_init__(self) -> None:
        object.__setattr__(self, "smoothing", clamp_smoothing(self.smoothing))
        object.__setattr__(self, "range_epochs", max(0, int(self.range_epochs)))


def clamp_smoothing(weight: float) -> float:
    if not isinstance(weight, (int, float)) or not math.isfinite(weight):
        return PlotSettings.smoothing
    return round(min(MAX_SMOOTHING, max(0.0, float(weight))), 4)


def config_dir() -> Path:
    env = os.environ.get(ENV_DIR)
    return Path(env).expanduser() if env else Path(platformdirs.user_config_dir("mnist-tui"))


def settings_path() -> Path:
    return config_dir() / FILE_NAME


def from_dict(values: Any) -> PlotSettings:
    """Known fields of the right type; anything else is ignored (defaults)."""
    if not isinstance(values, dict):
        return PlotSettings()
    kept: dict[str, Any] = {}
    for f in fields(PlotSettings):
        value = values.get(f.name)
        default = getattr(PlotSettings, f.name)
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10_000
        else:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if ok:
            kept[f.name] = value
    return PlotSettings(**kept)


def load_settings(path: Path | None = None) -> PlotSettings:
    """The saved settings, or the defaults when the file is missing, unreadable or damaged."""
    path = path or settings_path()
    try:
        return from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return PlotSettings()


def save_settings(settings: PlotSettings, path: Path | None = None) -> bool:
    """Write atomically (the folder is created). False, not an exception, when it cannot be
    written (a read-only home must not break the dashboard)."""
    path = path or settings_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomically(path, {"format": 1, **asdict(settings)}, durable=False)
    except OSError:
        return False
    return True


def update_settings(path: Path | None = None, **changes: Any) -> PlotSettings:
    """Load, change the given fields, save: each widget remembers only its own controls, so two
    plots changing different fields never undo each other."""
    settings = replace(load_settings(path), **changes)
    save_settings(settings, path)
    return settings


def next_smoothing(weight: float, step: int) -> float:
    """The next of SMOOTHING_STEPS above (step > 0) or below (step < 0) ``weight``."""
    if step > 0:
        return next((w for w in SMOOTHING_STEPS if w > weight + 1e-9), SMOOTHING_STEPS[-1])
    return next((w for w in reversed(SMOOTHING_STEPS) if w < weight - 1e-9), SMOOTHING_STEPS[0])


def next_range(range_epochs: int) -> int:
    """Whole run → last 10 → last 3 → last 1 epoch → whole run (an unlisted N goes to the whole run)."""
    if range_epochs not in RANGE_CHOICES:
        return RANGE_CHOICES[0]
    return RANGE_CHOICES[(RANGE_CHOICES.index(range_epochs) + 1) % len(RANGE_CHOICES)]
