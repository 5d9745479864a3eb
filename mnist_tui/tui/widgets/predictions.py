"""A test digit as text beside the model's verdict and its ten class probabilities.

The panel browses a *view*: an ordered list of test indices with a title (see
``mnist_tui.tui.views``). ``set_view`` swaps the list; ``move`` steps through it.

The panel is on the dashboard's first frame, which comes before numpy loads (numpy costs ~0.1 s
of it on a 2-core AMD EPYC): numpy and the digit renderers are imported where digits are handled.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Group
from rich.text import Text
from textual.widget import Widget

if TYPE_CHECKING:
    import numpy as np

BAR_WIDTH = 8
EIGHTHS = " ▏▎▍▌▋▊▉█"
MODES = ("ascii", "blocks")


def probability_bar(p: float, width: int = BAR_WIDTH) -> str:
    eighths = int(round(max(0.0, min(1.0, p)) * width * 8))
    full, part = divmod(eighths, 8)
    return ("█" * full + (EIGHTHS[part] if part else "")).ljust(width)


def _digit_lines(image: np.ndarray, mode: str) -> list[Text]:
    from mnist_tui.render import ascii_digit, halfblock_cells

    if mode == "ascii":
        return [Text(row, style="bright_white") for row in ascii_digit(image)]
    lines = []
    for row in halfblock_cells(image):
        line = Text()
        for top, bottom in row:
            line.append("▀", style=f"rgb({top},{top},{top}) on rgb({bottom},{bottom},{bottom})")
        lines.append(line)
    return lines


class PredictionsPanel(Widget):
    """Call from the UI thread: ``set_data`` once, ``set_predictions`` after each epoch."""

    can_focus = False

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.images: np.ndarray | None = None
        self.labels: np.ndarray | None = None
        self.probabilities: np.ndarray | None = None
        self.epoch: int | None = None
        self.indices: np.ndarray | Sequence[int] = ()  # int64 once a view is set
        self.view_title = "all test digits"
        self.empty_hint = "no digits in this view"
        self.position = 0
        self.mode = "ascii"
        self.compact = False  # a narrow side panel (80 columns): short verdict, 2-cell bars
        self.never_loaded = ""  # why no digits will come (the run failed before they loaded)

    def on_mount(self) -> None:
        self._update_titles()

    def on_resize(self) -> None:
        self._update_titles()

    # -- data ------------------------------------------------------------------------------

    def set_data(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.images, self.labels = images, labels
        self.set_view(range(len(labels)), "all test digits")

    def set_predictions(self, probabilities: np.ndarray, epoch: int) -> None:
        self.probabilities, self.epoch = probabilities, epoch
        self._changed()

    def set_never_loaded(self, why: str) -> None:
        """No digits will come: say why in their place (once they did come, this changes nothing)."""
        self.never_loaded = why
        self.refresh()

    # -- browsing --------------------------------------------------------------------------

    @property
    def current_index(self) -> int | None:
        """The test-set index on show, or None when the view is empty."""
        return int(self.indices[self.position]) if len(self.indices) else None

    def set_view(self, indices, title: str, empty_hint: str = "no digits in this view") -> None:
        """Browse ``indices`` (test-set positions, in order). Stays on the digit on show if the
        new view holds it, else starts at the view's first digit."""
        import numpy as np

        current = self.current_index
        self.indices = np.asarray(indices, dtype=np.int64)
        self.view_title, self.empty_hint = title, empty_hint
        where = np.flatnonzero(self.indices == current) if current is not None else []
        self.position = int(where[0]) if len(where) else 0
        self._changed()

    def move(self, delta: int) -> None:
        if len(self.indices):
            self.position = (self.position + delta) % len(self.indices)
            self._changed()

    def move_to(self, position: int) -> None:
        if len(self.indices):
            self.position = max(0, min(position, len(self.indices) - 1))
            self._changed()

    def cycle_mode(self) -> str:
        self.mode = MODES[(MODES.index(self.mode) + 1) % len(MODES)]
        self._changed()
        return self.mode

    # -- drawing ---------------------------------------------------------------------------

    def _changed(self) -> None:
        self._update_titles()
        self.refresh()

    def _update_titles(self) -> None:
        epoch = f" · epoch {self.epoch}" if self.epoch is not None else ""
        self.border_title = f"Predictions{epoch}"
        # an empty view's title already says its count ("… 0 right"): a bare "· 0" after it dangled
        count = f" · {self.position + 1:,}/{len(self.indices):,}" if len(self.indices) else ""
        room = max(8, self.size.width - 6 - len(count)) if self.size.width else 200
        self.border_subtitle = f"{fit_title(self.view_title, room)}{count}"

    def _said(self, text: str) -> Text:
        """``text`` off the border, as the digits are, on every line it wraps to (the lines after
        the first sat against the border)."""
        width = self.size.width - 2 if self.size.width > 12 else 200
        return Text("\n".join(" " + line for line in textwrap.wrap(text, width) or [""]), style="dim")

    def render(self):
        if self.images is None:  # "loading…" stayed under a run that had failed before its data came
            return self._said(f"no test digits: {self.never_loaded}" if self.never_loaded else "loading test digits…")
        index = self.current_index
        if index is None:
            return self._said(self.empty_hint)
        digit = _digit_lines(self.images[index], self.mode)
        side = self._verdict_lines(index)
        rows = []
        for i in range(max(len(digit), len(side))):
            row = digit[i].copy() if i < len(digit) else Text(" " * 28)
            row.append(" " if self.compact else "  ")
            if i < len(side):
                row.append_text(side[i])
            rows.append(row)
        return Group(*rows)

    def set_compact(self, compact: bool) -> None:
        if compact != self.compact:
            self.compact = compact
            self._changed()

    def _verdict_lines(self, index: int) -> list[Text]:
        if self.compact:
            return self._compact_lines(index)
        label = int(self.labels[index])
        head = Text.assemble(("#", "dim"), (f"{index:,}", "bold"), ("  true ", "dim"), (str(label), "bold"))
        if self.probabilities is None:
            return [head, Text("no predictions yet", style="dim")]
        probs = self.probabilities[index]
        predicted = int(probs.argmax())
        right = predicted == label
        verdict = Text.assemble(
            ("pred ", "dim"),
            (str(predicted), "bold"),
            (f" {probs[predicted]:6.1%} ", ""),
            ("✓" if right else "✗", "bold green" if right else "bold red"),
        )
        lines = [head, verdict, Text("")]
        for digit in range(10):
            style = "green" if digit == label else ("red" if digit == predicted else "blue")
            lines.append(
                Text.assemble(
                    (f"{digit} ", "bold" if digit in (label, predicted) else "dim"),
                    (probability_bar(float(probs[digit])), style),
                    (f" {probs[digit]:6.1%}", "dim"),
                )
            )
        return lines

    def _compact_lines(self, index: int) -> list[Text]:
        """Nine columns beside the digit: index, truth, verdict, then 2-cell bars with whole percents."""
        label = int(self.labels[index])
        head = [Text.assemble(("#", "dim"), (f"{index:,}", "bold")), Text.assemble(("true ", "dim"), str(label))]
        if self.probabilities is None:
            return [*head, *(Text(words, style="dim") for words in ("no guess", "before", "epoch 1"))]  # 9 columns
        probs = self.probabilities[index]
        predicted = int(probs.argmax())
        right = predicted == label
        verdict = Text.assemble(
            ("pred ", "dim"),
            (str(predicted), "bold"),
            " ",
            ("✓" if right else "✗", "bold green" if right else "bold red"),
        )
        lines = [*head, verdict]
        for digit in range(10):
            style = "green" if digit == label else ("red" if digit == predicted else "blue")
            lines.append(
                Text.assemble(
                    (f"{digit} ", "bold" if digit in (label, predicted) else "dim"),
                    (probability_bar(float(probs[digit]), width=2), style),
                    (f"{probs[digit]:5.0%}", "dim"),
                )
            )
        return lines


# Shorter words for a narrow panel, tried in turn before anything is cut: at 80 columns
# "true d… · wrong only (55)" lost which digit, and "true 7 → pr…: 30 confused" the prediction.
SHORTER = (
    (re.compile(r"all digits, by index"), "by index"),
    (re.compile(r"true digit (\d)"), r"digit \1"),
    (re.compile(r"true (\d) → predicted (\d)"), r"\1→\2"),
    (re.compile(r"wrong only"), "wrong"),
    (re.compile(r"confident mistakes"), "mistakes"),
    (re.compile(r"digit (\d) \("), r"\1s ("),
    (re.compile(r" \([\d,]+\)(?= · )"), ""),  # the order's own count: the panel counts what it shows
)


def fit_title(title: str, room: int) -> str:
    """``title`` in ``room`` cells: in shorter words while it does not fit, then cut with an
    ellipsis, its first part (the order) before what follows it (at 80 columns "all digits, by
    index · wrong only (113)" lost "wrong only")."""
    for pattern, short in SHORTER:
        if len(title) <= room:
            return title
        title = pattern.sub(short, title)
    if len(title) <= room:
        return title
    for sep in (" · ", ": "):  # "true 7 → predicted 1: 6 confused" keeps its count the same way
        head, _, tail = title.partition(sep)
        head_room = room - len(tail) - len(sep)
        if tail and head_room >= 2:
            return f"{head[: head_room - 1]}…{sep}{tail}"
    return title[: room - 1] + "…"
