"""The machine in view: one line from :mod:`mnist_tui.sysstats`, refreshed at most once a
second and only while the panel is shown on the active screen (a hidden panel samples nothing).
Its sampler (and psutil) is made at its first tick, after the first frame; that first figure's
CPU % is over the process's life so far (over no time at all it would read 0).

Where the run trains in another process (followed, replayed), this process's figures are the
viewer's: the line says so, and gives first what the run recorded at its last epoch."""

from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import Static

from mnist_tui.sysstats import SystemSampler, SystemStats, described
from mnist_tui.tui.widgets.settings_panel import packed_lines

REFRESH_S = 2.0  # seconds: the process figures move slowly, and every UI millisecond is taken from training


class SystemPanel(Static):
    DEFAULT_CSS = """
    SystemPanel {
        height: auto;
        color: $text-muted;
    }
    """

    def __init__(
        self, sampler: SystemSampler | None = None, own_timer: bool = True, trains_here: bool = True, **kwargs
    ) -> None:
        """``own_timer=False``: the host calls :meth:`tick` from its own timer (the dashboard does,
        so the line repaints in the same screen update as the stats instead of one of its own).
        ``trains_here=False``: the figures sampled here are a viewer's, not the run's."""
        super().__init__("system: …", **kwargs)
        self.own_timer = own_timer
        self.trains_here = trains_here
        self.run_items: list[str] = []  # the run's own figures, from its last epoch row (trained elsewhere)
        self._sampled_at = -REFRESH_S
        self._sampler = sampler
        self.last: SystemStats | None = None
        self.samples = 0  # how many times it sampled (tests check it rests while hidden)
        self._rows = 0  # the line's wrapped height at the last update

    @property
    def sampler(self) -> SystemSampler:
        """Made when first asked for (the first tick, after the first frame): read at once, so its
        first CPU % is over the process's life so far."""
        if self._sampler is None:
            self._sampler = SystemSampler(since_start=True)
        return self._sampler

    def on_mount(self) -> None:
        if self.own_timer:
            self.set_interval(REFRESH_S, self.tick)
        self.call_after_refresh(self.tick)  # once laid out: a size of zero reads as hidden

    def shown(self) -> bool:
        return bool(self.display) and self.is_attached and self.screen is self.app.screen and self.size.area > 0

    def tick(self) -> None:
        """Sample and show, at most once per REFRESH_S and only while shown."""
        now = time.monotonic()
        if not self.shown() or now - self._sampled_at < REFRESH_S * 0.9:
            return
        self._sampled_at = now
        self.samples += 1
        self.last = self.sampler.sample()
        items = described(self.last)
        if not self.trains_here:
            items = [*self.run_items, f"this viewer: {items[0]}", *items[1:]]
        text = "\n".join(packed_lines(items, max(self.content_size.width, 1)))  # broken only between items
        rows = len(Text(text).wrap(self.app.console, max(self.content_size.width, 1)))
        # A layout pass costs the whole screen ~7 ms: only when the line wraps differently.
        self.update(text, layout=rows != self._rows)
        self._rows = rows

    def use_device(self, device: str) -> None:
        """The run's device ("cuda:1"): sampled from the UI thread, whose current CUDA device is
        0 whatever the trainer's thread set, the line showed GPU 0 for a run on GPU 1."""
        kind, _, index = device.partition(":")
        if kind == "cuda" and index.isdigit():
            self.sampler.device_index = int(index)

    def show_run(self, row) -> None:
        """An epoch row of a run trained elsewhere: its process's figures, shown before the viewer's."""
        if self.trains_here or row.cpu_percent is None:
            return
        parts = [f"cpu {row.cpu_percent:.0f}%", f"rss {row.rss_mb:,.0f} MB" if row.rss_mb is not None else ""]
        if row.gpu_util_percent is not None:
            parts.append(f"gpu {row.gpu_util_percent:.0f}%")
        parts = [p for p in parts if p]
        self.run_items = [f"run at epoch {row.epoch}: {parts[0]}", *parts[1:]]
        self._sampled_at = -REFRESH_S  # shown at the next tick
