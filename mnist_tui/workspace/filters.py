"""The ``/`` filter: words separated by spaces, all of which a run must match.

* ``column<value`` (also ``<=``, ``>``, ``>=``, ``=``, ``!=``): a condition on a column, e.g.
  ``lr<0.005``, ``dropout=0.1``, ``state=finished``, ``acc>=98`` (accuracy in percent).
  Numeric columns compare as numbers; text columns compare case-insensitively, and ``=``/``!=``
  take shell wildcards (``name=lr-*``); on a measured column (acc, loss, t99, sps) ``=`` compares
  as the table shows it, or more closely where more digits are typed (``acc=98.94`` is 98.940002).
  ``dropout`` holds both rates: a condition on it must hold for each (``conv_dropout`` and
  ``fc_dropout`` test one). A run whose value is unknown matches only ``!=``.
* any other word: a case-insensitive substring of the run's name or of one of its settings.

A word that looks like a condition but is not one (an unknown column, a number that is not
one, a state that is none) is refused with a message saying what is wrong: :func:`parse_filter` raises
:class:`FilterError`, never anything else.
"""

from __future__ import annotations

import datetime as dt
import difflib
import fnmatch
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mnist_tui.workspace.columns import BY_KEY, COLUMNS, EXTRA, Column
from mnist_tui.workspace.index import RunSummary
from mnist_tui.workspace.summary import ROW_STATES

OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
    "=": operator.eq,
}
_CONDITION = re.compile(r"^([A-Za-z_][A-Za-z0-9_/]*)(<=|>=|!=|==|<|>|=)(.*)$")  # "/": img/s, as headed


class FilterError(ValueError):
    """A word of the filter that cannot be applied; the message says which and why."""


@dataclass(frozen=True)
class Condition:
    column: Column
    op: str
    value: Any  # a float for numeric columns, lower-case text otherwise
    within: float = 0.0  # = and != on a measured number: half its last digit, typed or shown

    def matches(self, summary: RunSummary) -> bool:
        raw = self.column.value(summary)
        values = raw if isinstance(raw, tuple) else (raw,)
        if any(v is None for v in values):
            return self.op == "!="
        return all(self._test(v) for v in values)

    def _test(self, value: Any) -> bool:
        if self.column.kind == "number":  # a measured value as shown (98.94 is 98.940002): = and >= agree
            number = float(value)
            near = abs(number - self.value) <= self.within
            if near:
                return self.op in ("=", "<=", ">=")
            return self.op == "!=" or (self.op != "=" and OPERATORS[self.op](number, self.value))
        text = str(value).lower()
        if self.op in ("=", "!=") and any(c in self.value for c in "*?["):
            hit = fnmatch.fnmatchcase(text, self.value)
            return hit if self.op == "=" else not hit
        return OPERATORS[self.op](text, self.value)


@dataclass(frozen=True)
class Substring:
    text: str  # lower case

    def matches(self, summary: RunSummary) -> bool:
        if self.text in summary.name.lower():
            return True
        return any(self.text in _setting_text(v) for v in summary.settings.values())


def _setting_text(value: Any) -> str:
    if value is None:
        return ""
    return format(value, "g").lower() if isinstance(value, float) else str(value).lower()


@dataclass(frozen=True)
class RunFilter:
    text: str
    words: tuple[Condition | Substring, ...] = ()

    def matches(self, summary: RunSummary) -> bool:
        return all(word.matches(summary) for word in self.words)

    def apply(self, summaries: list[RunSummary]) -> list[RunSummary]:
        return [s for s in summaries if self.matches(s)] if self.words else list(summaries)

    @property
    def empty(self) -> bool:
        return not self.words


def _columns_hint() -> str:
    return ", ".join(c.key for c in COLUMNS + EXTRA)  # the hint left out the four a filter also takes


def _near_column(name: str) -> str | None:
    """The column meant, where a name starts like one (accuracy → acc, lrate → lr) or is a typo
    of one (scheduel → schedule); None where none is close."""
    prefixed = [key for key in BY_KEY if name.startswith(key) or (len(name) > 2 and key.startswith(name))]
    near = sorted(prefixed, key=len, reverse=True) or difflib.get_close_matches(name, BY_KEY, n=1, cutoff=0.75)
    return BY_KEY[near[0]].key if near else None


def _parse_word(word: str) -> Condition | Substring:
    match = _CONDITION.match(word)
    if match is None:
        if word[0] in "<>=!":
            raise FilterError(f"{word!r}: a condition needs a column before {word[0]!r}, like lr<0.005")
        return Substring(word.lower())
    name, op, text = match.groups()
    op = "=" if op == "==" else op
    column = BY_KEY.get(name.lower())
    if column is None:
        near = _near_column(name.lower())
        guess = f"; {near}?" if near else ""
        raise FilterError(f"{word!r}: no column {name!r}{guess} (columns: {_columns_hint()})")
    if not text:
        raise FilterError(f"{word!r}: no value after {op!r}")
    if column.kind == "number":
        number = (text[:-1] if text.endswith("%") else text).replace(",", "")  # as shown: 52,362 and 98.94%
        try:
            value: Any = _seconds(number) if ":" in number and column.key == "t99" else float(number)
        except ValueError:
            raise FilterError(f"{word!r}: {column.key} is a number, {text!r} is not one") from None
        if value != value:  # NaN compares false with everything: refuse it rather than match nothing
            raise FilterError(f"{word!r}: {text!r} is not a number to compare with")
        return Condition(column, op, value, 0.5 * min(_unit(number), column.shown_unit))
    elif column.key == "state" and not any(c in text for c in "*?[") and text.lower() not in ROW_STATES:
        raise FilterError(f"{word!r}: no state {text!r} (states: {', '.join(ROW_STATES)})")
    elif column.key == "started" and not (op in ("=", "!=") and any(c in text for c in "*?[")):
        value = _date_prefix(word, text)  # = and != take the whole day (month, year): as a pattern;
        value = f"{value}*" if op in ("=", "!=") else value  # > and <= all of it too: "2026-11-05 08:00"
        value = f"{value}~" if op in (">", "<=") else value  # sorted after "2026-11-05", before its "~"
    else:
        value = text.lower()
    return Condition(column, op, value)


def _seconds(text: str) -> float:
    """``1:06`` → 66.0, as the "to 99%" column shows a time; ValueError for anything else."""
    minutes, _, seconds = text.partition(":")
    if not (minutes.isdigit() and seconds.isdigit() and len(seconds) == 2):
        raise ValueError(text)
    return 60.0 * int(minutes) + int(seconds)


def _unit(number: str) -> float:
    """The unit of the last digit written: 98.94 → 0.01, 66 → 1, 1e-3 → 0 (exact)."""
    if "e" in number.lower():
        return 0.0
    return 10.0 ** -len(number.split(".")[1]) if "." in number else 1.0


_DATE_FORMATS = {4: "%Y", 7: "%Y-%m", 10: "%Y-%m-%d"}


def _date_prefix(word: str, text: str) -> str:
    """``started`` compares as ``YYYY-MM-DD HH:MM`` text: a year, month or day to compare with.
    A date that is none (``2026-13-45``) matched nothing, without a word."""
    form = _DATE_FORMATS.get(len(text))
    try:
        if form is None:
            raise ValueError
        dt.datetime.strptime(text, form)
    except ValueError:
        raise FilterError(f"{word!r}: started takes a date, YYYY, YYYY-MM or YYYY-MM-DD; {text!r} is not one") from None
    return text


def parse_filter(text: str) -> RunFilter:
    """The filter typed after ``/``; raises :class:`FilterError` naming every bad word (it named
    the first alone, and the next went unsaid until that one was mended)."""
    conditions, problems = [], []
    for word in text.split():
        try:
            conditions.append(_parse_word(word))
        except FilterError as exc:
            problems.append(str(exc))
    if problems:
        raise FilterError("; ".join(problems))
    return RunFilter(text, tuple(conditions))
