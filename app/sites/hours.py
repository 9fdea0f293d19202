"""When a site is open: a pure function of its weekly hours, dated exceptions,
public holidays and closures, in the site's local time."""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class WeeklyRule:
    """An opening range on a weekday (0 = Monday); `nth_in_month` limits it to the
    n-th such weekday of the month (1-5, or -1 for the last)."""

    weekday: int
    opens: time
    closes: time
    nth_in_month: int | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class DatedHours:
    """Hours of one date replacing the weekly pattern; no times means closed."""

    day: date
    opens: time | None = None
    closes: time | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ClosedPeriod:
    """A closure between two aware instants."""

    starts_at: datetime
    ends_at: datetime
    reason: str = ""


Interval = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class OpenDay:
    """What a site's day looks like: its open intervals, as UTC instants, and why it
    differs from the usual week, if it does.

    Instants stay in UTC for arithmetic: two datetimes sharing a ZoneInfo are
    subtracted and compared by wall clock, which is wrong across a DST change.
    Convert to local time only to show them.
    """

    day: date
    intervals: tuple[Interval, ...]
    note: str = ""

    @property
    def is_open(self) -> bool:
        return bool(self.intervals)


@dataclass(frozen=True)
class SiteCalendar:
    """Everything that decides when a site is open."""

    timezone: ZoneInfo
    weekly: Sequence[WeeklyRule] = ()
    exceptions: Sequence[DatedHours] = ()
    closures: Sequence[ClosedPeriod] = ()
    public_holidays_closed: bool = True
    _by_day: dict[date, list[DatedHours]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_day: dict[date, list[DatedHours]] = {}
        for exception in self.exceptions:
            by_day.setdefault(exception.day, []).append(exception)
        object.__setattr__(self, "_by_day", by_day)

    def day(self, day: date) -> OpenDay:
        """The open intervals of `day`, as UTC instants, from its local hours."""
        ranges, note = self._ranges(day)
        intervals = [
            (local_instant(day, opens, self.timezone), local_instant(day, closes, self.timezone))
            for opens, closes in ranges
        ]
        intervals = merged([(start, end) for start, end in intervals if start < end])
        if intervals and self.closures:
            intervals, closure_reason = _subtract(intervals, self.closures)
            note = note or closure_reason
        return OpenDay(day, tuple(intervals), note)

    def days(self, first: date, last: date) -> Iterator[OpenDay]:
        """Each day from `first` to `last`, both included."""
        day = first
        while day <= last:
            yield self.day(day)
            day += timedelta(days=1)

    def _ranges(self, day: date) -> tuple[list[tuple[time, time]], str]:
        dated = self._by_day.get(day)
        if dated:
            opening = [
                (row.opens, row.closes)
                for row in dated
                if row.opens is not None and row.closes is not None
            ]
            reason = next((row.reason for row in dated if row.reason), "")
            return sorted(opening), reason
        if self.public_holidays_closed:
            holiday = public_holiday(day)
            if holiday:
                return [], holiday
        rules = [rule for rule in self.weekly if rule.weekday == day.weekday()]
        occurrence = nth_in_month(day)
        special = [rule for rule in rules if rule.nth_in_month in occurrence]
        if special:
            note = next((rule.note for rule in special if rule.note), "")
            return sorted((rule.opens, rule.closes) for rule in special), note
        ordinary = [rule for rule in rules if rule.nth_in_month is None]
        return sorted((rule.opens, rule.closes) for rule in ordinary), ""


def nth_in_month(day: date) -> tuple[int, ...]:
    """Which occurrences of its weekday `day` is: (1,) for the first, (5, -1) for a
    fifth that is also the last."""
    nth = (day.day - 1) // 7 + 1
    days_in_month = calendar.monthrange(day.year, day.month)[1]
    return (nth, -1) if day.day + 7 > days_in_month else (nth,)


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """`day` at wall-clock `at` in `tz`, as a real instant in UTC.

    A wall-clock time in the spring-forward gap does not exist: it is moved
    forward by the length of the gap. In the repeated autumn hour, the first
    occurrence is taken.
    """
    naive = datetime.combine(day, at)
    return naive.replace(tzinfo=tz).astimezone(UTC)


def local_days(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants the local days `first` to `last` begin and end (the next midnight)."""
    return local_instant(first, time(0), tz), local_instant(last + timedelta(days=1), time(0), tz)


# The `holidays` package's name for each language of the service (it has no British English).
HOLIDAY_LANGUAGES = {"fr": "fr", "en": "en_US"}


@lru_cache(maxsize=64)
def _french_holidays(year: int, language: str) -> dict[date, str]:
    return dict(holidays.country_holidays("FR", years=year, language=language).items())


def public_holiday(day: date, language: str = "fr") -> str | None:
    """The name, in `language`, of the French public holiday on `day` (metropolitan
    France), if any."""
    return _french_holidays(day.year, HOLIDAY_LANGUAGES.get(language, "fr")).get(day)


def _subtract(
    intervals: list[Interval], closures: Sequence[ClosedPeriod]
) -> tuple[list[Interval], str]:
    reason = ""
    for closure in closures:
        remaining: list[Interval] = []
        for start, end in intervals:
            if closure.ends_at <= start or closure.starts_at >= end:
                remaining.append((start, end))
                continue
            reason = reason or closure.reason
            if start < closure.starts_at:
                remaining.append((start, closure.starts_at.astimezone(UTC)))
            if closure.ends_at < end:
                remaining.append((closure.ends_at.astimezone(UTC), end))
        intervals = remaining
    return intervals, reason


def merged(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted intervals with the overlapping or touching ones joined."""
    joined: list[Interval] = []
    for start, end in sorted(intervals):
        if joined and start <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], end))
        else:
            joined.append((start, end))
    return joined
