"""Earlier slots, the pure part: who gets which freed slot, how long an offer is held, how
often a person may be offered one, and whom an offer counts against.

Moments are written at the mairie's wall clock (Paris) and passed in UTC, as the engine
passes them; the boundaries (an hour since the last offer, five minutes of hold, the day's
room) are written out by hand rather than taken from the module's constants.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.booking.slots import Slot
from app.waitlist.rules import (
    Group,
    Match,
    Waiting,
    expiry,
    first_day_before,
    match,
    may_offer,
    offerable,
    person_keys,
)

PARIS = ZoneInfo("Europe/Paris")
MONDAY = date(2026, 12, 7)
TUESDAY = date(2026, 12, 8)
WEDNESDAY = date(2026, 12, 9)
FRIDAY = date(2026, 12, 11)
PASSPORT: Group = (1, ())
IDENTITY_CARD: Group = (2, ())
PASSPORT_WITH_WHEELCHAIR: Group = (1, ("wheelchair",))
PLENTY = 1000.0
ROOMY = {day: PLENTY for day in (MONDAY, TUESDAY, WEDNESDAY, FRIDAY)}


def at(day: date, hhmm: str) -> datetime:
    """A Paris wall-clock moment, as the UTC instant the engine passes."""
    return datetime.combine(day, time.fromisoformat(hhmm), PARIS).astimezone(UTC)


def slot(day: date, hhmm: str, minutes: int = 30, stations: tuple[int, ...] = (1,)) -> Slot:
    start = at(day, hhmm)
    return Slot(start, start + timedelta(minutes=minutes), stations)


def person(
    wish_id: int,
    *,
    group: Group = PASSPORT,
    length: float = 30,
    current: datetime | None = None,
    latest: datetime | None = None,
    offered: Iterable[datetime] = (),
) -> Waiting:
    """Someone waiting, booked on Friday at 10:00 unless told otherwise."""
    return Waiting(
        wish_id=wish_id,
        group=group,
        length_minutes=length,
        current_start=at(FRIDAY, "10:00") if current is None else current,
        latest_start=latest,
        offered_before=frozenset(offered),
    )


def matches(
    waiting: Sequence[Waiting],
    free: Mapping[Group, Sequence[Slot]],
    room: Mapping[date, float] = ROOMY,
) -> list[Match]:
    return match(waiting, free, room, PARIS)


def starts(found: Sequence[Match]) -> dict[int, datetime]:
    """Each matched wish's new start."""
    return {m.wish_id: m.start for m in found}


# Who gets which slot


def test_the_first_person_gets_the_earliest_suitable_slot() -> None:
    nine, ten = slot(TUESDAY, "09:00"), slot(TUESDAY, "10:00")

    found = matches([person(1)], {PASSPORT: [nine, ten]})

    assert found == [Match(1, 1, nine.start, nine.end)]


def test_a_person_gets_one_slot_at_most() -> None:
    free = {PASSPORT: [slot(TUESDAY, "09:00"), slot(TUESDAY, "10:00"), slot(WEDNESDAY, "09:00")]}

    assert len(matches([person(1)], free)) == 1


def test_people_are_served_in_the_order_given_not_by_wish_id() -> None:
    free = {PASSPORT: [slot(TUESDAY, "09:00"), slot(TUESDAY, "10:00")]}

    found = matches([person(7), person(3)], free)

    assert starts(found) == {7: at(TUESDAY, "09:00"), 3: at(TUESDAY, "10:00")}
    assert [m.wish_id for m in found] == [7, 3]


def test_a_slot_starting_at_the_persons_own_start_is_not_earlier() -> None:
    current = at(TUESDAY, "10:00")
    free = {PASSPORT: [slot(TUESDAY, "10:00")]}

    assert matches([person(1, current=current)], free) == []


def test_a_slot_a_minute_before_the_persons_own_start_is_earlier() -> None:
    current = at(TUESDAY, "10:00")
    free = {PASSPORT: [slot(TUESDAY, "09:59")]}

    assert starts(matches([person(1, current=current)], free)) == {1: at(TUESDAY, "09:59")}


def test_slots_after_the_persons_own_start_are_never_offered() -> None:
    current = at(TUESDAY, "10:00")
    free = {PASSPORT: [slot(TUESDAY, "10:30"), slot(WEDNESDAY, "09:00")]}

    assert matches([person(1, current=current)], free) == []


def test_the_latest_start_is_exclusive() -> None:
    latest = at(WEDNESDAY, "00:00")
    free = {PASSPORT: [slot(WEDNESDAY, "00:00"), slot(WEDNESDAY, "09:00")]}

    assert matches([person(1, latest=latest)], free) == []


def test_a_slot_just_before_the_latest_start_is_offered() -> None:
    latest = at(WEDNESDAY, "09:00")
    free = {PASSPORT: [slot(TUESDAY, "16:30"), slot(WEDNESDAY, "09:00")]}

    assert starts(matches([person(1, latest=latest)], free)) == {1: at(TUESDAY, "16:30")}


def test_without_a_latest_start_any_slot_before_the_appointment_will_do() -> None:
    free = {PASSPORT: [slot(WEDNESDAY, "16:30")]}

    assert starts(matches([person(1, latest=None)], free)) == {1: at(WEDNESDAY, "16:30")}


def test_a_start_offered_before_is_skipped_for_the_next_one() -> None:
    nine, ten = slot(TUESDAY, "09:00"), slot(TUESDAY, "10:00")

    found = matches([person(1, offered=[nine.start])], {PASSPORT: [nine, ten]})

    assert starts(found) == {1: ten.start}


def test_a_start_offered_before_to_someone_else_is_still_offered() -> None:
    nine = slot(TUESDAY, "09:00")

    found = matches([person(1, offered=[nine.start]), person(2)], {PASSPORT: [nine]})

    assert starts(found) == {2: nine.start}


# Groups


def test_a_person_only_gets_the_slots_of_their_own_group() -> None:
    free = {
        IDENTITY_CARD: [slot(TUESDAY, "09:00")],
        PASSPORT_WITH_WHEELCHAIR: [slot(TUESDAY, "09:30", stations=(2,))],
        PASSPORT: [slot(WEDNESDAY, "11:00")],
    }

    found = matches([person(1, group=PASSPORT)], free)

    assert starts(found) == {1: at(WEDNESDAY, "11:00")}


def test_a_group_with_no_free_slots_gets_nothing() -> None:
    free = {IDENTITY_CARD: [slot(TUESDAY, "09:00")]}

    assert matches([person(1, group=PASSPORT)], free) == []


# Stations


def test_two_people_never_get_overlapping_slots_on_one_station() -> None:
    free = {PASSPORT: [slot(TUESDAY, "09:00"), slot(TUESDAY, "09:15"), slot(TUESDAY, "09:30")]}

    found = matches([person(1), person(2)], free)

    assert starts(found) == {1: at(TUESDAY, "09:00"), 2: at(TUESDAY, "09:30")}


def test_a_slot_ending_where_another_starts_does_not_overlap_it() -> None:
    free = {PASSPORT: [slot(TUESDAY, "09:00"), slot(TUESDAY, "09:30")]}

    found = matches([person(1), person(2)], free)

    assert [(m.station_id, m.start) for m in found] == [
        (1, at(TUESDAY, "09:00")),
        (1, at(TUESDAY, "09:30")),
    ]


def test_a_slot_ending_where_a_taken_one_starts_does_not_overlap_it() -> None:
    nine, half_past = slot(TUESDAY, "09:00"), slot(TUESDAY, "09:30")

    found = matches([person(1, offered=[nine.start]), person(2)], {PASSPORT: [nine, half_past]})

    assert starts(found) == {1: half_past.start, 2: nine.start}


def test_two_people_share_a_time_on_two_stations() -> None:
    nine = slot(TUESDAY, "09:00", stations=(4, 5))

    found = matches([person(1), person(2)], {PASSPORT: [nine]})

    assert found == [Match(1, 4, nine.start, nine.end), Match(2, 5, nine.start, nine.end)]


def test_the_best_station_of_a_slot_is_given_first() -> None:
    nine = slot(TUESDAY, "09:00", stations=(5, 4))

    assert [m.station_id for m in matches([person(1)], {PASSPORT: [nine]})] == [5]


def test_a_third_person_finds_both_stations_taken() -> None:
    nine = slot(TUESDAY, "09:00", stations=(4, 5))

    found = matches([person(1), person(2), person(3)], {PASSPORT: [nine]})

    assert [m.wish_id for m in found] == [1, 2]


def test_a_station_taken_by_one_group_is_taken_for_the_others() -> None:
    free = {
        PASSPORT: [slot(TUESDAY, "09:00", stations=(1,))],
        IDENTITY_CARD: [slot(TUESDAY, "09:15", stations=(1,)), slot(TUESDAY, "10:00")],
    }

    found = matches([person(1), person(2, group=IDENTITY_CARD)], free)

    assert starts(found) == {1: at(TUESDAY, "09:00"), 2: at(TUESDAY, "10:00")}


def test_another_group_takes_the_second_station_at_the_same_time() -> None:
    free = {
        PASSPORT: [slot(TUESDAY, "09:00", stations=(1,))],
        IDENTITY_CARD: [slot(TUESDAY, "09:00", stations=(1, 2))],
    }

    found = matches([person(1), person(2, group=IDENTITY_CARD)], free)

    assert [(m.wish_id, m.station_id) for m in found] == [(1, 1), (2, 2)]


# The day's room for online bookings


def test_a_room_of_exactly_the_length_is_enough() -> None:
    free = {PASSPORT: [slot(TUESDAY, "09:00")]}

    found = matches([person(1, length=30)], free, room={TUESDAY: 30.0})

    assert starts(found) == {1: at(TUESDAY, "09:00")}


def test_a_day_without_room_is_skipped_for_a_later_one() -> None:
    free = {PASSPORT: [slot(TUESDAY, "09:00"), slot(WEDNESDAY, "09:00")]}

    found = matches([person(1, length=30)], free, room={TUESDAY: 29.0, WEDNESDAY: 30.0})

    assert starts(found) == {1: at(WEDNESDAY, "09:00")}


def test_a_day_missing_from_the_room_has_none() -> None:
    free = {PASSPORT: [slot(TUESDAY, "09:00"), slot(WEDNESDAY, "09:00")]}

    found = matches([person(1)], free, room={WEDNESDAY: PLENTY})

    assert starts(found) == {1: at(WEDNESDAY, "09:00")}


def test_the_room_goes_down_by_each_persons_length() -> None:
    free = {PASSPORT: [slot(TUESDAY, "09:00", stations=(1, 2)), slot(WEDNESDAY, "09:00")]}
    room = {TUESDAY: 59.0, WEDNESDAY: PLENTY}

    found = matches([person(1, length=30), person(2, length=30)], free, room)

    assert starts(found) == {1: at(TUESDAY, "09:00"), 2: at(WEDNESDAY, "09:00")}


def test_the_room_left_after_one_person_may_still_take_another() -> None:
    free = {PASSPORT: [slot(TUESDAY, "09:00", stations=(1, 2))]}

    found = matches([person(1), person(2)], free, room={TUESDAY: 60.0})

    assert [(m.wish_id, m.station_id) for m in found] == [(1, 1), (2, 2)]


def test_the_room_is_shared_by_every_group() -> None:
    free = {
        PASSPORT: [slot(TUESDAY, "09:00", minutes=40)],
        IDENTITY_CARD: [slot(TUESDAY, "11:00", minutes=30), slot(WEDNESDAY, "11:00")],
    }
    room = {TUESDAY: 69.0, WEDNESDAY: PLENTY}

    found = matches([person(1, length=40), person(2, group=IDENTITY_CARD, length=30)], free, room)

    assert starts(found) == {1: at(TUESDAY, "09:00"), 2: at(WEDNESDAY, "11:00")}


def test_a_slot_just_after_midnight_counts_against_its_paris_day() -> None:
    # 00:30 on Wednesday in Paris is still Tuesday in UTC.
    free = {PASSPORT: [slot(WEDNESDAY, "00:30")]}

    found = matches([person(1)], free, room={TUESDAY: 0.0, WEDNESDAY: PLENTY})

    assert starts(found) == {1: at(WEDNESDAY, "00:30")}


def test_the_room_given_is_not_changed() -> None:
    room = {TUESDAY: 60.0}

    matches([person(1)], {PASSPORT: [slot(TUESDAY, "09:00")]}, room)

    assert room == {TUESDAY: 60.0}


# How long an offer is held

MORNING = at(TUESDAY, "08:00")
TWO_HOURS = timedelta(hours=2)
NOTICE = timedelta(hours=2)


def test_an_offer_is_held_from_when_its_message_can_be_read() -> None:
    start = at(WEDNESDAY, "09:00")

    assert expiry(MORNING, TWO_HOURS, start, NOTICE) == at(TUESDAY, "10:00")


def test_the_hold_ends_when_the_slot_can_no_longer_be_booked_online() -> None:
    start = at(TUESDAY, "11:00")

    assert expiry(MORNING, TWO_HOURS, start, NOTICE) == at(TUESDAY, "09:00")


def test_a_hold_of_exactly_five_minutes_is_made() -> None:
    start = MORNING + NOTICE + timedelta(minutes=5)

    assert expiry(MORNING, TWO_HOURS, start, NOTICE) == MORNING + timedelta(minutes=5)


def test_a_hold_a_second_short_of_five_minutes_is_not_made() -> None:
    start = MORNING + NOTICE + timedelta(minutes=4, seconds=59)

    assert expiry(MORNING, TWO_HOURS, start, NOTICE) is None


def test_no_hold_when_the_slot_is_already_past_its_notice() -> None:
    start = MORNING + timedelta(hours=1)

    assert expiry(MORNING, TWO_HOURS, start, NOTICE) is None


def test_a_hold_set_shorter_than_five_minutes_is_not_made() -> None:
    start = at(WEDNESDAY, "09:00")

    assert expiry(MORNING, timedelta(minutes=4), start, NOTICE) is None
    assert expiry(MORNING, timedelta(minutes=5), start, NOTICE) == MORNING + timedelta(minutes=5)


# How often a person may be offered one

NOW = at(TUESDAY, "14:00")
PER_DAY = 3


def test_a_person_never_offered_one_may_be() -> None:
    assert may_offer(0, None, NOW, PER_DAY)


def test_two_offers_made_today_allow_a_third() -> None:
    assert may_offer(2, None, NOW, PER_DAY)


def test_three_offers_made_today_allow_no_more() -> None:
    assert not may_offer(3, None, NOW, PER_DAY)
    assert not may_offer(4, None, NOW, PER_DAY)


def test_the_cap_is_the_one_given() -> None:
    assert not may_offer(1, None, NOW, 1)
    assert may_offer(3, None, NOW, 4)


def test_exactly_an_hour_after_the_last_offer_another_may_be_made() -> None:
    assert may_offer(1, NOW - timedelta(hours=1), NOW, PER_DAY)


def test_within_the_hour_after_the_last_offer_none_may_be_made() -> None:
    assert not may_offer(1, NOW - timedelta(minutes=59, seconds=59), NOW, PER_DAY)
    assert not may_offer(0, NOW, NOW, PER_DAY)


def test_an_offer_long_ago_does_not_lift_the_days_cap() -> None:
    assert not may_offer(3, NOW - timedelta(hours=5), NOW, PER_DAY)


# Whom an offer counts against


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def test_a_person_is_known_by_their_email_and_by_their_phone() -> None:
    assert person_keys("camille@example.fr", "+33612345678") == (
        digest("email:camille@example.fr"),
        digest("phone:+33612345678"),
    )


def test_one_booked_with_an_email_and_one_with_a_phone_share_the_phone_key() -> None:
    """Camille booked once with her email and phone, once with her phone alone: one
    person, as the booking limits have it."""
    both = set(person_keys("camille@example.fr", "+33612345678"))
    phone_only = set(person_keys(None, "+33612345678"))
    assert phone_only <= both


def test_an_email_alone_or_a_phone_alone_is_one_key() -> None:
    assert person_keys("camille@example.fr", None) == (digest("email:camille@example.fr"),)
    assert person_keys(None, "+33612345678") == (digest("phone:+33612345678"),)
    assert person_keys("", "+33612345678") == (digest("phone:+33612345678"),)


def test_without_either_there_is_no_key() -> None:
    assert person_keys(None, None) == ()
    assert person_keys("", "") == ()


def test_an_email_and_a_phone_with_the_same_text_are_different_keys() -> None:
    assert person_keys("0612345678", None) != person_keys(None, "0612345678")


def test_keys_are_digests_never_the_address() -> None:
    keys = person_keys("camille@example.fr", "+33612345678")
    assert all(len(key) == 64 and "camille" not in key and "+336" not in key for key in keys)


# Which free slots an offer could still hold


def test_a_slot_bookable_just_now_is_not_offered_one_five_minutes_on_is() -> None:
    """Two hours' notice: at 8:00 the 10:00 slot lapses as it is read; the 10:05 one can
    be held five minutes; a message read at the morning's 8:00 counts from then."""
    notice = timedelta(hours=2)
    slots = [slot(TUESDAY, "10:00"), slot(TUESDAY, "10:04"), slot(TUESDAY, "10:05")]
    kept = offerable(slots, at(TUESDAY, "08:00"), notice)
    assert [found.start for found in kept] == [at(TUESDAY, "10:05")]
    assert offerable(slots, at(TUESDAY, "07:00"), notice) == slots


def test_the_first_day_to_give_is_the_day_after_the_earliest_slot_an_offer_can_hold() -> None:
    """Two hours' notice: read at 21:54, a slot at 23:59 can be held five minutes, so
    "before Tuesday" can be met; read at 21:55, the earliest starts on Tuesday at 0:00,
    and Wednesday is the first day given that an offer can meet."""
    notice = timedelta(hours=2)
    assert first_day_before(at(MONDAY, "21:54"), notice, PARIS) == TUESDAY
    assert offerable([slot(MONDAY, "23:59")], at(MONDAY, "21:54"), notice)
    assert first_day_before(at(MONDAY, "21:55"), notice, PARIS) == WEDNESDAY
    assert not offerable([slot(MONDAY, "23:59")], at(MONDAY, "21:55"), notice)


def test_one_person_waiting_for_two_appointments_gets_one_slot_a_round() -> None:
    """Their second wish would only meet the caps; the slot goes to the next person."""
    slots = [slot(TUESDAY, "10:00"), slot(TUESDAY, "11:00")]
    first = Waiting(1, PASSPORT, 30, at(FRIDAY, "10:00"), people=frozenset({"camille"}))
    again = Waiting(2, PASSPORT, 30, at(FRIDAY, "10:30"), people=frozenset({"camille", "06"}))
    other = Waiting(3, PASSPORT, 30, at(FRIDAY, "10:30"), people=frozenset({"dan"}))
    found = match([first, again, other], {PASSPORT: slots}, ROOMY, PARIS)
    assert [(m.wish_id, m.start) for m in found] == [
        (1, at(TUESDAY, "10:00")),
        (3, at(TUESDAY, "11:00")),
    ]
