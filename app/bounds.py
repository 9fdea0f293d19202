"""Whole numbers, days and instants read from what clients send, by one helper each.

Every door goes through here: the pages' query strings, forms and paths, and the API's
request bodies and query parameters. A number is written with the ASCII digits 0 to 9
only (`str.isdigit` and `int` also take "²", "٣" or "४"), and lies within bounds given
by the caller; a day or an instant lies between EARLIEST_DAY and LATEST_DAY, so that no
time-zone conversion or day arithmetic near year 1 or 9999 can overflow.

The parsers return None for what they cannot read or what lies out of bounds; the
caller says so to the person in its own words (French on the pages, a 400 problem on
the API).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2100, 12, 31)
# Instants are compared in UTC, a day short of the bounds either side: whatever the
# offset or the time zone, their local day stays within year 1 to 9999.
EARLIEST_INSTANT = datetime.combine(EARLIEST_DAY, datetime.min.time(), UTC)
LATEST_INSTANT = datetime.combine(LATEST_DAY + timedelta(days=1), datetime.min.time(), UTC)
# The largest row id: the database's INTEGER (a 20-digit number overflows its driver).
LARGEST_ID = 2**31 - 1
DAY_BOUNDS_ENGLISH = f"between {EARLIEST_DAY} and {LATEST_DAY}"

T = TypeVar("T")

_WHOLE = re.compile(r"-?[0-9]{1,30}")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# An ISO 8601 instant as the pages write it: day, "T" or a space, HH:MM[:SS[.ffffff]],
# and an offset (Z or ±HH:MM); ASCII only.
_INSTANT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?"
)


def _read(text: str | None, shape: re.Pattern[str], read: Callable[[str], T]) -> T | None:
    """`read` of `text` without its surrounding spaces, when it has the `shape` the parser
    takes; None otherwise, or when `read` finds no such value (a ValueError)."""
    if text is None:
        return None
    text = text.strip()
    if shape.fullmatch(text) is None:
        return None
    try:
        return read(text)
    except ValueError:
        return None


def parse_int(text: str | None, low: int, high: int) -> int | None:
    """The whole number `text` writes in ASCII digits (an optional leading minus), if it
    lies within `low`..`high`; None otherwise."""
    value = _read(text, _WHOLE, int)
    return value if value is not None and low <= value <= high else None


_ID_DIGITS = re.compile(r"[0-9]{1,30}")
# A whole number as JSON writes one, which is what the API's query parameters read as a
# number (msgspec's reading, but for "1e2" or "1.0", which it also takes for 100 and 1).
_JSON_WHOLE = re.compile(r"-?(0|[1-9][0-9]{0,29})")


def json_whole(text: str) -> bool:
    """Whether `text` writes a whole number as JSON does: ASCII digits, an optional
    leading minus, no leading zero; no plus, space, decimal point or exponent."""
    return _JSON_WHOLE.fullmatch(text) is not None


def path_ids_plain(template: str, path: str, values: Mapping[str, object]) -> bool:
    """Whether each segment of `path` that the router read as a whole number (an id, in
    `values` by name; `{name}` in the route's `template`) is written in ASCII digits only:
    its reading (`int`) also takes "+4", " 4", "4_0" and "४", and acts on that record."""
    wanted, given = template.strip("/").split("/"), path.strip("/").split("/")
    if len(wanted) != len(given):  # a parameter spanning segments: no id to line up
        return True
    ids = {f"{{{name}}}" for name, value in values.items() if type(value) is int}
    return all(
        _ID_DIGITS.fullmatch(text)
        for shape, text in zip(wanted, given, strict=True)
        if shape in ids
    )


def parse_date(text: str | None, low: date = EARLIEST_DAY, high: date = LATEST_DAY) -> date | None:
    """The day `text` writes as YYYY-MM-DD, if it lies within `low`..`high`."""
    day = read_any_date(text)
    return day if day is not None and within_days(day, low, high) else None


def read_any_date(text: str | None) -> date | None:
    """The day `text` writes as YYYY-MM-DD, whatever its year (1 to 9999): for a caller
    that tells a day out of bounds from no day at all, and brings it within bounds itself
    before counting from it (the day after 9999-12-31 is none)."""
    return _read(text, _DAY, date.fromisoformat)


def parse_datetime(text: str | None) -> datetime | None:
    """The instant `text` writes in ISO 8601 with an offset, if it lies within the days
    EARLIEST_DAY..LATEST_DAY; None for a local time without an offset."""
    instant = _read(text, _INSTANT, datetime.fromisoformat)
    return instant if instant is not None and instant_within(instant) else None


def within_days(day: date, low: date = EARLIEST_DAY, high: date = LATEST_DAY) -> bool:
    return max(low, EARLIEST_DAY) <= day <= min(high, LATEST_DAY)


def instant_within(instant: datetime) -> bool:
    """An instant with an offset, within EARLIEST_DAY..LATEST_DAY."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        return False
    # Comparing aware datetimes goes through UTC without building one: no overflow.
    return EARLIEST_INSTANT <= instant < LATEST_INSTANT


def check_instant(instant: datetime, name: str) -> None:
    """For request bodies (a msgspec Struct's `__post_init__`): a ValueError, which the
    decoder turns into a 400 naming the field, when `instant` is out of bounds."""
    if not instant_within(instant):
        raise ValueError(f"`{name}` must lie {DAY_BOUNDS_ENGLISH}, with an offset")


def check_day(day: date | None, name: str) -> None:
    """For request bodies: a ValueError when `day` is out of bounds."""
    if day is not None and not within_days(day):
        raise ValueError(f"`{name}` must lie {DAY_BOUNDS_ENGLISH}")


# Control and format characters (tab, line ends, NUL, bidirectional overrides, zero
# widths), and lone surrogates: none belongs in a text a person types.
_UNPRINTABLE = frozenset({"Cc", "Cf", "Cs"})


def plain(text: str) -> str:
    """`text` without control or format characters: those that part words (a tab, a line
    end) become a space, the others go; the ordinary space stays."""
    return "".join(
        (" " if char.isspace() else "") if unicodedata.category(char) in _UNPRINTABLE else char
        for char in text
    )
