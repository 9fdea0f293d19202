"""Where a late arrival goes in the queue, and when the mairie counts as closed: pure rules
with `now` passed in."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.booking.models import Appointment
from app.errors import Conflict
from app.queue.queries import check_in_allowed, late_placement
from app.sites.hours import OpenDay
from app.sites.models import Site
from app.sites.opening import closing_time, has_closed, is_open

START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def site(rule: str = "walk_in", tolerance: int = 15, grace: int = 10) -> Site:
    return Site(late_arrival_rule=rule, check_in_late_minutes=tolerance, late_grace_minutes=grace)


def minutes(n: int) -> datetime:
    return START + timedelta(minutes=n)


def test_within_the_tolerance_a_person_is_on_time_and_keeps_the_booked_place() -> None:
    assert late_placement(site(), START, START + timedelta(minutes=15)) == (False, True)
    assert late_placement(site(), START, START - timedelta(minutes=20)) == (False, True)


def test_past_it_a_person_is_late_and_placed_by_the_sites_rule() -> None:
    later = START + timedelta(minutes=20)

    assert late_placement(site("walk_in"), START, later) == (True, False)
    assert late_placement(site("grace"), START, later) == (True, True)
    assert late_placement(site("grace"), START, later + timedelta(minutes=6)) == (True, False)


@pytest.mark.parametrize("rule", ["walk_in", "grace"])
def test_up_to_the_tolerance_included_a_person_is_on_time(rule: str) -> None:
    assert late_placement(site(rule), START, minutes(14)) == (False, True)
    assert late_placement(site(rule), START, minutes(15)) == (False, True)
    assert late_placement(site(rule, tolerance=0), START, START) == (False, True)


def test_a_minute_past_the_tolerance_a_person_is_late() -> None:
    assert late_placement(site("walk_in"), START, minutes(16)) == (True, False)
    assert late_placement(site("grace"), START, minutes(16)) == (True, True)
    assert late_placement(site("walk_in", tolerance=5), START, minutes(6)) == (True, False)
    assert late_placement(site("walk_in", tolerance=5), START, minutes(5)) == (False, True)


def test_the_grace_keeps_the_booked_place_up_to_its_last_minute_included() -> None:
    # Tolerance 15 and grace 10: the booked place is kept up to 25 minutes after the start.
    assert late_placement(site("grace"), START, minutes(24)) == (True, True)
    assert late_placement(site("grace"), START, minutes(25)) == (True, True)
    assert late_placement(site("grace"), START, minutes(26)) == (True, False)
    assert late_placement(site("grace", grace=0), START, minutes(16)) == (True, False)
    assert late_placement(site("grace", grace=60), START, minutes(75)) == (True, True)


# The check-in window: from `check_in_early_minutes` before the start to
# `late_check_in_limit_minutes` after the end, while the mairie has not closed for the day.

OPEN_ALL_DAY = OpenDay(date(2026, 12, 1), ((START.replace(hour=7), START.replace(hour=16)),))


def check_in_site(early: int = 30, limit: int = 30) -> Site:
    return Site(
        name="Mairie du 15e",
        timezone="Europe/Paris",
        check_in_early_minutes=early,
        late_check_in_limit_minutes=limit,
    )


def booked(status: str = "booked") -> Appointment:
    """10:00 to 10:30 UTC (11:00 to 11:30 in Paris)."""
    return Appointment(status=status, starts_at=START, ends_at=minutes(30))


def refusal(at: datetime, where: Site | None = None, day: OpenDay = OPEN_ALL_DAY) -> str | None:
    try:
        check_in_allowed(where or check_in_site(), booked(), at, day)
    except Conflict as refused:
        return refused.code
    return None


def test_check_in_opens_exactly_the_early_minutes_before_the_start() -> None:
    assert refusal(minutes(-31)) == "check_in_too_early"
    assert refusal(minutes(-30)) is None
    assert refusal(minutes(-29)) is None
    assert refusal(minutes(-11), check_in_site(early=10)) == "check_in_too_early"
    assert refusal(minutes(-10), check_in_site(early=10)) is None
    assert refusal(minutes(-1), check_in_site(early=0)) == "check_in_too_early"
    assert refusal(START, check_in_site(early=0)) is None


def test_check_in_closes_exactly_the_limit_after_the_end() -> None:
    assert refusal(minutes(59)) is None
    assert refusal(minutes(60)) is None
    assert refusal(minutes(61)) == "check_in_too_late"
    assert refusal(minutes(45), check_in_site(limit=15)) is None
    assert refusal(minutes(46), check_in_site(limit=15)) == "check_in_too_late"
    assert refusal(minutes(30), check_in_site(limit=0)) is None
    assert refusal(minutes(31), check_in_site(limit=0)) == "check_in_too_late"


def test_the_refusal_says_the_local_times() -> None:
    with pytest.raises(Conflict, match="check-in opens at 10:30 for the appointment at 11:00"):
        check_in_allowed(check_in_site(), booked(), minutes(-31), OPEN_ALL_DAY)
    with pytest.raises(Conflict, match=r"ended at 11:30, .* up to 30 minutes after its end"):
        check_in_allowed(check_in_site(), booked(), minutes(61), OPEN_ALL_DAY)


def test_only_a_booked_appointment_checks_in() -> None:
    for status, code in [("checked_in", "already_checked_in"), ("cancelled", "not_booked")]:
        with pytest.raises(Conflict) as refused:
            check_in_allowed(check_in_site(), booked(status), START, OPEN_ALL_DAY)
        assert refused.value.code == code


def test_nobody_checks_in_once_the_mairie_has_closed_for_the_day() -> None:
    closes_at_ten_thirty = OpenDay(date(2026, 12, 1), ((START.replace(hour=7), minutes(30)),))

    assert refusal(minutes(29), day=closes_at_ten_thirty) is None
    assert refusal(minutes(30), day=closes_at_ten_thirty) == "site_closed"


@given(
    rule=st.sampled_from(["walk_in", "grace"]),
    tolerance=st.integers(0, 240),
    grace=st.integers(0, 60),
    minutes=st.integers(-240, 600),
)
def test_late_means_past_the_tolerance_and_only_the_grace_keeps_a_late_place(
    rule: str, tolerance: int, grace: int, minutes: int
) -> None:
    now = START + timedelta(minutes=minutes)

    late, keeps_time = late_placement(site(rule, tolerance, grace), START, now)

    assert late == (minutes > tolerance)
    if late and keeps_time:
        assert rule == "grace"
        assert minutes <= tolerance + grace
    if not late:
        assert keeps_time


def test_a_day_with_a_break_is_open_in_its_ranges_and_closed_for_good_after_the_last() -> None:
    at = START.replace
    day = OpenDay(
        date(2026, 12, 1), ((at(hour=8), at(hour=12)), (at(hour=13, minute=30), at(hour=17)))
    )

    assert is_open(day, at(hour=9))
    assert not is_open(day, at(hour=12, minute=30))
    assert not has_closed(day, at(hour=12, minute=30))  # the afternoon is still to come
    assert not is_open(day, at(hour=17))
    assert has_closed(day, at(hour=17))
    assert closing_time(day) == at(hour=17)
    assert closing_time(OpenDay(date(2026, 12, 6), ())) is None
    assert has_closed(OpenDay(date(2026, 12, 6), ()), at(hour=9))
