"""The message planner: quiet hours, reminders across the clock changes, channels by reach.

Expected instants are written out by hand, in UTC ("Z"); moments are given at their Paris
offset (+01:00 in winter, +02:00 in summer) so the wall clock reads as it would in the
mairie.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.notify.planner import (
    Planned,
    Reach,
    Rules,
    at_once_channels,
    for_booking,
    for_change,
    outside_quiet_hours,
    reminders,
)

PARIS = ZoneInfo("Europe/Paris")
DEFAULT = Rules()
LUNCH = Rules(quiet_from=time(12), quiet_until=time(14))
EVERYTHING = Reach(email=True, phone=True, reminders_by_email=True, reminders_by_sms=True)
EMAIL_ONLY = Reach(email=True, phone=False, reminders_by_email=True, reminders_by_sms=True)
PHONE_ONLY = Reach(email=False, phone=True, reminders_by_email=True, reminders_by_sms=True)
NOWHERE = Reach(email=False, phone=False, reminders_by_email=True, reminders_by_sms=True)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# Quiet hours


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        pytest.param("2026-12-01 19:59+01:00", "2026-12-01 18:59Z", id="a minute before 20:00"),
        pytest.param("2026-12-01 19:59:59+01:00", "2026-12-01 18:59:59Z", id="a second before"),
        pytest.param("2026-12-01 20:00+01:00", "2026-12-02 07:00Z", id="at 20:00"),
        pytest.param("2026-12-01 23:59+01:00", "2026-12-02 07:00Z", id="before midnight"),
        pytest.param("2026-12-02 00:00+01:00", "2026-12-02 07:00Z", id="at midnight"),
        pytest.param("2026-12-02 00:01+01:00", "2026-12-02 07:00Z", id="after midnight"),
        pytest.param("2026-12-02 07:59+01:00", "2026-12-02 07:00Z", id="a minute before 08:00"),
        pytest.param("2026-12-02 07:59:59+01:00", "2026-12-02 07:00Z", id="a second before"),
        pytest.param("2026-12-02 08:00+01:00", "2026-12-02 07:00Z", id="at 08:00"),
        pytest.param("2026-12-02 12:00+01:00", "2026-12-02 11:00Z", id="at noon"),
    ],
)
def test_by_default_texts_are_held_from_eight_in_the_evening_to_eight_in_the_morning(
    moment: str, expected: str
) -> None:
    assert outside_quiet_hours(at(moment), DEFAULT, PARIS) == at(expected)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        pytest.param("2026-12-01 11:59+01:00", "2026-12-01 10:59Z", id="a minute before"),
        pytest.param("2026-12-01 12:00+01:00", "2026-12-01 13:00Z", id="at its start"),
        pytest.param("2026-12-01 13:00+01:00", "2026-12-01 13:00Z", id="inside"),
        pytest.param("2026-12-01 13:59+01:00", "2026-12-01 13:00Z", id="a minute before its end"),
        pytest.param("2026-12-01 14:00+01:00", "2026-12-01 13:00Z", id="at its end"),
        pytest.param("2026-12-01 20:00+01:00", "2026-12-01 19:00Z", id="in the evening"),
        pytest.param("2026-12-01 23:59+01:00", "2026-12-01 22:59Z", id="before midnight"),
        pytest.param("2026-12-02 00:01+01:00", "2026-12-01 23:01Z", id="after midnight"),
    ],
)
def test_a_daytime_quiet_window_holds_texts_until_it_ends_the_same_day(
    moment: str, expected: str
) -> None:
    assert outside_quiet_hours(at(moment), LUNCH, PARIS) == at(expected)


@pytest.mark.parametrize(
    ("quiet_from", "quiet_until", "moment", "expected"),
    [
        (time(22), time(0), "2026-12-01 21:59+01:00", "2026-12-01 20:59Z"),
        (time(22), time(0), "2026-12-01 22:00+01:00", "2026-12-01 23:00Z"),
        (time(22), time(0), "2026-12-01 23:59+01:00", "2026-12-01 23:00Z"),
        (time(22), time(0), "2026-12-02 00:00+01:00", "2026-12-01 23:00Z"),
        (time(0), time(6), "2026-12-01 23:59+01:00", "2026-12-01 22:59Z"),
        (time(0), time(6), "2026-12-02 00:00+01:00", "2026-12-02 05:00Z"),
        (time(0), time(6), "2026-12-02 05:59+01:00", "2026-12-02 05:00Z"),
        (time(0), time(6), "2026-12-02 06:00+01:00", "2026-12-02 05:00Z"),
    ],
)
def test_a_quiet_window_may_end_or_start_at_midnight(
    quiet_from: time, quiet_until: time, moment: str, expected: str
) -> None:
    rules = Rules(quiet_from=quiet_from, quiet_until=quiet_until)

    assert outside_quiet_hours(at(moment), rules, PARIS) == at(expected)


@pytest.mark.parametrize("bound", [time(8), time(0), time(20)])
@pytest.mark.parametrize(
    "moment",
    [
        "2026-12-01 00:00+01:00",
        "2026-12-01 07:59+01:00",
        "2026-12-01 08:00+01:00",
        "2026-12-01 20:00+01:00",
        "2026-12-01 23:59+01:00",
    ],
)
def test_a_quiet_window_that_starts_where_it_ends_is_empty_and_holds_nothing(
    bound: time, moment: str
) -> None:
    rules = Rules(quiet_from=bound, quiet_until=bound)

    assert outside_quiet_hours(at(moment), rules, PARIS) == at(moment)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        pytest.param("2027-03-27 22:00+01:00", "2027-03-28 06:00Z", id="spring, evening before"),
        pytest.param("2027-03-28 01:59+01:00", "2027-03-28 06:00Z", id="spring, before the jump"),
        pytest.param("2027-03-28 03:00+02:00", "2027-03-28 06:00Z", id="spring, after the jump"),
        pytest.param("2027-03-28 08:00+02:00", "2027-03-28 06:00Z", id="spring, at 08:00"),
        pytest.param("2026-10-24 22:00+02:00", "2026-10-25 07:00Z", id="autumn, evening before"),
        pytest.param("2026-10-25 02:30+02:00", "2026-10-25 07:00Z", id="autumn, first 02:30"),
        pytest.param("2026-10-25 02:30+01:00", "2026-10-25 07:00Z", id="autumn, second 02:30"),
        pytest.param("2026-10-25 07:59+01:00", "2026-10-25 07:00Z", id="autumn, 07:59"),
        pytest.param("2026-10-25 20:00+01:00", "2026-10-26 07:00Z", id="autumn, evening after"),
    ],
)
def test_texts_wake_at_eight_local_time_on_the_nights_the_clocks_change(
    moment: str, expected: str
) -> None:
    assert outside_quiet_hours(at(moment), DEFAULT, PARIS) == at(expected)


@pytest.mark.parametrize("quiet_from", [time(22), time(0)])
@pytest.mark.parametrize(
    "moment",
    [
        pytest.param("2026-10-25 02:30+02:00", id="first 02:30"),
        pytest.param("2026-10-25 02:30+01:00", id="second 02:30"),
    ],
)
def test_quiet_hours_ending_in_the_hour_that_comes_twice_hold_neither_end(
    quiet_from: time, moment: str
) -> None:
    """The night the clocks go back, 02:30 happens twice: both are the window's end."""
    rules = Rules(quiet_from=quiet_from, quiet_until=time(2, 30))

    assert outside_quiet_hours(at(moment), rules, PARIS) == at(moment)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        pytest.param("2026-10-25 01:00+02:00", "2026-10-25 00:30Z", id="before the first 02:30"),
        pytest.param("2026-10-25 02:15+01:00", "2026-10-25 01:30Z", id="before the second"),
    ],
)
def test_a_window_ending_in_the_hour_that_comes_twice_never_sends_back_in_time(
    moment: str, expected: str
) -> None:
    """From 22:00 to 02:30: at 02:15 of the second pass, the end is the second 02:30,
    not the first, which is already 45 minutes past."""
    rules = Rules(quiet_from=time(22), quiet_until=time(2, 30))

    assert outside_quiet_hours(at(moment), rules, PARIS) == at(expected)


def test_a_held_text_is_given_back_in_the_zone_of_its_moment() -> None:
    in_paris = outside_quiet_hours(at("2026-12-01 22:00+01:00"), DEFAULT, PARIS)
    in_utc = outside_quiet_hours(at("2026-12-01 21:00Z"), DEFAULT, PARIS)

    assert in_paris.isoformat() == "2026-12-02T08:00:00+01:00"
    assert in_utc.isoformat() == "2026-12-02T07:00:00+00:00"


def seconds_of_day(clock: time) -> float:
    return clock.hour * 3600 + clock.minute * 60 + clock.second + clock.microsecond / 1e6


def is_quiet(moment: datetime, rules: Rules) -> bool:
    """The reference: quiet when the local clock lies less than the window's length past
    its start, going round the day."""
    start = seconds_of_day(rules.quiet_from)
    length = (seconds_of_day(rules.quiet_until) - start) % 86400
    return (seconds_of_day(moment.astimezone(PARIS).time()) - start) % 86400 < length


clocks = st.builds(time, st.integers(0, 23), st.sampled_from([0, 1, 15, 30, 59]))
TWO_YEARS = 2 * 365 * 24 * 3600 * 10**6
moments = st.integers(0, TWO_YEARS).map(
    lambda micros: datetime(2026, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
)


@given(
    moment=moments,
    quiet_from=clocks,
    quiet_until=clocks,
)
@settings(max_examples=200, deadline=None)
def test_a_text_waits_exactly_until_the_first_moment_outside_quiet_hours(
    moment: datetime, quiet_from: time, quiet_until: time
) -> None:
    rules = Rules(quiet_from=quiet_from, quiet_until=quiet_until)

    sent = outside_quiet_hours(moment, rules, PARIS)

    assert sent >= moment
    assert not is_quiet(sent, rules)
    if is_quiet(moment, rules):
        assert sent.astimezone(PARIS).time() == quiet_until
        waited = moment
        while waited < sent:
            assert is_quiet(waited, rules), waited
            waited += timedelta(minutes=1)
    else:
        assert sent == moment


# Reminders


def test_a_booking_plans_a_confirmation_now_and_reminders_a_day_and_two_hours_before() -> None:
    now = at("2026-11-30 09:00+01:00")

    plans = for_booking(at("2026-12-03 10:00+01:00"), EVERYTHING, DEFAULT, now, PARIS)

    assert plans == [
        Planned("confirmation", "email", at("2026-11-30 08:00Z")),
        Planned("reminder_24h", "email", at("2026-12-02 09:00Z")),
        Planned("reminder_24h", "sms", at("2026-12-02 09:00Z")),
        Planned("reminder_2h", "email", at("2026-12-03 07:00Z")),
        Planned("reminder_2h", "sms", at("2026-12-03 07:00Z")),
    ]


@pytest.mark.parametrize(
    ("hours", "starts_at", "expected", "wall_clock"),
    [
        (24, "2027-03-28 10:00+02:00", "2027-03-27 08:00Z", "Sat 09:00"),
        (24, "2027-03-29 10:00+02:00", "2027-03-28 08:00Z", "Sun 10:00"),
        (48, "2027-03-29 10:00+02:00", "2027-03-27 08:00Z", "Sat 09:00"),
        (72, "2027-03-29 10:00+02:00", "2027-03-26 08:00Z", "Fri 09:00"),
        (168, "2027-03-29 10:00+02:00", "2027-03-22 08:00Z", "Mon 09:00"),
        (2, "2027-03-28 03:30+02:00", "2027-03-27 23:30Z", "Sun 00:30"),
        (24, "2026-10-25 10:00+01:00", "2026-10-24 09:00Z", "Sat 11:00"),
        (24, "2026-10-26 10:00+01:00", "2026-10-25 09:00Z", "Sun 10:00"),
        (48, "2026-10-26 10:00+01:00", "2026-10-24 09:00Z", "Sat 11:00"),
        (72, "2026-10-26 10:00+01:00", "2026-10-23 09:00Z", "Fri 11:00"),
        (168, "2026-10-26 10:00+01:00", "2026-10-19 09:00Z", "Mon 11:00"),
        (2, "2026-10-25 03:30+01:00", "2026-10-25 00:30Z", "Sun 02:30"),
    ],
)
def test_a_reminder_is_the_real_number_of_hours_before_across_the_clock_changes(
    hours: int, starts_at: str, expected: str, wall_clock: str
) -> None:
    rules = Rules(reminder_hours=(hours,))
    now = at("2026-09-01 09:00Z")

    plans = reminders(at(starts_at), EMAIL_ONLY, rules, now, PARIS)

    assert plans == [Planned(f"reminder_{hours}h", "email", at(expected))]
    assert plans[0].send_after.astimezone(PARIS).strftime("%a %H:%M") == wall_clock


@pytest.mark.parametrize(
    ("starts_at", "email", "sms"),
    [
        pytest.param(
            "2027-03-28 09:00+02:00", "2027-03-28 05:00Z", "2027-03-28 06:00Z", id="spring"
        ),
        pytest.param(
            "2026-10-25 09:00+01:00", "2026-10-25 06:00Z", "2026-10-25 07:00Z", id="autumn"
        ),
    ],
)
def test_a_text_reminder_due_before_eight_waits_for_eight_local_time_after_the_change(
    starts_at: str, email: str, sms: str
) -> None:
    rules = Rules(reminder_hours=(2,))
    now = at("2026-09-01 09:00Z")

    plans = reminders(at(starts_at), EVERYTHING, rules, now, PARIS)

    assert plans == [
        Planned("reminder_2h", "email", at(email)),
        Planned("reminder_2h", "sms", at(sms)),
    ]


def test_a_reminder_due_exactly_now_is_not_planned_and_one_due_a_second_later_is() -> None:
    starts_at = at("2026-12-03 10:00+01:00")
    rules = Rules(reminder_hours=(24,))

    due_now = reminders(starts_at, EVERYTHING, rules, at("2026-12-02 10:00+01:00"), PARIS)
    due_later = reminders(starts_at, EVERYTHING, rules, at("2026-12-02 09:59:59+01:00"), PARIS)

    assert due_now == []
    assert due_later == [
        Planned("reminder_24h", "email", at("2026-12-02 09:00Z")),
        Planned("reminder_24h", "sms", at("2026-12-02 09:00Z")),
    ]


def test_no_reminder_whose_moment_has_passed() -> None:
    now = at("2026-12-03 07:00+01:00")

    plans = for_booking(at("2026-12-03 10:00+01:00"), EMAIL_ONLY, DEFAULT, now, PARIS)

    assert plans == [
        Planned("confirmation", "email", at("2026-12-03 06:00Z")),
        Planned("reminder_2h", "email", at("2026-12-03 07:00Z")),
    ]


def test_a_text_pushed_to_the_very_start_is_dropped_and_one_pushed_a_second_before_is_kept() -> (
    None
):
    rules = Rules(reminder_hours=(2,))
    now = at("2026-11-30 09:00+01:00")

    at_eight = reminders(at("2026-12-03 08:00+01:00"), EVERYTHING, rules, now, PARIS)
    a_second_later = reminders(at("2026-12-03 08:00:01+01:00"), EVERYTHING, rules, now, PARIS)

    assert at_eight == [Planned("reminder_2h", "email", at("2026-12-03 05:00Z"))]
    assert a_second_later == [
        Planned("reminder_2h", "email", at("2026-12-03 05:00:01Z")),
        Planned("reminder_2h", "sms", at("2026-12-03 07:00Z")),
    ]


def test_a_text_reminder_whose_moment_passed_in_the_night_still_goes_in_the_morning() -> None:
    """Booked at 07:45 for 09:30: the 2-hour email (07:30) is gone, the text was to wait for
    08:00 anyway and is planned then."""
    rules = Rules(reminder_hours=(2,))
    starts_at = at("2026-12-03 09:30+01:00")

    at_quarter_to = reminders(starts_at, EVERYTHING, rules, at("2026-12-03 07:45+01:00"), PARIS)
    at_eight = reminders(starts_at, EVERYTHING, rules, at("2026-12-03 08:00+01:00"), PARIS)

    assert at_quarter_to == [Planned("reminder_2h", "sms", at("2026-12-03 07:00Z"))]
    assert at_eight == []


def test_a_zero_hour_reminder_falls_on_the_start_and_is_never_planned() -> None:
    rules = Rules(reminder_hours=(0, 2))
    now = at("2026-11-30 09:00+01:00")

    plans = reminders(at("2026-12-03 10:00+01:00"), EVERYTHING, rules, now, PARIS)

    assert [plan.kind for plan in plans] == ["reminder_2h", "reminder_2h"]


def test_a_site_may_choose_other_reminder_hours_and_quiet_hours() -> None:
    rules = Rules(reminder_hours=(1, 168), quiet_from=time(21), quiet_until=time(7))
    now = at("2026-11-30 09:00+01:00")

    plans = reminders(at("2026-12-10 07:30+01:00"), EVERYTHING, rules, now, PARIS)

    assert plans == [
        Planned("reminder_168h", "email", at("2026-12-03 06:30Z")),
        Planned("reminder_168h", "sms", at("2026-12-03 06:30Z")),
        Planned("reminder_1h", "email", at("2026-12-10 05:30Z")),
        Planned("reminder_1h", "sms", at("2026-12-10 06:00Z")),
    ]


def test_the_same_reminder_hour_given_twice_makes_one_reminder() -> None:
    rules = Rules(reminder_hours=(2, 24, 2, 24))
    now = at("2026-11-30 09:00+01:00")

    plans = reminders(at("2026-12-03 10:00+01:00"), EMAIL_ONLY, rules, now, PARIS)

    assert plans == [
        Planned("reminder_24h", "email", at("2026-12-02 09:00Z")),
        Planned("reminder_2h", "email", at("2026-12-03 07:00Z")),
    ]


def test_reminders_are_listed_longest_offset_first_email_before_text_not_by_time() -> None:
    """The 24-hour text waits for 08:00 and so goes after the 23-hour email."""
    rules = Rules(reminder_hours=(23, 2, 24))
    now = at("2026-11-30 09:00+01:00")

    plans = reminders(at("2026-12-03 06:30+01:00"), EVERYTHING, rules, now, PARIS)

    assert plans == [
        Planned("reminder_24h", "email", at("2026-12-02 05:30Z")),
        Planned("reminder_24h", "sms", at("2026-12-02 07:00Z")),
        Planned("reminder_23h", "email", at("2026-12-02 06:30Z")),
        Planned("reminder_23h", "sms", at("2026-12-02 07:00Z")),
        Planned("reminder_2h", "email", at("2026-12-03 03:30Z")),
    ]


@pytest.mark.parametrize(
    ("email", "phone", "by_email", "by_sms", "channels"),
    [
        (True, True, True, True, ["email", "sms"]),
        (True, True, True, False, ["email"]),
        (True, True, False, True, ["sms"]),
        (True, True, False, False, []),
        (True, False, True, True, ["email"]),
        (True, False, True, False, ["email"]),
        (True, False, False, True, []),
        (True, False, False, False, []),
        (False, True, True, True, ["sms"]),
        (False, True, True, False, []),
        (False, True, False, True, ["sms"]),
        (False, True, False, False, []),
        (False, False, True, True, []),
        (False, False, True, False, []),
        (False, False, False, True, []),
        (False, False, False, False, []),
    ],
)
def test_reminders_go_only_where_the_usager_can_be_reached_and_agreed_to_them(
    email: bool, phone: bool, by_email: bool, by_sms: bool, channels: list[str]
) -> None:
    reach = Reach(email=email, phone=phone, reminders_by_email=by_email, reminders_by_sms=by_sms)
    rules = Rules(reminder_hours=(24,))
    now = at("2026-11-30 09:00+01:00")

    plans = reminders(at("2026-12-03 10:00+01:00"), reach, rules, now, PARIS)

    assert plans == [
        Planned("reminder_24h", channel, at("2026-12-02 09:00Z")) for channel in channels
    ]


# Confirmations, changes, cancellations


@pytest.mark.parametrize(
    ("email", "phone", "channels"),
    [
        (True, False, ["email"]),
        (False, True, ["sms"]),
        (True, True, ["email"]),
        (False, False, []),
    ],
)
@pytest.mark.parametrize("agreed_to_reminders", [True, False])
def test_news_of_a_booking_goes_by_email_when_there_is_one_else_by_text(
    email: bool, phone: bool, channels: list[str], agreed_to_reminders: bool
) -> None:
    reach = Reach(
        email=email,
        phone=phone,
        reminders_by_email=agreed_to_reminders,
        reminders_by_sms=agreed_to_reminders,
    )
    now = at("2026-11-30 09:00+01:00")

    assert at_once_channels(reach) == channels
    assert for_change("moved", reach, DEFAULT, now, PARIS) == [
        Planned("moved", channel, at("2026-11-30 08:00Z")) for channel in channels
    ]


def test_a_change_made_at_night_is_texted_in_the_morning_and_emailed_at_once() -> None:
    now = at("2026-12-01 22:30+01:00")

    assert for_change("cancelled", PHONE_ONLY, DEFAULT, now, PARIS) == [
        Planned("cancelled", "sms", at("2026-12-02 07:00Z"))
    ]
    assert for_change("cancelled", EVERYTHING, DEFAULT, now, PARIS) == [
        Planned("cancelled", "email", at("2026-12-01 21:30Z"))
    ]


def test_a_booking_made_at_night_by_phone_only_is_confirmed_by_text_in_the_morning() -> None:
    now = at("2026-11-30 22:30+01:00")
    starts_at = at("2026-12-03 10:00+01:00")

    plans = for_booking(starts_at, PHONE_ONLY, DEFAULT, now, PARIS)

    assert plans == [
        Planned("confirmation", "sms", at("2026-12-01 07:00Z")),
        Planned("reminder_24h", "sms", at("2026-12-02 09:00Z")),
        Planned("reminder_2h", "sms", at("2026-12-03 07:00Z")),
    ]
    assert for_booking(starts_at, NOWHERE, DEFAULT, now, PARIS) == []


@given(
    starts_at=moments,
    ahead=st.integers(0, 200 * 3600),
    hours=st.lists(st.integers(0, 168), max_size=3),
    by_email=st.booleans(),
    by_sms=st.booleans(),
)
@settings(max_examples=200, deadline=None)
def test_every_reminder_lies_between_now_and_the_start_and_no_text_in_quiet_hours(
    starts_at: datetime, ahead: int, hours: list[int], by_email: bool, by_sms: bool
) -> None:
    reach = Reach(email=True, phone=True, reminders_by_email=by_email, reminders_by_sms=by_sms)
    now = starts_at - timedelta(seconds=ahead)

    plans = reminders(starts_at, reach, Rules(reminder_hours=hours), now, PARIS)

    emails = [(plan.kind, plan.send_after) for plan in plans if plan.channel == "email"]
    expected_emails = [
        (f"reminder_{hour}h", starts_at - timedelta(hours=hour))
        for hour in sorted(set(hours), reverse=True)
        if now < starts_at - timedelta(hours=hour) < starts_at
    ]
    assert emails == (expected_emails if by_email else [])
    for plan in plans:
        assert now < plan.send_after < starts_at
        if plan.channel == "sms":
            assert by_sms
            assert not is_quiet(plan.send_after, DEFAULT)
            hour = int(plan.kind.removeprefix("reminder_").removesuffix("h"))
            assert plan.send_after >= starts_at - timedelta(hours=hour)
