"""When a mairie is open: the pure calendar function, in Europe/Paris local time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import assume, given
from hypothesis import strategies as st

from app.sites.hours import (
    ClosedPeriod,
    DatedHours,
    SiteCalendar,
    WeeklyRule,
    local_instant,
    nth_in_month,
    public_holiday,
)

PARIS = ZoneInfo("Europe/Paris")
MAIRIE_WEEK = [
    WeeklyRule(weekday, time(8, 30), time(19, 30) if weekday == 3 else time(17, 0))
    for weekday in range(5)
]
FIRST_TUESDAY_AFTERNOON = WeeklyRule(
    1, time(13, 0), time(17, 0), nth_in_month=1, note="Fermé jusqu'à 13 h le premier mardi du mois"
)


def at(day: str, hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=PARIS)


def mairie(**kwargs: object) -> SiteCalendar:
    return SiteCalendar(timezone=PARIS, weekly=MAIRIE_WEEK, **kwargs)  # type: ignore[arg-type]


def test_thursday_has_the_late_opening_until_half_past_seven() -> None:
    thursday = mairie().day(date(2026, 12, 3))

    assert thursday.intervals == ((at("2026-12-03", "08:30"), at("2026-12-03", "19:30")),)
    assert thursday.intervals[0][1].astimezone(PARIS).isoformat() == "2026-12-03T19:30:00+01:00"


def test_other_weekdays_close_at_five_and_the_weekend_is_closed() -> None:
    calendar = mairie()

    assert calendar.day(date(2026, 12, 2)).intervals == (
        (at("2026-12-02", "08:30"), at("2026-12-02", "17:00")),
    )
    assert not calendar.day(date(2026, 12, 5)).is_open
    assert not calendar.day(date(2026, 12, 6)).is_open


def test_the_19e_opens_at_one_on_the_first_tuesday_only() -> None:
    calendar = SiteCalendar(timezone=PARIS, weekly=[*MAIRIE_WEEK, FIRST_TUESDAY_AFTERNOON])

    first_tuesday = calendar.day(date(2027, 2, 2))
    second_tuesday = calendar.day(date(2027, 2, 9))

    assert first_tuesday.intervals == ((at("2027-02-02", "13:00"), at("2027-02-02", "17:00")),)
    assert first_tuesday.note == "Fermé jusqu'à 13 h le premier mardi du mois"
    assert second_tuesday.intervals == ((at("2027-02-09", "08:30"), at("2027-02-09", "17:00")),)
    assert calendar.day(date(2027, 2, 3)).intervals[0][0] == at("2027-02-03", "08:30")


def test_fourteenth_of_july_whit_monday_2027_and_christmas_are_closed() -> None:
    calendar = mairie()

    for day, name in [
        (date(2027, 7, 14), "Fête nationale"),
        (date(2027, 5, 17), "Lundi de Pentecôte"),
        (date(2026, 12, 25), "Noël"),
    ]:
        assert day.weekday() < 5
        opening = calendar.day(day)
        assert not opening.is_open, day
        assert opening.note == name
    assert calendar.day(date(2027, 5, 18)).is_open


def test_public_holidays_come_from_the_holidays_package_for_any_year() -> None:
    assert public_holiday(date(2030, 6, 10)) == "Lundi de Pentecôte"
    assert public_holiday(date(2027, 5, 6)) == "Ascension"
    assert public_holiday(date(2027, 5, 7)) is None


def test_a_dated_exception_replaces_the_week_and_can_close_the_day() -> None:
    calendar = mairie(
        exceptions=[
            DatedHours(date(2027, 1, 14), time(8, 30), time(17, 0), "Nocturne annulée"),
            DatedHours(date(2027, 1, 15), reason="Inventaire"),
        ]
    )

    thursday = calendar.day(date(2027, 1, 14))
    assert thursday.intervals == ((at("2027-01-14", "08:30"), at("2027-01-14", "17:00")),)
    assert thursday.note == "Nocturne annulée"
    friday = calendar.day(date(2027, 1, 15))
    assert not friday.is_open
    assert friday.note == "Inventaire"


def test_a_dated_exception_with_hours_opens_a_public_holiday() -> None:
    calendar = mairie(exceptions=[DatedHours(date(2027, 5, 17), time(9, 0), time(12, 0))])

    assert calendar.day(date(2027, 5, 17)).intervals == (
        (at("2027-05-17", "09:00"), at("2027-05-17", "12:00")),
    )


def test_a_dated_exception_can_hold_several_ranges() -> None:
    calendar = mairie(
        exceptions=[
            DatedHours(date(2027, 1, 12), time(14, 0), time(17, 0)),
            DatedHours(date(2027, 1, 12), time(8, 30), time(12, 0)),
        ]
    )

    assert [s.astimezone(PARIS).time() for s, _ in calendar.day(date(2027, 1, 12)).intervals] == [
        time(8, 30),
        time(14, 0),
    ]


def test_a_closure_removes_part_of_a_day_and_says_why() -> None:
    strike = ClosedPeriod(at("2027-01-12", "12:00"), at("2027-01-12", "14:00"), "Grève")
    calendar = mairie(closures=[strike])

    tuesday = calendar.day(date(2027, 1, 12))

    assert tuesday.intervals == (
        (at("2027-01-12", "08:30"), at("2027-01-12", "12:00")),
        (at("2027-01-12", "14:00"), at("2027-01-12", "17:00")),
    )
    assert tuesday.note == "Grève"


def test_a_closure_over_several_days_closes_each_of_them() -> None:
    election = ClosedPeriod(
        at("2027-04-08", "00:00").astimezone(UTC),
        at("2027-04-10", "00:00").astimezone(UTC),
        "Élections",
    )
    calendar = mairie(closures=[election])

    days = list(calendar.days(date(2027, 4, 7), date(2027, 4, 12)))

    assert [day.is_open for day in days] == [True, False, False, False, False, True]
    assert days[1].note == "Élections"
    assert days[1].intervals == ()


def test_the_last_weekday_of_the_month_can_have_its_own_hours() -> None:
    last_friday = WeeklyRule(4, time(8, 30), time(12, 0), nth_in_month=-1)
    calendar = SiteCalendar(timezone=PARIS, weekly=[*MAIRIE_WEEK, last_friday])

    assert calendar.day(date(2027, 1, 29)).intervals[0][1] == at("2027-01-29", "12:00")
    assert calendar.day(date(2027, 1, 22)).intervals[0][1] == at("2027-01-22", "17:00")


def test_nth_in_month_knows_the_first_and_the_last() -> None:
    assert nth_in_month(date(2027, 2, 2)) == (1,)
    assert nth_in_month(date(2027, 1, 29)) == (5, -1)
    assert nth_in_month(date(2027, 1, 25)) == (4, -1)
    assert nth_in_month(date(2027, 1, 18)) == (3,)


def test_opening_instants_carry_the_offset_in_force_on_each_side_of_dst() -> None:
    calendar = mairie()

    before_spring = calendar.day(date(2027, 3, 26)).intervals[0][0]
    after_spring = calendar.day(date(2027, 3, 30)).intervals[0][0]
    after_autumn = calendar.day(date(2027, 11, 2)).intervals[0][0]

    assert before_spring.astimezone(PARIS).isoformat() == "2027-03-26T08:30:00+01:00"
    assert after_spring.astimezone(PARIS).isoformat() == "2027-03-30T08:30:00+02:00"
    assert after_autumn.astimezone(PARIS).isoformat() == "2027-11-02T08:30:00+01:00"


def test_a_wall_clock_time_in_the_spring_gap_moves_past_the_gap() -> None:
    in_the_gap = local_instant(date(2027, 3, 28), time(2, 30), PARIS)

    assert in_the_gap.astimezone(PARIS).isoformat() == "2027-03-28T03:30:00+02:00"


def test_a_range_across_the_autumn_change_lasts_one_hour_more() -> None:
    night = SiteCalendar(timezone=PARIS, weekly=[WeeklyRule(6, time(1, 0), time(4, 0))])

    ((start, end),) = night.day(date(2027, 10, 31)).intervals

    assert end - start == timedelta(hours=4)
    assert start.astimezone(PARIS).utcoffset() == timedelta(hours=2)
    assert end.astimezone(PARIS).utcoffset() == timedelta(hours=1)


def test_a_range_across_the_spring_change_lasts_one_hour_less() -> None:
    night = SiteCalendar(timezone=PARIS, weekly=[WeeklyRule(6, time(1, 0), time(4, 0))])

    ((start, end),) = night.day(date(2027, 3, 28)).intervals

    assert end - start == timedelta(hours=2)


times = st.times().map(lambda t: t.replace(second=0, microsecond=0, tzinfo=None))
ranges = st.tuples(times, times).filter(lambda r: r[0] < r[1])
weekly_rules = st.builds(
    lambda weekday, r, nth: WeeklyRule(weekday, r[0], r[1], nth),
    st.integers(0, 6),
    ranges,
    st.sampled_from([None, None, None, 1, 2, -1]),
)
days = st.dates(date(2026, 1, 1), date(2028, 12, 31))


@st.composite
def closures(draw: st.DrawFn) -> ClosedPeriod:
    day = draw(days)
    start = local_instant(day, draw(times), PARIS)
    length = draw(st.integers(1, 60 * 48))
    return ClosedPeriod(start, start + timedelta(minutes=length), "fermé")


@given(
    weekly=st.lists(weekly_rules, max_size=10),
    closed=st.lists(closures(), max_size=5),
    day=days,
)
def test_open_intervals_are_ordered_disjoint_within_the_day_and_outside_closures(
    weekly: list[WeeklyRule], closed: list[ClosedPeriod], day: date
) -> None:
    calendar = SiteCalendar(timezone=PARIS, weekly=weekly, closures=closed)

    opening = calendar.day(day)

    for start, end in opening.intervals:
        assert start < end
        assert start.tzinfo is UTC
        assert end.tzinfo is UTC
        assert start.astimezone(PARIS).date() == day
        for closure in closed:
            assert end <= closure.starts_at or start >= closure.ends_at
    for (_, end), (next_start, _) in zip(opening.intervals, opening.intervals[1:], strict=False):
        assert end < next_start


def is_dst_change(day: date) -> bool:
    midnight = datetime.combine(day, time(0), PARIS)
    return midnight.utcoffset() != (midnight + timedelta(days=1)).utcoffset()


@given(weekly=st.lists(weekly_rules, max_size=10), day=days, probe=times)
def test_a_moment_is_open_exactly_when_a_rule_of_that_day_covers_it(
    weekly: list[WeeklyRule], day: date, probe: time
) -> None:
    assume(not is_dst_change(day))
    calendar = SiteCalendar(timezone=PARIS, weekly=weekly)

    opening = calendar.day(day)
    moment = local_instant(day, probe, PARIS)
    is_open = any(start <= moment < end for start, end in opening.intervals)

    if public_holiday(day):
        assert not opening.is_open
        assert opening.note == public_holiday(day)
        return
    same_day = [rule for rule in weekly if rule.weekday == day.weekday()]
    special = [rule for rule in same_day if rule.nth_in_month in nth_in_month(day)]
    chosen = special or [rule for rule in same_day if rule.nth_in_month is None]
    assert is_open == any(rule.opens <= probe < rule.closes for rule in chosen)
