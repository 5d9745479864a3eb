"""Field checks for records read from disk: one error naming the field, never a stray exception.

Every file of the run folder is read through a record type's ``from_json``, which uses these
helpers, so a row that is valid JSON but wrong inside (a missing field, a string where a
number belongs, a non-finite loss) is refused with the field's name and then skipped.
"""

from __future__ import annotations

import math
from typing import Any

# The most of any other count a run folder holds (samples, batches, ranks, parameters): a run's
# are far fewer (MNIST's idx files unpack to at most 64 MiB, about 85,000 digits). Past it a
# count is damage: a metrics row's epoch of 1e23 was taken, and ended --export-tensorboard in
# protobuf's "Value out of range" (a step is an int64) after drawing an axis to 1e23. Epochs have
# their own, smaller bound: the configuration's MAX_EPOCHS.
MAX_COUNT = 10**9


class RecordError(ValueError):
    """A row of a run-folder file that does not fit its schema; the message names the field."""


def show(value: Any) -> str:
    """A value for a one-line message: no newlines, cut short."""
    try:
        text = " ".join(repr(value).split())
    except ValueError:  # an int past Python's 4,300-digit limit for turning it into text
        return "a number of over 4,300 digits"
    return text if len(text) <= 60 else text[:57] + "..."


def mapping(row: Any, what: str) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise RecordError(f"{what} is not a JSON object")
    return row


def integer(
    row: dict[str, Any], name: str, minimum: int | None = None, default: Any = ..., maximum: int | None = None
) -> int:
    value = _get(row, name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        if value is default:
            return value
        raise RecordError(f"field {name!r} is not a whole number ({show(value)})")
    if minimum is not None and value < minimum:
        raise RecordError(f"field {name!r} is below {minimum} ({show(value)})")
    if maximum is not None and value > maximum:
        raise RecordError(f"field {name!r} is above {maximum} ({show(value)})")
    return value


def finite(value: Any) -> bool:
    """A JSON number that is a finite float: an int of 5,000 digits is not (math.isfinite raised
    OverflowError on it, and a damaged row took a whole replay or export down)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def number(
    row: dict[str, Any], name: str, low: float | None = None, high: float | None = None, default: Any = ...
) -> float:
    """A finite number (an int is taken as a float), optionally within [low, high]."""
    value = _get(row, name, default)
    if value is default and default is not ...:
        return value
    if not finite(value):
        raise RecordError(f"field {name!r} is not a finite number ({show(value)})")
    if (low is not None and value < low) or (high is not None and value > high):
        raise RecordError(f"field {name!r} is out of range ({show(value)})")
    return float(value)


def text(row: dict[str, Any], name: str, default: Any = ...) -> str:
    value = _get(row, name, default)
    if value is default and default is not ...:
        return value
    if not isinstance(value, str):
        raise RecordError(f"field {name!r} is not a string ({show(value)})")
    return value


def numbers(row: dict[str, Any], name: str, length: int | None = None) -> tuple[float, ...]:
    """A list of finite numbers (a loss may be huge but never NaN in a written log)."""
    value = _get(row, name, ...)
    if not isinstance(value, list):
        raise RecordError(f"field {name!r} is not a list")
    if length is not None and len(value) != length:
        raise RecordError(f"field {name!r} has {len(value)} items, expected {length}")
    out = []
    for item in value:
        if not finite(item):
            raise RecordError(f"field {name!r} holds {show(item)}, not a finite number")
        out.append(float(item))
    return tuple(out)


def _get(row: dict[str, Any], name: str, default: Any) -> Any:
    if name in row:
        return row[name]
    if default is ...:
        raise RecordError(f"field {name!r} is missing")
    return default
