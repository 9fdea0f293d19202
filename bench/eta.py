"""Waiting estimates against real waits, over the generated year of `tests/history.py`:
the share of waits inside the announced range (hit rate), how far from the range's middle
the wait was (mean error), and the range's mean width, for today's estimator and, on the
same data, the one before it (the baseline, copied below).

The year's rows say who came when, for what, how long each help took and who gave up;
the waits they hold are drawn at random, whatever the queue. So each mairie's days are
replayed: the stations (every one staffed, all day) call through the queue's own
`next_ticket` whenever they are free, each call taking the row's time from call to start
plus its help (nine minutes of calls for a no-show), and a ticket given up leaves the
queue when its row says. A ticket's real wait is from its arrival to its call in the
replay; both estimators are asked at its arrival, from what the queue knew then (the
waiting tickets, the busy stations, the latest durations of each service at that site,
the appointments due within the hour not checked in yet).

Run: .venv/bin/python -m bench.eta [--tickets-per-day N] [--sites N] [--seed N]
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import math
import random
import tempfile
import time
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app import schema
from app.booking.models import Appointment
from app.db import Database
from app.queue import eta
from app.queue.models import Ticket
from app.queue.ordering import Caller, Waiting, can_serve, next_ticket, order_key
from app.sites.demo import load_demo
from app.sites.models import Service, Site, Station
from app.sites.service import site_calendar
from app.visits.models import Department
from tests.history import Year, desks_by_site

FIRST, LAST = date(2026, 1, 1), date(2026, 12, 31)
NOW = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)
NO_SHOW_BUSY = timedelta(minutes=9)  # three calls, as the year's rows have them
MINUTE = timedelta(minutes=1)


# The estimator before this one, as it was (app/queue/eta.py and ordering.py's ahead_of).


def baseline_average(durations: Sequence[float], default: float) -> float:
    recent = [d for d in durations[:20] if d > 0]
    return sum(recent) / len(recent) if recent else default


def baseline_range(ahead: int, stations: int, average: float) -> tuple[int, int] | None:
    if stations < 1:
        return None
    rounds = ahead // stations
    low = math.floor(rounds * average * 0.8)
    high = math.ceil((rounds + 1) * average * 1.25)
    return low, max(high, low + 1)


def baseline_ahead(
    ticket: Waiting, tickets: Sequence[Waiting], now: datetime, threshold: timedelta
) -> int:
    mine = order_key(ticket, now, threshold)
    return sum(
        1
        for other in tickets
        if other.id != ticket.id
        and order_key(other, now, threshold) < mine
        and (ticket.kind != "double" or other.kind == "double")
    )


# Scores


@dataclass
class Score:
    hits: int = 0
    count: int = 0
    error: float = 0.0
    width: float = 0.0
    none: int = 0
    early: int = 0  # called before the range's low end

    def add(self, announced: tuple[int, int] | None, wait: float) -> None:
        if announced is None:
            self.none += 1
            return
        low, high = announced
        self.count += 1
        self.hits += low <= wait <= high
        self.early += wait < low
        self.error += abs(wait - (low + high) / 2)
        self.width += high - low

    def line(self, label: str) -> str:
        count = max(self.count, 1)
        return (
            f"{label:<10} hit rate {100 * self.hits / count:5.1f} %   "
            f"mean error {self.error / count:5.1f} min   "
            f"mean width {self.width / count:5.1f} min   "
            f"called before the range {100 * self.early / count:4.1f} %, "
            f"after {100 * (count - self.hits - self.early) / count:4.1f} %   "
            f"({self.count} waits, {self.none} without a range)"
        )


# The replay of one mairie


@dataclass
class Person:
    row: dict[str, Any]
    waiting: Waiting
    busy: timedelta  # from the call to the station's next call
    start_delay: timedelta | None  # from the call to the start of the help
    help_minutes: float | None
    gives_up_at: datetime | None


@dataclass
class Desk:
    id: int
    caller: Caller
    free_at: datetime | None = None  # None: idle
    since: datetime | None = None
    started: datetime | None = None
    service: int | None = None
    help_minutes: float | None = None


@dataclass
class Mairie:
    """One site's stations, rules, and what it learnt of its services' durations."""

    desks: list[Desk]
    threshold: timedelta
    late_minutes: int
    recent: dict[int, deque[float]] = field(default_factory=lambda: defaultdict(deque))


def person_of(row: dict[str, Any]) -> Person:
    waiting = Waiting(
        id=row["id"],
        arrived_at=row["arrived_at"],
        due_at=row["due_at"],
        kind=row["station_kind"],
        accessible=row["requires_accessible"],
        service=row["service_id"],
    )
    first_called = row["first_called_at"]
    if row["status"] == "done":
        delay = row["started_at"] - first_called
        help_time = row["finished_at"] - row["started_at"]
        return Person(row, waiting, delay + help_time, delay, help_time / MINUTE, None)
    if row["status"] == "no_show":
        return Person(row, waiting, NO_SHOW_BUSY, None, None, None)
    return Person(row, waiting, timedelta(0), None, None, row["updated_at"])


def replay_day(
    mairie: Mairie,
    tickets: list[dict[str, Any]],
    appointments: list[dict[str, Any]],
    catalog: dict[int, int],
    kinds: dict[int, str],
    new: Score,
    old: Score,
) -> None:
    people = {row["id"]: person_of(row) for row in tickets}
    arrival_of = {
        row["appointment_id"]: row["arrived_at"] for row in tickets if row["appointment_id"]
    }
    waiting: dict[int, Person] = {}
    announced: dict[int, tuple[tuple[int, int] | None, tuple[int, int] | None]] = {}
    events: list[tuple[datetime, int, int, int]] = []  # (at, order, what, id)
    for person in people.values():
        heapq.heappush(events, (person.waiting.arrived_at, 2, 0, person.waiting.id))
        if person.gives_up_at is not None:
            heapq.heappush(events, (person.gives_up_at, 1, 1, person.waiting.id))
    callers = [desk.caller for desk in mairie.desks]
    by_id = {desk.id: desk for desk in mairie.desks}

    def times() -> dict[int, eta.ServiceTimes]:
        return {
            service: eta.service_times(list(mairie.recent[service]), minutes)
            for service, minutes in catalog.items()
        }

    def expected(now: datetime) -> list[Waiting]:
        return [
            Waiting(
                id=-row["id"],
                arrived_at=row["starts_at"],
                due_at=row["starts_at"],
                kind=kinds[row["service_id"]],
                service=row["service_id"],
            )
            for row in appointments
            if now - timedelta(minutes=mairie.late_minutes)
            < row["starts_at"]
            <= now + eta.LATER_WITHIN
            and (row["cancelled_at"] is None or row["cancelled_at"] > now)
            and arrival_of.get(row["id"], now + timedelta(days=1)) > now
        ]

    def estimate(person: Person, now: datetime) -> None:
        line = [p.waiting for p in waiting.values()]
        stations = [
            eta.OpenStation(
                desk.caller,
                busy_since=None
                if desk.free_at is None
                else (desk.started if desk.started and desk.started <= now else desk.since),
                busy_with=desk.service if desk.free_at is not None else None,
            )
            for desk in mairie.desks
        ]
        found = eta.forecast(
            line,
            stations,
            times(),
            eta.service_times([], eta.DEFAULT_MINUTES),
            now,
            mairie.threshold,
            expected(now),
        )[person.waiting.id]
        me = person.waiting
        service = me.service
        before = baseline_range(
            baseline_ahead(me, line, now, mairie.threshold),
            sum(1 for caller in callers if can_serve(caller, me)),
            baseline_average(list(mairie.recent[service]), catalog[service]),
        )
        announced[me.id] = (found.minutes, before)

    def dispatch(now: datetime) -> None:
        for desk in mairie.desks:
            if desk.free_at is not None or not waiting:
                continue
            chosen = next_ticket(
                [p.waiting for p in waiting.values()], desk.caller, now, mairie.threshold, callers
            )
            if chosen is None:
                continue
            person = waiting.pop(chosen.id)
            mine, before = announced.pop(chosen.id)
            wait = (now - chosen.arrived_at) / MINUTE
            new.add(mine, wait)
            old.add(before, wait)
            desk.free_at = now + person.busy
            desk.since = now
            desk.started = now + person.start_delay if person.start_delay is not None else None
            desk.service = chosen.service
            desk.help_minutes = person.help_minutes
            heapq.heappush(events, (desk.free_at, 0, 2, desk.id))

    while events:
        now, _, what, key = heapq.heappop(events)
        if what == 0:
            person = people[key]
            waiting[key] = person
            estimate(person, now)
        elif what == 1:
            if key in waiting:
                del waiting[key]
                announced.pop(key, None)
        elif what == 2:
            desk = by_id[key]
            if desk.help_minutes is not None and desk.service is not None:
                recent = mairie.recent[desk.service]
                recent.appendleft(desk.help_minutes)
                while len(recent) > eta.SAMPLE_SIZE:
                    recent.pop()
            desk.free_at = desk.since = desk.started = None
            desk.service = None
            desk.help_minutes = None
        dispatch(now)


async def measure(tickets_per_day: int, skip: int, site_count: int, seed: int) -> None:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        await asyncio.to_thread(schema.upgrade, url)
        db = Database(url)
        async with db.writing() as session:
            await load_demo(session, today=FIRST)
        async with db.session() as session:
            sites = list(await session.scalars(select(Site).order_by(Site.id)))[
                skip : skip + site_count
            ]
            calendars = [await site_calendar(session, site, FIRST, LAST) for site in sites]
            desks = await desks_by_site(session)
            departments = list(await session.scalars(select(Department.id)))
            stations = list(await session.scalars(select(Station).order_by(Station.id)))
            services = list(await session.scalars(select(Service)))
        await db.dispose()
    catalog = {service.id: service.duration_minutes for service in services}
    kinds = {service.id: service.station_kind for service in services}
    year = Year(random.Random(seed), departments, tickets_per_day, NOW)
    new, old = Score(), Score()
    days = 0
    for site, site_hours in zip(sites, calendars, strict=True):
        mairie = Mairie(
            [Desk(s.id, Caller(s.kind, s.accessible)) for s in stations if s.site_id == site.id],
            timedelta(minutes=site.priority_after_minutes),
            site.check_in_late_minutes,
        )
        assert {desk.id for desk in mairie.desks} == {desk.id for desk in desks[site.id]}
        for open_day in site_hours.days(FIRST, LAST):
            if not open_day.is_open:
                continue
            year.add_day(site.id, desks[site.id], open_day)
            rows = year.take()
            replay_day(mairie, rows[Ticket], rows[Appointment], catalog, kinds, new, old)
            days += 1
    print(
        f"{days} site-days at {len(sites)} mairies, {new.count + new.none} waits "
        f"({time.perf_counter() - started:.0f} s)"
    )
    print(new.line("after"))
    print(old.line("baseline"))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--tickets-per-day",
        type=int,
        default=93,
        help="on average, per mairie and open day (93: about 400,000 tickets in the year)",
    )
    parser.add_argument("--sites", type=int, default=17, help="N mairies")
    parser.add_argument("--skip", type=int, default=0, help="after the first N mairies")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    await measure(args.tickets_per_day, args.skip, args.sites, args.seed)


if __name__ == "__main__":
    asyncio.run(main())
