"""Ticket numbers: the letter of each group, three digits or more, the local day they count."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from app.queue.numbering import letter, spoken, ticket_day, ticket_number

PARIS = ZoneInfo("Europe/Paris")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_a_number_is_the_letter_and_the_counter_on_three_digits() -> None:
    assert ticket_number("A", 1) == "A001"
    assert ticket_number("B", 9) == "B009"
    assert ticket_number("A", 10) == "A010"
    assert ticket_number("R", 42) == "R042"
    assert ticket_number("A", 999) == "A999"


def test_past_999_the_number_grows_a_digit_rather_than_come_round() -> None:
    assert ticket_number("A", 1000) == "A1000"
    assert ticket_number("B", 1001) == "B1001"


@pytest.mark.parametrize("counter", [0, -1])
def test_a_counter_below_one_is_refused(counter: int) -> None:
    with pytest.raises(ValueError, match=r"^ticket counters start at 1$"):
        ticket_number("A", counter)


def test_the_letter_tells_appointments_and_double_stations_apart_but_not_priority() -> None:
    assert letter(appointment=False, double=False) == "A"
    assert letter(appointment=False, double=True) == "B"
    assert letter(appointment=True, double=False) == "R"
    assert letter(appointment=True, double=True) == "R"


def test_the_screen_reads_a_number_without_its_leading_zeros() -> None:
    assert spoken("A001") == "A 1"
    assert spoken("B042") == "B 42"
    assert spoken("A010") == "A 10"
    assert spoken("R100") == "R 100"
    assert spoken("A999") == "A 999"
    assert spoken("A1000") == "A 1000"


@pytest.mark.parametrize(
    ("instant", "day"),
    [
        # Winter (UTC+1): 23:59 and 00:00 in Paris.
        ("2026-12-01T22:59", date(2026, 12, 1)),
        ("2026-12-01T23:00", date(2026, 12, 2)),
        # Summer (UTC+2).
        ("2027-06-01T21:59", date(2027, 6, 1)),
        ("2027-06-01T22:00", date(2027, 6, 2)),
        # The spring change (28 March 2027, 02:00 -> 03:00): the midnight before it, the
        # minutes either side of the jump, and the midnight after it, already in summer.
        ("2027-03-27T22:59", date(2027, 3, 27)),
        ("2027-03-27T23:00", date(2027, 3, 28)),
        ("2027-03-28T00:59", date(2027, 3, 28)),
        ("2027-03-28T01:00", date(2027, 3, 28)),
        ("2027-03-28T21:59", date(2027, 3, 28)),
        ("2027-03-28T22:00", date(2027, 3, 29)),
        # The autumn change (31 October 2027, 03:00 -> 02:00): the midnight before it, both
        # 02:30s, and the midnight after it, already in winter.
        ("2027-10-30T21:59", date(2027, 10, 30)),
        ("2027-10-30T22:00", date(2027, 10, 31)),
        ("2027-10-31T00:30", date(2027, 10, 31)),
        ("2027-10-31T01:30", date(2027, 10, 31)),
        ("2027-10-31T22:59", date(2027, 10, 31)),
        ("2027-10-31T23:00", date(2027, 11, 1)),
        # The 2026 changes too: 29 March and 25 October.
        ("2026-03-28T22:59", date(2026, 3, 28)),
        ("2026-03-28T23:00", date(2026, 3, 29)),
        ("2026-03-29T21:59", date(2026, 3, 29)),
        ("2026-03-29T22:00", date(2026, 3, 30)),
        ("2026-10-24T21:59", date(2026, 10, 24)),
        ("2026-10-24T22:00", date(2026, 10, 25)),
        ("2026-10-25T22:59", date(2026, 10, 25)),
        ("2026-10-25T23:00", date(2026, 10, 26)),
    ],
)
def test_the_counter_day_turns_at_local_midnight_in_paris(instant: str, day: date) -> None:
    assert ticket_day(utc(instant), PARIS) == day


def test_the_day_is_the_one_of_the_time_zone_given() -> None:
    late_evening = utc("2026-12-01T23:30")

    assert ticket_day(late_evening, PARIS) == date(2026, 12, 2)
    assert ticket_day(late_evening, ZoneInfo("UTC")) == date(2026, 12, 1)
    assert ticket_day(late_evening.astimezone(PARIS), ZoneInfo("UTC")) == date(2026, 12, 1)
