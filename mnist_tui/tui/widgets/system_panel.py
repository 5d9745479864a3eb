"""The machine in view: one line from :mod:`mnist_tui.sysstats`, refreshed at most once a
second and only while the panel is shown on the active screen (a hidden panel samples nothing)."""

from __future__ import annotations

from textual.widgets import Static

from mnist_tui.sysstats import SystemSampler, SystemStats, describe

REFRESH_S = 2.0  # seconds: the process figures move slowly, and every UI millisecond is taken from training


class SystemPanel(Static):
    DEFAULT_CSS = """
    SystemPanel {
        height: auto;
        color: $text-muted;
    }
    """

    def __init__(self, sampler: SystemSampler | None = None, **kwargs) -> None:
        super().__init__("system: …", **kwargs)
        self.sampler = sampler or SystemSampler()
        self.last: SystemStats | None = None
        self.samples = 0  # how many times it sampled (tests check it rests while hidden)

    def on_mount(self) -> None:
        self.set_interval(REFRESH_S, self.tick)
        self.call_after_refresh(self.tick)  # once laid out: a size of zero reads as hidden

    def shown(self) -> bool:
        return bool(self.display) and self.is_attached and self.screen is self.app.screen and self.size.area > 0

    def tick(self) -> None:
        if not self.shown():
            return
        self.samples += 1
        self.last = self.sampler.sample()
        self.update(describe(self.last))
