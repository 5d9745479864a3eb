"""The run's settings in view: pure formatters over ``DataReady.settings`` (the run's config
dict, with the resolved device and precision) and a small panel showing them."""

from __future__ import annotations

from typing import Any

from textual.widgets import Static

from mnist_tui.plan import Plan

SCHEDULE_NAMES = {"onecycle": "one-cycle", "constant": "constant"}


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def settings_fields(
    settings: dict[str, Any], world_size: int | None = None, threads: int | None = None
) -> list[tuple[str, str]]:
    """(name, value) pairs in reading order; missing settings are left out."""
    s = settings or {}
    out: list[tuple[str, str]] = []
    if "recipe" in s:
        out.append(("recipe", str(s["recipe"])))
    if "batch_size" in s:
        out.append(("batch", _number(s["batch_size"])))
    if "lr" in s:
        schedule = SCHEDULE_NAMES.get(s.get("schedule", ""), s.get("schedule", ""))
        scale = s.get("lr_scale", 1.0)
        steered = f" × {_number(float(scale))} (steered)" if scale != 1.0 else ""
        out.append(("lr", f"{_number(s['lr'])} {schedule}{steered}".strip()))
    if "conv_dropout" in s or "fc_dropout" in s:
        conv, fc = s.get("conv_dropout"), s.get("fc_dropout")
        out.append(("dropout", _number(conv) if conv == fc else f"conv {_number(conv)} / fc {_number(fc)}"))
    if s.get("ema_decay"):  # sprint's: what is tested, saved and drawn with is the weights' average
        out.append(("weights EMA", _number(s["ema_decay"])))
    if s.get("tests_per_epoch", 1) != 1:
        out.append(("tests/epoch", _number(s["tests_per_epoch"])))
    if "precision" in s:
        out.append(("precision", str(s["precision"])))
    if "seed" in s:
        out.append(("seed", _number(s["seed"])))
    if "device" in s:
        out.append(("device", str(s["device"])))
    threads = threads if threads is not None else s.get("threads")
    if threads is not None:
        out.append(("threads", _number(threads)))
    world = world_size if world_size is not None else s.get("world_size")
    if world is not None:
        out.append(("world size", _number(world)))
    if "epochs" in s:  # sprint's 2.5 (3 epochs, the last one half): "3" read as three whole ones
        epochs = s["epochs"]
        out.append(("epochs", Plan.of(epochs, s).number if isinstance(epochs, int) else _number(epochs)))
    return out


def plan_settings(plan: Plan) -> dict[str, Any]:
    """The settings' epochs as the run's plan reads them: "epochs 7.5" for 5 added to a finished
    sprint, or a sprint resumed with --epochs 4 ("epochs 3.5"), whose settings plan whole epochs."""
    return {"epochs": plan.length if plan.partial else plan.epochs, "last_epoch_fraction": 1.0}


def settings_parts(settings: dict[str, Any], world_size: int | None = None, threads: int | None = None) -> list[str]:
    """``["fast", "batch 1024", "lr 0.02 one-cycle", "dropout 0.05", "bf16", …]``.

    The world size shows only under torchrun (more than one process): the help screen lists it always.
    """
    parts = []
    for name, value in settings_fields(settings, world_size, threads):
        if name == "world size" and value == "1":
            continue
        parts.append(value if name in ("recipe", "precision", "device") else f"{name} {value}")
    return parts


def packed_lines(parts: list[str], width: int) -> list[str]:
    """``parts`` joined by " · " into lines of at most ``width`` cells, breaking only between
    parts ("dropout" and its "0.05" stay together); a part longer than a line has one to itself."""
    lines: list[str] = []
    for part in parts:
        if lines and len(lines[-1]) + 3 + len(part) <= width:
            lines[-1] += f" · {part}"
        else:
            lines.append(part)
    return lines


def settings_lines(settings: dict[str, Any], world_size: int | None = None, threads: int | None = None) -> list[str]:
    """One ``name  value`` line per setting, aligned: for the help screen."""
    pairs = settings_fields(settings, world_size, threads)
    width = max((len(name) for name, _ in pairs), default=0)
    return [f"{name:<{width}}  {value}" for name, value in pairs]


class SettingsPanel(Static):
    """``show(settings, world_size)`` once the run is loaded (``DataReady``/``RunLoaded``)."""

    DEFAULT_CSS = """
    SettingsPanel {
        height: auto;
        color: $text-muted;
    }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__("settings: loading…", **kwargs)
        self.settings: dict[str, Any] = {}
        self.world_size: int | None = None
        self.threads: int | None = None
        self.parts: list[str] | None = None  # None until the run is loaded

    def show(self, settings: dict[str, Any], world_size: int | None = None, threads: int | None = None) -> None:
        self.settings = dict(settings or {})
        self.world_size, self.threads = world_size, threads
        self.parts = settings_parts(self.settings, world_size, threads)
        self._pack()

    def show_plan(self, plan: Plan) -> None:
        """The plan in force after epochs were added (before the run is loaded: nothing to show)."""
        if self.parts is not None:
            self.show({**self.settings, **plan_settings(plan)}, self.world_size, self.threads)

    def show_lr_scale(self, scale: float) -> None:
        """The lr scale steering set, on top of the schedule (before the run is loaded: nothing to show)."""
        if self.parts is not None:
            self.show({**self.settings, "lr_scale": scale}, self.world_size, self.threads)

    def help_lines(self) -> list[str]:
        """One ``name  value`` line per setting, for the help screen (none before the run is loaded)."""
        return settings_lines(self.settings, self.world_size, self.threads) if self.parts is not None else []

    def on_resize(self) -> None:
        self._pack()

    def _pack(self) -> None:
        if self.parts is None:
            return
        width = self.content_size.width or 200
        self.update("\n".join(packed_lines(self.parts, width)) or "settings: not recorded")
