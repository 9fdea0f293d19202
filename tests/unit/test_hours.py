"""When a mairie is open: the pure calendar function, in Europe/Paris local time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
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
LAST_FRIDAY_MORNING = WeeklyRule(4, time(8, 30), time(12, 0), nth_in_month=-1)


def at(day: str, hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=PARIS)


def utc(day: str, hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=UTC)


def mairie(**kwargs: object) -> SiteCalendar:
    return SiteCalendar(timezone=PARIS, weekly=MAIRIE_WEEK, **kwargs)  # type: ignore[arg-type]


def with_rules(*rules: WeeklyRule, **kwargs: object) -> SiteCalendar:
    return SiteCalendar(timezone=PARIS, weekly=[*MAIRIE_WEEK, *rules], **kwargs)  # type: ignore[arg-type]


def closing_time(calendar: SiteCalendar, day: date) -> str:
    """The local closing time of the day's last interval, e.g. "17:00"."""
    return calendar.day(day).intervals[-1][1].astimezone(PARIS).strftime("%H:%M")


# The usual week


def test_thursday_has_the_late_opening_until_half_past_seven() -> None:
    thursday = mairie().day(date(2026, 12, 3))

    assert thursday.intervals == ((at("2026-12-03", "08:30"), at("2026-12-03", "19:30")),)
    assert thursday.intervals[0][1].astimezone(PARIS).isoformat() == "2026-12-03T19:30:00+01:00"
    assert thursday.note == ""
    assert thursday.is_open


def test_other_weekdays_close_at_five_and_the_weekend_is_closed() -> None:
    calendar = mairie()

    assert calendar.day(date(2026, 12, 2)).intervals == (
        (at("2026-12-02", "08:30"), at("2026-12-02", "17:00")),
    )
    saturday = calendar.day(date(2026, 12, 5))
    assert saturday.intervals == ()
    assert not saturday.is_open
    assert saturday.note == ""
    assert not calendar.day(date(2026, 12, 6)).is_open


def test_every_interval_is_a_pair_of_utc_instants() -> None:
    ((start, end),) = mairie().day(date(2027, 7, 6)).intervals

    assert start.tzinfo is UTC
    assert end.tzinfo is UTC
    assert (start, end) == (utc("2027-07-06", "06:30"), utc("2027-07-06", "15:00"))


def test_days_gives_every_day_from_the_first_to_the_last_included() -> None:
    days = list(mairie().days(date(2027, 12, 29), date(2028, 1, 3)))

    assert [opening.day for opening in days] == [
        date(2027, 12, 29),
        date(2027, 12, 30),
        date(2027, 12, 31),
        date(2028, 1, 1),
        date(2028, 1, 2),
        date(2028, 1, 3),
    ]
    assert [opening.is_open for opening in days] == [True, True, True, False, False, True]
    assert [opening.note for opening in days][3] == "Jour de l'an"


def test_days_of_a_single_day_and_of_an_empty_range() -> None:
    calendar = mairie()

    assert [opening.day for opening in calendar.days(date(2027, 1, 4), date(2027, 1, 4))] == [
        date(2027, 1, 4)
    ]
    assert list(calendar.days(date(2027, 1, 5), date(2027, 1, 4))) == []


# The n-th weekday of the month


OCCURRENCES = [
    # September 2026 has 30 days and starts on a Tuesday.
    (date(2026, 9, 1), (1,)),
    (date(2026, 9, 7), (1,)),
    (date(2026, 9, 8), (2,)),
    (date(2026, 9, 14), (2,)),
    (date(2026, 9, 15), (3,)),
    (date(2026, 9, 21), (3,)),
    (date(2026, 9, 22), (4,)),
    (date(2026, 9, 23), (4,)),  # the 30th is a Wednesday too
    (date(2026, 9, 24), (4, -1)),
    (date(2026, 9, 28), (4, -1)),
    (date(2026, 9, 29), (5, -1)),
    (date(2026, 9, 30), (5, -1)),
    # December 2027 has 31 days and starts on a Wednesday.
    (date(2027, 12, 24), (4,)),  # a Friday, and so is the 31st
    (date(2027, 12, 25), (4, -1)),
    (date(2027, 12, 28), (4, -1)),
    (date(2027, 12, 29), (5, -1)),
    (date(2027, 12, 31), (5, -1)),
    # February 2027 has 28 days and starts on a Monday.
    (date(2027, 2, 1), (1,)),
    (date(2027, 2, 21), (3,)),  # the 28th is a Sunday too
    (date(2027, 2, 22), (4, -1)),
    (date(2027, 2, 28), (4, -1)),
    # February 2028 has 29 days and starts on a Tuesday.
    (date(2028, 2, 22), (4,)),  # the 29th is a Tuesday too
    (date(2028, 2, 23), (4, -1)),
    (date(2028, 2, 29), (5, -1)),
]


@pytest.mark.parametrize(
    ("day", "occurrence"), OCCURRENCES, ids=[day.isoformat() for day, _ in OCCURRENCES]
)
def test_which_occurrence_of_its_weekday_a_day_is(day: date, occurrence: tuple[int, ...]) -> None:
    assert nth_in_month(day) == occurrence


def test_the_19e_opens_at_one_on_the_first_tuesday_only() -> None:
    calendar = with_rules(FIRST_TUESDAY_AFTERNOON)

    first_tuesday = calendar.day(date(2027, 2, 2))
    second_tuesday = calendar.day(date(2027, 2, 9))

    assert first_tuesday.intervals == ((at("2027-02-02", "13:00"), at("2027-02-02", "17:00")),)
    assert first_tuesday.note == "Fermé jusqu'à 13 h le premier mardi du mois"
    assert second_tuesday.intervals == ((at("2027-02-09", "08:30"), at("2027-02-09", "17:00")),)
    assert second_tuesday.note == ""
    assert calendar.day(date(2027, 2, 3)).intervals[0][0] == at("2027-02-03", "08:30")


def test_a_tuesday_on_the_first_or_the_seventh_is_the_first_one_and_on_the_eighth_is_not() -> None:
    calendar = with_rules(FIRST_TUESDAY_AFTERNOON)

    opening = {
        day: calendar.day(day).intervals[0][0].astimezone(PARIS).strftime("%H:%M")
        for day in (date(2026, 9, 1), date(2027, 9, 7), date(2026, 9, 8), date(2027, 9, 14))
    }

    assert opening == {
        date(2026, 9, 1): "13:00",
        date(2027, 9, 7): "13:00",
        date(2026, 9, 8): "08:30",
        date(2027, 9, 14): "08:30",
    }


def test_the_24th_of_a_31_day_month_is_not_its_last_friday_when_the_31st_is_one() -> None:
    calendar = with_rules(LAST_FRIDAY_MORNING)

    assert closing_time(calendar, date(2027, 12, 24)) == "17:00"
    assert closing_time(calendar, date(2027, 12, 31)) == "12:00"


def test_the_25th_of_a_31_day_month_is_its_last_friday_when_the_month_has_no_fifth() -> None:
    calendar = with_rules(LAST_FRIDAY_MORNING)

    assert closing_time(calendar, date(2028, 8, 18)) == "17:00"
    assert closing_time(calendar, date(2028, 8, 25)) == "12:00"


def test_the_23rd_of_a_30_day_month_is_not_its_last_friday_when_the_30th_is_one() -> None:
    calendar = with_rules(LAST_FRIDAY_MORNING)

    assert closing_time(calendar, date(2027, 4, 23)) == "17:00"
    assert closing_time(calendar, date(2027, 4, 30)) == "12:00"


def test_the_last_friday_of_february_in_common_and_leap_years() -> None:
    calendar = with_rules(LAST_FRIDAY_MORNING)

    assert closing_time(calendar, date(2027, 2, 19)) == "17:00"
    assert closing_time(calendar, date(2027, 2, 26)) == "12:00"
    assert closing_time(calendar, date(2028, 2, 18)) == "17:00"
    assert closing_time(calendar, date(2028, 2, 25)) == "12:00"


def test_the_last_tuesday_of_a_leap_february_is_the_29th_not_the_22nd() -> None:
    calendar = with_rules(WeeklyRule(1, time(10, 0), time(12, 0), nth_in_month=-1))

    assert closing_time(calendar, date(2028, 2, 22)) == "17:00"
    assert closing_time(calendar, date(2028, 2, 29)) == "12:00"


def test_a_fifth_friday_is_also_the_last_and_a_fourth_rule_skips_it() -> None:
    fifth = with_rules(WeeklyRule(4, time(8, 30), time(11, 0), nth_in_month=5))
    fourth = with_rules(WeeklyRule(4, time(8, 30), time(11, 0), nth_in_month=4))

    assert closing_time(fifth, date(2027, 12, 31)) == "11:00"
    assert closing_time(fifth, date(2027, 12, 24)) == "17:00"
    assert closing_time(fourth, date(2027, 12, 24)) == "11:00"
    assert closing_time(fourth, date(2027, 12, 31)) == "17:00"


def test_the_fifth_and_the_last_rules_both_apply_to_a_fifth_last_friday() -> None:
    calendar = with_rules(
        WeeklyRule(4, time(9, 0), time(11, 0), nth_in_month=5),
        WeeklyRule(4, time(14, 0), time(16, 0), nth_in_month=-1, note="Après-midi seulement"),
    )

    friday = calendar.day(date(2027, 12, 31))

    assert friday.intervals == (
        (at("2027-12-31", "09:00"), at("2027-12-31", "11:00")),
        (at("2027-12-31", "14:00"), at("2027-12-31", "16:00")),
    )
    assert friday.note == "Après-midi seulement"


def test_a_special_rule_without_a_note_leaves_the_note_empty() -> None:
    calendar = with_rules(LAST_FRIDAY_MORNING)

    assert calendar.day(date(2027, 1, 29)).note == ""


def test_the_last_weekday_of_the_month_can_have_its_own_hours() -> None:
    calendar = with_rules(LAST_FRIDAY_MORNING)

    assert calendar.day(date(2027, 1, 29)).intervals[0][1] == at("2027-01-29", "12:00")
    assert calendar.day(date(2027, 1, 22)).intervals[0][1] == at("2027-01-22", "17:00")


# Public holidays


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


def test_a_site_that_opens_on_public_holidays_keeps_its_week_on_them() -> None:
    calendar = SiteCalendar(timezone=PARIS, weekly=MAIRIE_WEEK, public_holidays_closed=False)

    ascension = calendar.day(date(2027, 5, 6))

    assert ascension.intervals == ((at("2027-05-06", "08:30"), at("2027-05-06", "19:30")),)
    assert ascension.note == ""


# Dated exceptions


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
    assert calendar.day(date(2027, 1, 21)).intervals[0][1] == at("2027-01-21", "19:30")


def test_a_dated_closure_without_a_reason_closes_the_day_without_a_note() -> None:
    wednesday = mairie(exceptions=[DatedHours(date(2027, 1, 13))]).day(date(2027, 1, 13))

    assert wednesday.intervals == ()
    assert wednesday.note == ""


def test_a_dated_row_with_only_an_opening_time_does_not_open_the_day() -> None:
    calendar = mairie(
        exceptions=[
            DatedHours(date(2027, 1, 13), opens=time(9, 0)),
            DatedHours(date(2027, 1, 14), closes=time(12, 0)),
        ]
    )

    assert calendar.day(date(2027, 1, 13)).intervals == ()
    assert calendar.day(date(2027, 1, 14)).intervals == ()


def test_a_dated_exception_with_hours_opens_a_public_holiday() -> None:
    calendar = mairie(exceptions=[DatedHours(date(2027, 5, 17), time(9, 0), time(12, 0))])

    whit_monday = calendar.day(date(2027, 5, 17))

    assert whit_monday.intervals == ((at("2027-05-17", "09:00"), at("2027-05-17", "12:00")),)
    assert whit_monday.note == ""


def test_a_dated_exception_opens_a_saturday_and_overrides_a_first_tuesday() -> None:
    calendar = with_rules(
        FIRST_TUESDAY_AFTERNOON,
        exceptions=[
            DatedHours(date(2027, 1, 9), time(9, 0), time(12, 30), "Samedi exceptionnel"),
            DatedHours(date(2027, 1, 5), time(8, 30), time(17, 0), "Ouverture normale"),
        ],
    )

    saturday = calendar.day(date(2027, 1, 9))
    first_tuesday = calendar.day(date(2027, 1, 5))

    assert saturday.intervals == ((at("2027-01-09", "09:00"), at("2027-01-09", "12:30")),)
    assert saturday.note == "Samedi exceptionnel"
    assert first_tuesday.intervals == ((at("2027-01-05", "08:30"), at("2027-01-05", "17:00")),)
    assert first_tuesday.note == "Ouverture normale"


def test_a_dated_exception_can_hold_several_ranges() -> None:
    calendar = mairie(
        exceptions=[
            DatedHours(date(2027, 1, 12), time(14, 0), time(17, 0)),
            DatedHours(date(2027, 1, 12), time(8, 30), time(12, 0), "Réunion"),
        ]
    )

    tuesday = calendar.day(date(2027, 1, 12))

    assert tuesday.intervals == (
        (at("2027-01-12", "08:30"), at("2027-01-12", "12:00")),
        (at("2027-01-12", "14:00"), at("2027-01-12", "17:00")),
    )
    assert tuesday.note == "Réunion"


# Merging the ranges of a day


def test_touching_ranges_of_a_day_merge_into_one() -> None:
    calendar = SiteCalendar(
        timezone=PARIS,
        weekly=[
            WeeklyRule(2, time(12, 0), time(17, 0)),
            WeeklyRule(2, time(8, 30), time(12, 0)),
        ],
    )

    assert calendar.day(date(2027, 1, 13)).intervals == (
        (at("2027-01-13", "08:30"), at("2027-01-13", "17:00")),
    )


def test_overlapping_and_nested_ranges_merge_and_keep_the_latest_end() -> None:
    calendar = SiteCalendar(
        timezone=PARIS,
        weekly=[
            WeeklyRule(2, time(8, 30), time(12, 0)),
            WeeklyRule(2, time(11, 0), time(17, 0)),
            WeeklyRule(2, time(13, 0), time(14, 0)),
            WeeklyRule(2, time(18, 0), time(19, 0)),
        ],
    )

    assert calendar.day(date(2027, 1, 13)).intervals == (
        (at("2027-01-13", "08:30"), at("2027-01-13", "17:00")),
        (at("2027-01-13", "18:00"), at("2027-01-13", "19:00")),
    )


def test_a_range_that_holds_another_keeps_its_own_end() -> None:
    calendar = SiteCalendar(
        timezone=PARIS,
        weekly=[WeeklyRule(2, time(8, 30), time(17, 0)), WeeklyRule(2, time(9, 0), time(12, 0))],
    )

    assert calendar.day(date(2027, 1, 13)).intervals == (
        (at("2027-01-13", "08:30"), at("2027-01-13", "17:00")),
    )


def test_a_range_of_no_length_or_backwards_opens_nothing() -> None:
    calendar = SiteCalendar(
        timezone=PARIS,
        weekly=[WeeklyRule(2, time(9, 0), time(9, 0)), WeeklyRule(3, time(17, 0), time(9, 0))],
    )

    assert calendar.day(date(2027, 1, 13)).intervals == ()
    assert calendar.day(date(2027, 1, 14)).intervals == ()


# Closures


def test_a_closure_removes_part_of_a_day_and_says_why() -> None:
    strike = ClosedPeriod(at("2027-01-12", "12:00"), at("2027-01-12", "14:00"), "Grève")
    calendar = mairie(closures=[strike])

    tuesday = calendar.day(date(2027, 1, 12))

    assert tuesday.intervals == (
        (at("2027-01-12", "08:30"), at("2027-01-12", "12:00")),
        (at("2027-01-12", "14:00"), at("2027-01-12", "17:00")),
    )
    assert tuesday.note == "Grève"


def test_the_pieces_a_closure_leaves_are_utc_instants() -> None:
    strike = ClosedPeriod(at("2027-01-12", "12:00"), at("2027-01-12", "14:00"), "Grève")

    (_, morning_end), (afternoon_start, _) = (
        mairie(closures=[strike]).day(date(2027, 1, 12)).intervals
    )

    assert morning_end.tzinfo is UTC
    assert afternoon_start.tzinfo is UTC


def test_a_closure_starting_exactly_at_opening_leaves_no_empty_piece() -> None:
    late_start = ClosedPeriod(at("2027-01-12", "08:30"), at("2027-01-12", "10:00"), "Formation")

    tuesday = mairie(closures=[late_start]).day(date(2027, 1, 12))

    assert tuesday.intervals == ((at("2027-01-12", "10:00"), at("2027-01-12", "17:00")),)
    assert tuesday.note == "Formation"


def test_a_closure_ending_exactly_at_closing_leaves_no_empty_piece() -> None:
    early_end = ClosedPeriod(at("2027-01-12", "15:00"), at("2027-01-12", "17:00"), "Formation")

    tuesday = mairie(closures=[early_end]).day(date(2027, 1, 12))

    assert tuesday.intervals == ((at("2027-01-12", "08:30"), at("2027-01-12", "15:00")),)
    assert tuesday.note == "Formation"


def test_a_closure_of_exactly_the_opening_hours_closes_the_day() -> None:
    whole_day = ClosedPeriod(at("2027-01-12", "08:30"), at("2027-01-12", "17:00"), "Travaux")

    tuesday = mairie(closures=[whole_day]).day(date(2027, 1, 12))

    assert tuesday.intervals == ()
    assert tuesday.note == "Travaux"


def test_closures_that_only_touch_the_opening_hours_change_nothing() -> None:
    before = ClosedPeriod(at("2027-01-12", "06:00"), at("2027-01-12", "08:30"), "Ménage")
    after = ClosedPeriod(at("2027-01-12", "17:00"), at("2027-01-12", "20:00"), "Réunion")

    tuesday = mairie(closures=[before, after]).day(date(2027, 1, 12))

    assert tuesday.intervals == ((at("2027-01-12", "08:30"), at("2027-01-12", "17:00")),)
    assert tuesday.note == ""


def test_a_closure_on_another_day_leaves_no_note() -> None:
    other_day = ClosedPeriod(at("2027-01-13", "10:00"), at("2027-01-13", "11:00"), "Grève")

    assert mairie(closures=[other_day]).day(date(2027, 1, 12)).note == ""


def test_a_closure_in_the_afternoon_of_a_split_day_keeps_the_morning() -> None:
    calendar = mairie(
        exceptions=[
            DatedHours(date(2027, 1, 12), time(8, 30), time(12, 0)),
            DatedHours(date(2027, 1, 12), time(14, 0), time(17, 0)),
        ],
        closures=[ClosedPeriod(at("2027-01-12", "15:00"), at("2027-01-12", "16:00"), "Panne")],
    )

    assert calendar.day(date(2027, 1, 12)).intervals == (
        (at("2027-01-12", "08:30"), at("2027-01-12", "12:00")),
        (at("2027-01-12", "14:00"), at("2027-01-12", "15:00")),
        (at("2027-01-12", "16:00"), at("2027-01-12", "17:00")),
    )


def test_the_first_closure_that_bites_gives_the_note() -> None:
    calendar = mairie(
        closures=[
            ClosedPeriod(at("2027-01-11", "09:00"), at("2027-01-11", "10:00"), "Hier"),
            ClosedPeriod(at("2027-01-12", "09:00"), at("2027-01-12", "10:00"), "Grève"),
            ClosedPeriod(at("2027-01-12", "15:00"), at("2027-01-12", "16:00"), "Panne"),
        ]
    )

    assert calendar.day(date(2027, 1, 12)).note == "Grève"


def test_a_day_with_its_own_note_keeps_it_under_a_closure() -> None:
    calendar = with_rules(
        FIRST_TUESDAY_AFTERNOON,
        closures=[ClosedPeriod(at("2027-01-05", "15:00"), at("2027-01-05", "16:00"), "Grève")],
    )

    first_tuesday = calendar.day(date(2027, 1, 5))

    assert first_tuesday.note == "Fermé jusqu'à 13 h le premier mardi du mois"
    assert len(first_tuesday.intervals) == 2


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


# Daylight saving time


def test_opening_instants_carry_the_offset_in_force_on_each_side_of_dst() -> None:
    calendar = mairie()

    before_spring = calendar.day(date(2027, 3, 26)).intervals[0][0]
    after_spring = calendar.day(date(2027, 3, 30)).intervals[0][0]
    after_autumn = calendar.day(date(2027, 11, 2)).intervals[0][0]

    assert before_spring.astimezone(PARIS).isoformat() == "2027-03-26T08:30:00+01:00"
    assert after_spring.astimezone(PARIS).isoformat() == "2027-03-30T08:30:00+02:00"
    assert after_autumn.astimezone(PARIS).isoformat() == "2027-11-02T08:30:00+01:00"


WALL_CLOCK_INSTANTS = [
    # 28 March 2027: clocks go from 02:00 (+01:00) straight to 03:00 (+02:00).
    (date(2027, 3, 28), time(1, 59), datetime(2027, 3, 28, 0, 59, tzinfo=UTC)),
    (date(2027, 3, 28), time(2, 0), datetime(2027, 3, 28, 1, 0, tzinfo=UTC)),
    (date(2027, 3, 28), time(2, 30), datetime(2027, 3, 28, 1, 30, tzinfo=UTC)),
    (date(2027, 3, 28), time(3, 0), datetime(2027, 3, 28, 1, 0, tzinfo=UTC)),
    # 31 October 2027: 02:00 to 03:00 happens twice, first at +02:00, then at +01:00.
    (date(2027, 10, 31), time(1, 30), datetime(2027, 10, 30, 23, 30, tzinfo=UTC)),
    (date(2027, 10, 31), time(2, 0), datetime(2027, 10, 31, 0, 0, tzinfo=UTC)),
    (date(2027, 10, 31), time(2, 30), datetime(2027, 10, 31, 0, 30, tzinfo=UTC)),
    (date(2027, 10, 31), time(3, 0), datetime(2027, 10, 31, 2, 0, tzinfo=UTC)),
]


@pytest.mark.parametrize(
    ("day", "wall_clock", "instant"),
    WALL_CLOCK_INSTANTS,
    ids=[f"{day}T{at:%H:%M}" for day, at, _ in WALL_CLOCK_INSTANTS],
)
def test_a_wall_clock_time_becomes_one_instant_across_the_changes(
    day: date, wall_clock: time, instant: datetime
) -> None:
    result = local_instant(day, wall_clock, PARIS)

    assert result == instant
    assert result.tzinfo is UTC


def test_a_wall_clock_time_in_the_spring_gap_moves_past_the_gap() -> None:
    in_the_gap = local_instant(date(2027, 3, 28), time(2, 30), PARIS)

    assert in_the_gap.astimezone(PARIS).isoformat() == "2027-03-28T03:30:00+02:00"


def test_a_wall_clock_time_in_the_repeated_autumn_hour_is_its_first_occurrence() -> None:
    repeated = local_instant(date(2027, 10, 31), time(2, 30), PARIS)

    assert repeated.astimezone(PARIS).isoformat() == "2027-10-31T02:30:00+02:00"


def test_a_range_wholly_inside_the_spring_gap_opens_nothing() -> None:
    night = SiteCalendar(timezone=PARIS, weekly=[WeeklyRule(6, time(2, 0), time(3, 0))])

    assert night.day(date(2027, 3, 28)).intervals == ()
    assert night.day(date(2027, 4, 4)).intervals == (
        (utc("2027-04-04", "00:00"), utc("2027-04-04", "01:00")),
    )


def test_a_range_across_the_autumn_change_lasts_one_hour_more() -> None:
    night = SiteCalendar(timezone=PARIS, weekly=[WeeklyRule(6, time(1, 0), time(4, 0))])

    ((start, end),) = night.day(date(2027, 10, 31)).intervals

    assert (start, end) == (utc("2027-10-30", "23:00"), utc("2027-10-31", "03:00"))
    assert end - start == timedelta(hours=4)


def test_a_range_across_the_spring_change_lasts_one_hour_less() -> None:
    night = SiteCalendar(timezone=PARIS, weekly=[WeeklyRule(6, time(1, 0), time(4, 0))])

    ((start, end),) = night.day(date(2027, 3, 28)).intervals

    assert (start, end) == (utc("2027-03-28", "00:00"), utc("2027-03-28", "02:00"))
    assert end - start == timedelta(hours=2)


# Properties


def occurrences(day: date) -> tuple[int, ...]:
    """Which occurrences of its weekday `day` is, by counting: the n-th since the 1st, and
    -1 too when a week later is already next month."""
    same_weekday_so_far = [
        earlier
        for earlier in range(1, day.day + 1)
        if date(day.year, day.month, earlier).weekday() == day.weekday()
    ]
    is_last = (day + timedelta(days=7)).month != day.month
    return (len(same_weekday_so_far), -1) if is_last else (len(same_weekday_so_far),)


def is_dst_change(day: date) -> bool:
    midnight = datetime.combine(day, time(0), PARIS)
    return midnight.utcoffset() != (midnight + timedelta(days=1)).utcoffset()


times = st.times().map(lambda t: t.replace(second=0, microsecond=0, tzinfo=None))
ranges = st.tuples(times, times).filter(lambda r: r[0] < r[1])
weekly_rules = st.builds(
    lambda weekday, r, nth: WeeklyRule(weekday, r[0], r[1], nth),
    st.integers(0, 6),
    ranges,
    st.sampled_from([None, None, None, 1, 2, 4, 5, -1]),
)
days = st.dates(date(2026, 1, 1), date(2028, 12, 31))


@st.composite
def closures(draw: st.DrawFn) -> ClosedPeriod:
    start = datetime.combine(draw(days), draw(times), PARIS).astimezone(UTC)
    length = draw(st.integers(1, 60 * 48))
    return ClosedPeriod(start, start + timedelta(minutes=length), "fermé")


@settings(max_examples=100, deadline=None)
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


@settings(max_examples=100, deadline=None)
@given(weekly=st.lists(weekly_rules, max_size=10), day=days, probe=times)
def test_a_moment_is_open_exactly_when_a_rule_of_that_day_covers_it(
    weekly: list[WeeklyRule], day: date, probe: time
) -> None:
    assume(not is_dst_change(day))
    calendar = SiteCalendar(timezone=PARIS, weekly=weekly, public_holidays_closed=False)

    opening = calendar.day(day)
    moment = datetime.combine(day, probe, PARIS).astimezone(UTC)
    is_open = any(start <= moment < end for start, end in opening.intervals)

    same_day = [rule for rule in weekly if rule.weekday == day.weekday()]
    special = [rule for rule in same_day if rule.nth_in_month in occurrences(day)]
    chosen = special or [rule for rule in same_day if rule.nth_in_month is None]
    assert is_open == any(rule.opens <= probe < rule.closes for rule in chosen)
