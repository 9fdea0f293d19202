"""Earlier slots, the pure part: whose turn it is for which freed slot, and for how long
it is held. Nothing here reads a clock or the database.

- **Who first**: the people waiting, in the order they asked; each gets the earliest free
  slot of its démarche and needs that starts before their appointment (and before the day
  they gave), that they were not offered before, and that fits the day's share of online
  bookings. Two people never get overlapping slots of one station, and one person waiting
  for two appointments gets one slot a round.
- **How long**: `hold` minutes from when the message can be read (the end of the quiet
  hours at night, so that a slot freed at 23:00 is not gone by the morning), never past the
  last moment the slot could still be booked online (its start less the booking notice).
- **How often**: at most `OFFERS_PER_DAY` offers a day to one person, one an hour
  (`QUIET_FOR`), a person being known by their email and by their phone (`person_keys`);
  the tables hold it too (`app/waitlist/models.py`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.booking.slots import Slot

QUIET_FOR = timedelta(hours=1)
# Who can take the same slots: a démarche (its id) and the needs told.
Group = tuple[int, tuple[str, ...]]
# A hold shorter than this is no use to anybody: the slot is left to others.
SHORTEST_HOLD = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Waiting:
    """One person waiting for an earlier slot, as the engine sees them."""

    wish_id: int
    group: Group
    length_minutes: float
    current_start: datetime  # their appointment's
    latest_start: datetime | None = None  # from the day they gave: before it
    offered_before: frozenset[datetime] = frozenset()  # starts they let go or declined
    people: frozenset[str] = frozenset()  # their keys (`person_keys`): one offer a round


@dataclass(frozen=True, slots=True)
class Match:
    wish_id: int
    station_id: int
    start: datetime
    end: datetime


@dataclass
class _Taken:
    """Station intervals given in this round, and the online room left per day."""

    room: dict[date, float]
    intervals: dict[int, list[tuple[datetime, datetime]]] = field(default_factory=dict)

    def station_for(self, slot: Slot) -> int | None:
        for station_id in slot.station_ids:
            spans = self.intervals.get(station_id, [])
            if not any(start < slot.end and slot.start < end for start, end in spans):
                return station_id
        return None

    def take(self, station_id: int, slot: Slot, day: date, minutes: float) -> None:
        self.intervals.setdefault(station_id, []).append((slot.start, slot.end))
        self.room[day] = self.room.get(day, 0.0) - minutes


def match(
    waiting: Sequence[Waiting],
    free: Mapping[Group, Sequence[Slot]],
    room: Mapping[date, float],
    tz: ZoneInfo,
) -> list[Match]:
    """Who gets which free slot: `waiting` in their order, `free` the slots of each group
    by start, `room` the minutes of online bookings each day may still take."""
    taken = _Taken(dict(room))
    found = []
    served: set[str] = set()  # the keys of those given a slot: one person waiting twice
    for person in waiting:
        if person.people & served:
            continue
        for slot in free.get(person.group, ()):
            if slot.start >= person.current_start:
                break
            if person.latest_start is not None and slot.start >= person.latest_start:
                break
            if slot.start in person.offered_before:
                continue
            day = slot.start.astimezone(tz).date()
            if taken.room.get(day, 0.0) < person.length_minutes:
                continue
            station_id = taken.station_for(slot)
            if station_id is None:
                continue
            taken.take(station_id, slot, day, person.length_minutes)
            found.append(Match(person.wish_id, station_id, slot.start, slot.end))
            served |= person.people
            break
    return found


def expiry(
    readable_at: datetime, hold: timedelta, start: datetime, notice: timedelta
) -> datetime | None:
    """When an offer made now for the slot at `start` lapses: `hold` after its message can
    be read (`readable_at`), but no later than the slot can still be booked online; None
    when that leaves less than `SHORTEST_HOLD`."""
    until = min(readable_at + hold, start - notice)
    return until if until - readable_at >= SHORTEST_HOLD else None


def offerable(slots: Sequence[Slot], readable_at: datetime, notice: timedelta) -> list[Slot]:
    """Those of `slots` an offer read at `readable_at` could still hold a while (at least
    `SHORTEST_HOLD` before they can no longer be booked online): the earliest free slot,
    just bookable now, would lapse before anybody read of it."""
    return [slot for slot in slots if expiry(readable_at, SHORTEST_HOLD, slot.start, notice)]


def first_day_before(readable_at: datetime, notice: timedelta, tz: ZoneInfo) -> date:
    """The first day a person waiting may give (`before`: a slot offered starts on an
    earlier day) that an offer made from `readable_at` on can meet: the day after the one
    of the earliest slot `offerable` lets through, `notice` and `SHORTEST_HOLD` after it."""
    return (readable_at + notice + SHORTEST_HOLD).astimezone(tz).date() + timedelta(days=1)


def may_offer(made_today: int, last_made: datetime | None, now: datetime, per_day: int) -> bool:
    """Whether a person may get another offer now: fewer than `per_day` today, none
    within the last hour."""
    return made_today < per_day and (last_made is None or now - last_made >= QUIET_FOR)


def person_keys(email_key: str | None, phone: str | None) -> tuple[str, ...]:
    """Whom an offer goes to, as the caps count them: by their email (as compared) and by
    their phone, each kept as a digest. One person booked once with an email and once
    with a phone alone is one person, as the booking limits have it."""
    keys = [f"email:{email_key}" if email_key else "", f"phone:{phone}" if phone else ""]
    return tuple(hashlib.sha256(key.encode()).hexdigest() for key in keys if key)
