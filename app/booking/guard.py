"""When a mairie's day fills abnormally fast, and which bookings look like one client's:
a pure function of the anonymous bookings of the last hour, with `now` passed in."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class Made:
    """One anonymous booking still standing: for which local day, when it was made, from
    which client network, for which person (normalised email, E.164 phone)."""

    appointment_id: int
    day: date
    made_at: datetime
    network: str | None
    email_key: str | None
    phone: str | None


@dataclass(frozen=True)
class Burst:
    """A site-day that took more than the threshold of anonymous bookings within the
    window; `suspects` are those of them that share a client network or a person with
    another of them (what a manager may release at once)."""

    day: date
    count: int
    suspects: tuple[int, ...]
    networks: int


def bursts(
    made: Iterable[Made], *, threshold: int, now: datetime, window: timedelta = WINDOW
) -> list[Burst]:
    """The site-days, in order, that took more than `threshold` anonymous bookings made
    in the `window` before `now`."""
    by_day: dict[date, list[Made]] = defaultdict(list)
    for booking in made:
        if now - window <= booking.made_at <= now:
            by_day[booking.day].append(booking)
    found = []
    for day in sorted(by_day):
        recent = by_day[day]
        if len(recent) <= threshold:
            continue
        seen: Counter[tuple[str, str]] = Counter()
        for booking in recent:
            seen.update(_marks(booking))
        suspects = tuple(
            sorted(
                booking.appointment_id
                for booking in recent
                if any(seen[mark] > 1 for mark in _marks(booking))
            )
        )
        networks = len({booking.network for booking in recent if booking.network})
        found.append(Burst(day=day, count=len(recent), suspects=suspects, networks=networks))
    return found


def _marks(booking: Made) -> set[tuple[str, str]]:
    marks = {
        ("network", booking.network),
        ("email", booking.email_key),
        ("phone", booking.phone),
    }
    return {(kind, value) for kind, value in marks if value}
