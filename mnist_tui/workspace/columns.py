"""The workspace's columns: one definition serves the table, the sort, the filter and the export.

Each column has a key (what a filter names: ``lr<0.005``), a header, a kind (numbers compare
as numbers, text as text) and how its value is shown. Accuracy is shown and filtered in
percent (``acc>98``), as a person reads it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mnist_tui.errors import one_line
from mnist_tui.workspace.index import RunSummary


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str  # "number" or "text"
    value: Callable[[RunSummary], Any]  # raw: None when unknown; a tuple compares element-wise
    show: Callable[[Any], str] = str
    aliases: tuple[str, ...] = ()
    shown_unit: float = 0.0  # a measured value's last shown digit: ``=`` compares as shown (0: exactly)
    order: Callable[[RunSummary], Any] | None = None  # what it sorts by, where not its value


def _num(fmt: str) -> Callable[[Any], str]:
    return lambda v: "–" if v is None else format(v, fmt)


def _dropout(v: tuple[float | None, float | None]) -> str:
    conv, fc = v
    if conv is None and fc is None:
        return "–"
    return f"{conv:g}" if conv == fc else f"{_num('g')(conv)}/{_num('g')(fc)}"


def _seconds(v: float | None) -> str:
    if v is None:
        return "–"
    minutes, secs = divmod(int(round(v)), 60)
    return f"{minutes}:{secs:02d}" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}"


def started_text(v: float | None) -> str:
    """ISO-like local time: sorts and filters as text (``started>2026-01-02``)."""
    return "–" if v is None else dt.datetime.fromtimestamp(v).strftime("%Y-%m-%d %H:%M")


def _short_time(v: str | None) -> str:
    """This year's dates without the year (the filter still compares the full ``YYYY-MM-DD HH:MM``)."""
    if not v:
        return "–"
    return v[5:] if v[:4] == str(dt.date.today().year) else v[:10]


def _epochs(s: RunSummary) -> str:
    length = s.epochs_length
    return f"{s.epochs_trained:g}/{length:g}" if length else f"{s.epochs_trained:g}"


def _pct(v: float | None) -> float | None:
    return None if v is None else 100 * v


COLUMNS: tuple[Column, ...] = (
    Column("name", "run", "text", lambda s: s.name, one_line),  # a folder may hold an escape
    Column("state", "state", "text", lambda s: s.state),
    Column("epochs", "epochs", "number", lambda s: s.epochs_trained, aliases=("epoch", "done")),
    Column(
        "acc",
        "best acc",
        "number",
        lambda s: _pct(s.best_test_acc),
        lambda v: "–" if v is None else f"{v:.2f}%",
        aliases=("best",),
        shown_unit=0.01,
    ),
    Column(
        "loss", "last loss", "number", lambda s: s.last_test_loss, _num(".4f"), aliases=("test_loss",), shown_unit=1e-4
    ),
    Column("t99", "to 99%", "number", lambda s: s.time_to_99, _seconds, aliases=("time_to_99",), shown_unit=1.0),
    Column("lr", "lr", "number", lambda s: s.lr, _num("g")),
    Column("batch", "batch", "number", lambda s: s.batch_size, _num("d"), aliases=("batch_size", "bs")),
    Column("schedule", "schedule", "text", lambda s: s.schedule or None, lambda v: v or "–", aliases=("sched",)),
    Column("dropout", "dropout", "number", lambda s: (s.conv_dropout, s.fc_dropout), _dropout),
    Column(
        "sps",
        "img/s",
        "number",
        lambda s: s.samples_per_s,
        _num(",.0f"),
        aliases=("samples_per_s", "speed", "img/s"),
        shown_unit=1.0,
    ),
    Column(
        "started",
        "started",
        "text",
        lambda s: started_text(s.started) if s.started else None,
        _short_time,
        # the time itself: sorted by its minute, three runs started within one minute came by name
        order=lambda s: s.started or None,
    ),
    Column("recipe", "recipe", "text", lambda s: s.recipe or None, lambda v: v or "–"),
    Column("precision", "prec", "text", lambda s: s.precision or None, lambda v: v or "–", aliases=("prec",)),
    Column("seed", "seed", "number", lambda s: s.seed, _num("d")),
    Column("world", "world", "number", lambda s: s.world_size, _num("d"), aliases=("world_size",)),
    Column("device", "device", "text", lambda s: s.device or None, lambda v: v or "–"),
    Column("dataset", "data", "text", lambda s: s.dataset or None, lambda v: v or "–"),
)
# Columns a filter may name besides the shown ones (dropout shows both rates in one cell).
EXTRA: tuple[Column, ...] = (
    Column("conv_dropout", "conv dropout", "number", lambda s: s.conv_dropout, _num("g")),
    Column("fc_dropout", "fc dropout", "number", lambda s: s.fc_dropout, _num("g")),
    Column("planned", "planned", "number", lambda s: s.epochs_length, _num("g")),
    Column("problem", "problem", "text", lambda s: s.problem or None, lambda v: one_line(v or "")),
)
BY_KEY: dict[str, Column] = {}
for _column in COLUMNS + EXTRA:
    for _name in (_column.key, *_column.aliases):
        BY_KEY[_name] = _column


def cell_text(column: Column, summary: RunSummary) -> str:
    if column.key == "epochs":
        return _epochs(summary)
    return column.show(column.value(summary))


def sort_key(column: Column, descending: bool = False) -> Callable[[RunSummary], tuple]:
    """Unknown values last, whichever the direction (the caller reverses the known ones only)."""

    def key(summary: RunSummary) -> tuple:
        value = column.order(summary) if column.order is not None else column.value(summary)
        if isinstance(value, tuple):
            value = tuple(-1.0 if v is None else v for v in value)
            missing = all(v == -1.0 for v in value)
        else:
            missing = value is None
        if missing:
            return (1, 0, summary.name)
        if column.kind == "text":
            value = str(value).lower()
        return (0, value, summary.name)

    return key


def sort_summaries(summaries: list[RunSummary], column: Column, descending: bool = False) -> list[RunSummary]:
    key = sort_key(column)
    known = [s for s in summaries if key(s)[0] == 0]
    unknown = [s for s in summaries if key(s)[0] == 1]
    return sorted(known, key=key, reverse=descending) + sorted(unknown, key=lambda s: s.name)
