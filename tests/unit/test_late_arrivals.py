"""Where a late arrival goes in the queue, and when the mairie counts as closed: pure rules
with `now` passed in."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.queue.service import closing_time, has_closed, is_open, late_placement
from app.sites.hours import OpenDay
from app.sites.models import Site

START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def site(rule: str = "walk_in", tolerance: int = 15, grace: int = 10) -> Site:
    return Site(late_arrival_rule=rule, check_in_late_minutes=tolerance, late_grace_minutes=grace)


def test_within_the_tolerance_a_person_is_on_time_and_keeps_the_booked_place() -> None:
    assert late_placement(site(), START, START + timedelta(minutes=15)) == (False, True)
    assert late_placement(site(), START, START - timedelta(minutes=20)) == (False, True)


def test_past_it_a_person_is_late_and_placed_by_the_sites_rule() -> None:
    later = START + timedelta(minutes=20)

    assert late_placement(site("walk_in"), START, later) == (True, False)
    assert late_placement(site("grace"), START, later) == (True, True)
    assert late_placement(site("grace"), START, later + timedelta(minutes=6)) == (True, False)


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
