"""State, progress and speed: the numbers a person glances at while the model trains."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, ProgressBar, Static

from mnist_tui.errors import one_line
from mnist_tui.words import epochs_text

STATE_STYLES = {
    "loading": "bold yellow",
    "ready": "bold cyan",
    "training": "bold green",
    "pausing": "bold yellow",
    "paused": "bold yellow",
    "stopping": "bold yellow",
    "finished": "bold cyan",
    "stopped": "bold cyan",
    "failed": "bold red",
    "lost": "bold red",  # a followed writer killed or crashed
    "waiting": "bold yellow",  # a follower before its run starts writing
    "so far": "bold yellow",  # a replay of a run another process still writes
}


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class StatsPanel(Vertical):
    """Call the ``show_*`` methods from the UI thread; each updates only its own lines, and
    only when their text changed, without a layout pass (the lines have a fixed height)."""

    DEFAULT_CSS = """
    StatsPanel .stat-line { height: 1; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._shown: dict[str, str] = {}
        self._speed: tuple[float | None, float | None, float | None] = (None, None, None)

    def compose(self) -> ComposeResult:
        yield Static(id="state-line")
        yield Static(id="position-line", classes="stat-line")
        with Horizontal(classes="bar-row"):
            yield Label("epoch ", classes="bar-label")
            yield ProgressBar(total=1, show_eta=False, id="epoch-bar")  # never indeterminate: that animates at 60 fps
        with Horizontal(classes="bar-row"):
            yield Label("run   ", classes="bar-label")
            yield ProgressBar(total=1, show_eta=False, id="run-bar")
        yield Static(id="speed-line", classes="stat-line")
        yield Static(id="result-line", classes="stat-line")

    def _set_line(self, line_id: str, text: Text, layout: bool = False) -> None:
        if self._shown.get(line_id) != text.markup:
            self._shown[line_id] = text.markup
            self.query_one(f"#{line_id}", Static).update(text, layout=layout)

    def on_mount(self) -> None:
        self.border_title = "Training"
        self.show_state("loading")
        self.show_position(0, 0, 0, 0)
        self.show_speed(None, None, None)
        self.show_results(None, None, None)

    def show_state(self, state: str, detail: str = "") -> None:
        text = Text.assemble(("● ", STATE_STYLES.get(state, "bold")), (state, STATE_STYLES.get(state, "bold")))
        if detail:
            text.append(f"  {one_line(detail)}", style="red" if state == "failed" else "dim")  # a folder's escapes
        self._set_line("state-line", text, layout=True)  # a failure's message may wrap

    def show_position(
        self, epoch: int, epochs: int, batch: int, batches: int, testing: bool = False, part: str = ""
    ) -> None:
        """``part``: " (half)" in a plan's last epoch that trains only part of the data (sprint's)."""
        if not batches:  # nothing loaded yet (a run loading, a follower waiting): "epoch 0/0 batch 0/0"
            line = Text.assemble(("epoch ", "dim"), f"– of {epochs}" if epochs else "–", ("   batch ", "dim"), "–")
            self._set_line("position-line", line)
            return
        line = Text.assemble(
            ("epoch ", "dim"), f"{epoch}/{epochs}{part}", ("   batch ", "dim"), f"{batch:,}/{batches:,}"
        )
        if testing:
            line.append("   testing…", style="italic")
        self._set_line("position-line", line)

    def show_progress(self, epoch_done: float, epoch_total: float, run_done: float, run_total: float) -> None:
        for bar_id, done, total in (("#epoch-bar", epoch_done, epoch_total), ("#run-bar", run_done, run_total)):
            bar = self.query_one(bar_id, ProgressBar)
            if (bar.progress, bar.total) != (done, max(total, 1)):
                bar.update(total=max(total, 1), progress=done)

    def show_speed(self, samples_per_s: float | None, eta_seconds: float | None, last_loss: float | None) -> None:
        self._speed = (samples_per_s, eta_seconds, last_loss)
        rate = f"{samples_per_s:,.0f}" if samples_per_s else "–"
        eta = format_duration(eta_seconds) if eta_seconds is not None else "–"
        loss = f"{last_loss:.4f}" if last_loss is not None else "–"
        line = Text.assemble((rate, "bold"), (" samples/s", "dim"), ("   ETA ", "dim"), eta, ("   loss ", "dim"), loss)
        if self.size.width and line.cell_len > self.size.width:  # the 40-column panel at 80×24: cut nothing
            line = Text.assemble((rate, "bold"), ("/s", "dim"), ("  ETA ", "dim"), eta, ("  loss ", "dim"), loss)
        self._set_line("speed-line", line)

    def on_resize(self) -> None:
        self.show_speed(*self._speed)

    def show_results(self, best_acc: float | None, best_epoch: float | None, last_test_loss: float | None) -> None:
        best = f"{best_acc:.2%}" if best_acc is not None else "–"
        where = f" (ep {epochs_text(best_epoch)})" if best_epoch else ""
        test_loss = f"{last_test_loss:.4f}" if last_test_loss is not None else "–"
        line = Text.assemble(("best ", "dim"), (best, "bold green"), where, ("   test loss ", "dim"), test_loss)
        self._set_line("result-line", line)
