"""The model's guess at a drawing: ten probability bars, and the 28×28 image it was shown."""

from __future__ import annotations

import re
import textwrap

import numpy as np
from rich.console import Group
from rich.text import Text
from textual.widgets import Static

EIGHTHS = " ▏▎▍▌▋▊▉█"


def bar(p: float, width: int) -> str:
    eighths = int(round(min(max(float(p), 0.0), 1.0) * width * 8))
    full, part = divmod(eighths, 8)
    return ("█" * full + (EIGHTHS[part] if part else "")).ljust(width)


def guess_text(probabilities: np.ndarray | None, note: str, width: int = 20) -> Group:
    """A headline (the guess and its confidence) over one bar per digit, the guess highlighted."""
    if probabilities is None:
        lines = [Text(note, style="dim")]
        lines += [Text(f"{d} {'':{width}}   –", style="dim") for d in range(10)]
        return Group(*lines)
    best = int(np.argmax(probabilities))
    headline = Text.assemble(("guess ", "bold"), (str(best), "bold reverse green"), f"  {probabilities[best]:.1%}")
    lines = [headline]
    for digit, p in enumerate(probabilities):
        style = "bold green" if digit == best else ("yellow" if p >= 0.1 else "")
        lines.append(Text(f"{digit} {bar(p, width)} {p:6.1%}", style=style))
    if note:
        lines.append(note_text(note, width + 9))  # as wide as a bar's line
    return Group(*lines)


def note_text(note: str, width: int) -> Text:
    """The note wrapped to ``width`` with "epoch N" kept whole (at 80×24 "the model at epoch" and
    its "3" took a line each): textwrap breaks at ASCII spaces only, so a no-break space holds."""
    lines = textwrap.wrap(re.sub(r"epoch (\d)", "epoch\u00a0\\1", note), max(width, 8))
    return Text("\n".join(lines), style="dim")


def halfblock_image(image: np.ndarray) -> Group:
    """A float [0, 1] 28×28 image as 28 columns × 14 rows of '▀' (two grey pixels a cell)."""
    levels = np.round(np.clip(image, 0, 1) * 255).astype(int)
    lines = []
    for top, bottom in zip(levels[0::2], levels[1::2], strict=True):
        line = Text()
        for t, b in zip(top, bottom, strict=True):
            line.append("▀", style=f"rgb({t},{t},{t}) on rgb({b},{b},{b})")
        lines.append(line)
    return Group(*lines)


class GuessBars(Static):
    """Call ``show`` from the UI thread; the bars fit the widget's width, also after a resize."""

    probabilities: np.ndarray | None = None
    note: str = ""

    def show(self, probabilities: np.ndarray | None, note: str = "") -> None:
        self.probabilities, self.note = probabilities, note
        self.update(guess_text(probabilities, note, width=min(30, max(6, self.size.width - 10))))

    def on_resize(self) -> None:  # 120×40 → 80×24 had wrapped every bar until the next stroke
        self.show(self.probabilities, self.note)


class ModelInput(Static):
    """What the network is shown: the drawing fitted and centred like an MNIST digit."""

    def show(self, image: np.ndarray | None) -> None:
        self.image = image
        self.update(halfblock_image(image) if image is not None else Text("(empty)", style="dim"))
