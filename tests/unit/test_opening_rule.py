"""Whether a mairie is open, and the rule that follows (no estimate while it is closed):
pure functions of its calendar and `now`, in Europe/Paris local time."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.sites.hours import ClosedPeriod, SiteCalendar, WeeklyRule
from app.sites.opening import (
    NEXT_OPENING_WITHIN_DAYS,
    OPEN,
    Opening,
    estimate,
    opening_at,
    read_in_same_minute,
)

PARIS = ZoneInfo("Europe/Paris")
# Weekdays 8 h 30 – 12 h 00 and 13 h 30 – 17 h 00; 2026-12-01 is a Tuesday.
WEEK = [
    WeeklyRule(weekday, opens, closes)
    for weekday in range(5)
    for opens, closes in ((time(8, 30), time(12, 0)), (time(13, 30), time(17, 0)))
]
CALENDAR = SiteCalendar(timezone=PARIS, weekly=WEEK)
TUESDAY = date(2026, 12, 1)


def at(day: str, hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=PARIS)


def opening(now: datetime, calendar: SiteCalendar = CALENDAR) -> Opening:
    return opening_at(calendar, now.date(), now)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("09:00", OPEN),
        ("08:30", OPEN),  # a range includes its start
        ("07:45", Opening(open=False, opens=at("2026-12-01", "08:30"), today=True)),
        ("12:00", Opening(open=False, opens=at("2026-12-01", "13:30"), today=True)),  # lunch
        ("17:00", Opening(open=False, opens=at("2026-12-02", "08:30"))),  # and its end not
    ],
)
def test_a_moment_is_open_or_says_when_the_mairie_opens_next(now: str, expected: Opening) -> None:
    assert opening(at("2026-12-01", now)) == expected


@pytest.mark.parametrize(
    ("now", "until"),
    [
        ("07:45", "2026-12-01T08:30"),  # it opens
        ("08:30", "2026-12-01T12:00"),  # it closes for lunch
        ("12:00", "2026-12-01T13:30"),
        ("16:59:59", "2026-12-01T17:00"),
        ("17:00", "2026-12-02T00:00"),  # "opens tomorrow" becomes "opens today"
    ],
)
def test_an_opening_says_until_when_the_hours_give_the_same_answer(now: str, until: str) -> None:
    found = opening(at("2026-12-01", now))

    assert found.until == datetime.fromisoformat(until).replace(tzinfo=PARIS)
    moments = [at("2026-12-01", now) + timedelta(seconds=s) for s in range(0, 30_000, 30)]
    for moment in (m for m in moments if found.until is not None and m < found.until):
        assert opening(moment) == found, moment


def test_a_friday_evening_opens_next_on_monday() -> None:
    assert opening(at("2026-12-04", "18:10")) == Opening(
        open=False, opens=at("2026-12-07", "08:30")
    )


def test_a_closure_longer_than_the_look_ahead_gives_no_next_opening() -> None:
    closed = ClosedPeriod(
        at("2026-12-02", "00:00"),
        at("2026-12-02", "00:00") + timedelta(days=NEXT_OPENING_WITHIN_DAYS + 7),
        "Travaux",
    )
    calendar = SiteCalendar(timezone=PARIS, weekly=WEEK, closures=[closed])

    assert opening(at("2026-12-01", "18:10"), calendar) == Opening(open=False)


def test_no_estimate_is_given_while_the_mairie_is_closed() -> None:
    closed = Opening(open=False, opens=at("2026-12-01", "08:30"), today=True)

    assert estimate(OPEN, (5, 12)) == (5, 12)
    assert estimate(OPEN, None) is None
    assert estimate(closed, (5, 12)) is None
    assert estimate(closed, [5, 12]) is None


def test_an_opening_read_holds_until_the_end_of_its_minute() -> None:
    read = at("2026-12-01", "09:00:20")

    assert read_in_same_minute(read, read)
    assert read_in_same_minute(read, at("2026-12-01", "09:00:59.999999"))
    assert not read_in_same_minute(read, at("2026-12-01", "09:01"))
    assert not read_in_same_minute(read, at("2026-12-01", "09:00:19"))  # a clock set back


def test_the_answer_changes_only_on_the_minute_for_hours_given_in_minutes() -> None:
    """Why a minute's cache is right: across a day, the answer at any second is the one at
    the start of its minute."""
    moments = [at("2026-12-01", "00:00") + timedelta(seconds=s) for s in range(0, 86_400, 20)]
    for now in moments:
        assert opening(now) == opening(now.replace(second=0)), now
