"""Plausible past activity at the 17 mairies — appointments (40 % of the tickets, some
missed, some cancelled), tickets, visits, escalations and follow-up answers — written
straight into a fresh database, for the figures' benchmark and browser test.

Rows are written with their ids, into a database that holds no such rows yet: on
PostgreSQL the id sequences are left behind, so nothing else should insert afterwards.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.booking.models import Appointment
from app.db import Base, Database
from app.queue.models import Ticket
from app.sites.demo import load_demo
from app.sites.hours import OpenDay
from app.sites.models import Service, Site, Station
from app.sites.service import site_calendar
from app.visits.models import OUTCOMES, Department, Escalation, FollowUpAnswer, Visit

CHUNK = 5_000  # tickets per insert, with the rows that go with them
SLOT = timedelta(minutes=30)
BOOKED_SHARE = 0.4  # of the tickets, those of an appointment
MISSED_SHARE = 0.08  # of the appointments not cancelled, nobody came
CANCELLED_SHARE = 0.12  # cancelled appointments, for each one kept
ANSWERED_SHARE = 0.2  # of the done tickets, those whose follow-up question was answered
CHANNELS, CHANNEL_WEIGHTS = ("online", "phone", "counter"), (60, 25, 15)
STATUSES, STATUS_WEIGHTS = ("done", "no_show", "cancelled"), (88, 6, 6)
OUTCOME_WEIGHTS = (50, 15, 10, 8, 17)  # in the order of OUTCOMES
SCORES, SCORE_WEIGHTS = (1, 2, 3, 4, 5), (5, 7, 15, 35, 38)
TABLES: tuple[type[Base], ...] = (Appointment, Ticket, Visit, Escalation, FollowUpAnswer)

Row = dict[str, Any]


# A year of activity.


@dataclass(frozen=True)
class Offer:
    """A service, as the rows need it."""

    id: int
    code: str
    minutes: int
    station_kind: str


@dataclass(frozen=True)
class Desk:
    """A station and the services it takes: all of them at a double station, the
    standard ones elsewhere."""

    id: int
    offers: tuple[Offer, ...]


@dataclass
class Arrival:
    """Someone who takes a ticket: when, for what, where they will be seen, and their
    appointment if they have one."""

    at: datetime
    desk: Desk
    offer: Offer
    appointment: Row | None


def minutes(value: float) -> timedelta:
    return timedelta(minutes=value)


def grid(start: datetime, end: datetime) -> list[datetime]:
    """The starts of the 30-minute slots that fit between `start` and `end`."""
    return [start + SLOT * k for k in range(int((end - start) / SLOT))]


class Year:
    """The rows of a year of activity, made one site-day at a time and taken in chunks.

    Ids are given here, so that visits, escalations and answers name their tickets
    without reading them back. Appointments each hold their own station and 30-minute
    slot, so that none overlaps another (only cancelled ones may).
    """

    def __init__(
        self, rng: random.Random, departments: list[int], tickets_per_day: int, now: datetime
    ) -> None:
        self.rng = rng
        self.now = now
        self.departments = departments
        self.tickets_per_day = tickets_per_day
        self.ids = {model: itertools.count(1) for model in TABLES}
        self.rows: dict[type[Base], list[Row]] = {model: [] for model in TABLES}
        self.counts: Counter[str] = Counter()

    def full(self) -> bool:
        return len(self.rows[Ticket]) >= CHUNK

    def take(self) -> dict[type[Base], list[Row]]:
        taken, self.rows = self.rows, {model: [] for model in TABLES}
        return taken

    def _new_id(self, model: type[Base]) -> int:
        return next(self.ids[model])

    def _keep(self, model: type[Base], row: Row) -> None:
        self.rows[model].append(row)
        self.counts[model.__tablename__] += 1

    def add_day(self, site_id: int, desks: list[Desk], open_day: OpenDay) -> None:
        rng = self.rng
        size = round(self.tickets_per_day * rng.uniform(0.8, 1.2))
        slots = [
            (desk, start)
            for opens, closes in open_day.intervals
            for start in grid(opens, closes)
            for desk in desks
        ]
        rng.shuffle(slots)
        held = min(len(slots), round(size * BOOKED_SHARE / (1 - MISSED_SHARE)))
        arrivals = []
        for desk, start in slots[:held]:
            offer = rng.choice(desk.offers)
            if rng.random() < MISSED_SHARE:
                self._appointment(site_id, desk, offer, start, "no_show")
                continue
            appointment = self._appointment(site_id, desk, offer, start, "checked_in")
            arrivals.append(Arrival(start - minutes(rng.uniform(-5, 20)), desk, offer, appointment))
        for desk, start in rng.sample(slots, round(held * CANCELLED_SHARE)):
            self._appointment(site_id, desk, rng.choice(desk.offers), start, "cancelled")
        for _ in range(size - len(arrivals)):
            opens, closes = rng.choice(open_day.intervals)
            desk = rng.choice(desks)
            at = opens + (closes - opens - SLOT) * rng.random()
            arrivals.append(Arrival(at, desk, rng.choice(desk.offers), None))
        arrivals.sort(key=lambda arrival: arrival.at)
        for number, arrival in enumerate(arrivals, start=1):
            self._ticket(site_id, open_day.day, number, arrival)

    def _appointment(
        self, site_id: int, desk: Desk, offer: Offer, start: datetime, status: str
    ) -> Row:
        rng = self.rng
        appointment_id = self._new_id(Appointment)
        created = start - timedelta(hours=rng.uniform(3, 30 * 24))
        row: Row = {
            "id": appointment_id,
            "reference": f"BR-{appointment_id:08d}",
            "token": f"bench-appointment-{appointment_id:012d}",
            "site_id": site_id,
            "station_id": desk.id,
            "service_id": offer.id,
            "starts_at": start,
            "ends_at": start + SLOT,
            "status": status,
            "channel": rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0],
            "name": "Usager",
            "email": f"usager{appointment_id}@example.org",
            "needs": [],
            "created_at": created,
            "updated_at": created,
            "cancelled_at": created + (start - created) * rng.random()
            if status == "cancelled"
            else None,
        }
        self._keep(Appointment, row)
        return row

    def _ticket(self, site_id: int, day: date, number: int, arrival: Arrival) -> None:
        """A ticket taken at `arrival.at`, called after 0 to 90 minutes, then served for
        5 to 60 minutes, missed after three calls, or given up before its call."""
        rng = self.rng
        appointment = arrival.appointment
        due = appointment["starts_at"] if appointment else None
        queued = max(arrival.at, due) if due else arrival.at
        first_called = queued + minutes(min(90.0, rng.expovariate(1 / (6 if due else 15))))
        status = rng.choices(STATUSES, STATUS_WEIGHTS)[0]
        row: Row = {
            "id": self._new_id(Ticket),
            "site_id": site_id,
            "day": day,
            "number": f"N{number:03d}",
            "token": f"bench-{site_id}-{day:%Y%m%d}-{number:03d}",
            "service_id": arrival.offer.id,
            "needs": [],
            "station_kind": arrival.offer.station_kind,
            "requires_accessible": False,
            "priority": False,
            "appointment_id": appointment["id"] if appointment else None,
            "due_at": due,
            "status": status,
            "arrived_at": arrival.at,
            "first_called_at": None,
            "called_at": None,
            "call_count": 0,
            "station_id": None,
            "started_at": None,
            "finished_at": None,
            "updated_at": first_called,
        }
        if status == "no_show":
            last_call = first_called + minutes(6)
            row |= {
                "first_called_at": first_called,
                "called_at": last_call,
                "call_count": 3,
                "station_id": arrival.desk.id,
                "updated_at": last_call + minutes(3),
            }
        elif status == "done":
            started = first_called + minutes(rng.uniform(0.5, 3))
            help_minutes = min(60.0, max(5.0, rng.gauss(arrival.offer.minutes, 8)))
            finished = started + minutes(help_minutes)
            row |= {
                "first_called_at": first_called,
                "called_at": first_called,
                "call_count": 1,
                "station_id": arrival.desk.id,
                "started_at": started,
                "finished_at": finished,
                "updated_at": finished,
            }
            if appointment:
                appointment["status"] = "served"
        self._keep(Ticket, row)
        if status == "done":
            channel = appointment["channel"] if appointment else "walk_in"
            self._visit(row, arrival.offer, channel)

    def _visit(self, ticket: Row, offer: Offer, channel: str) -> None:
        rng = self.rng
        visit_id = self._new_id(Visit)
        outcome = rng.choices(OUTCOMES, OUTCOME_WEIGHTS)[0]
        finished = ticket["finished_at"]
        self._keep(
            Visit,
            {
                "id": visit_id,
                "ticket_id": ticket["id"],
                "site_id": ticket["site_id"],
                "day": ticket["day"],
                "station_id": ticket["station_id"],
                "channel": channel,
                "services": [offer.code],
                "outcome": outcome,
                "note": "",
                "started_at": ticket["started_at"],
                "finished_at": finished,
            },
        )
        if outcome == "escalated":
            self._escalation(visit_id, ticket)
        if rng.random() < ANSWERED_SHARE:
            self._keep(
                FollowUpAnswer,
                {
                    "id": self._new_id(FollowUpAnswer),
                    "ticket_id": ticket["id"],
                    "site_id": ticket["site_id"],
                    "score": rng.choices(SCORES, SCORE_WEIGHTS)[0],
                    "comment": "",
                    "answered_at": finished + timedelta(hours=rng.uniform(1, 72)),
                },
            )

    def _escalation(self, visit_id: int, ticket: Row) -> None:
        """Sent on when the visit finished; answered 1 to 30 days later, if that is
        before now, nine times in ten."""
        rng = self.rng
        sent = ticket["finished_at"]
        reply = sent + timedelta(days=rng.uniform(1, 30))
        answered = reply < self.now and rng.random() < 0.9
        self._keep(
            Escalation,
            {
                "id": self._new_id(Escalation),
                "reference": f"BX-{visit_id:09d}",
                "visit_id": visit_id,
                "ticket_id": ticket["id"],
                "site_id": ticket["site_id"],
                "department_id": rng.choice(self.departments),
                "status": "answered" if answered else rng.choice(("received", "in_progress")),
                "created_at": sent,
                "updated_at": reply if answered else sent,
                "answered_at": reply if answered else None,
            },
        )


async def desks_by_site(session: AsyncSession) -> dict[int, list[Desk]]:
    services = list(await session.scalars(select(Service).order_by(Service.position)))
    everything = tuple(Offer(s.id, s.code, s.duration_minutes, s.station_kind) for s in services)
    standard = tuple(offer for offer in everything if offer.station_kind == "standard")
    desks: dict[int, list[Desk]] = {}
    for station in await session.scalars(select(Station).order_by(Station.id)):
        offers = everything if station.kind == "double" else standard
        desks.setdefault(station.site_id, []).append(Desk(station.id, offers))
    return desks


async def insert_rows(db: Database, rows: dict[type[Base], list[Row]]) -> None:
    """Each table's rows in one executemany (into the table, not the ORM's bulk insert,
    which splits them wherever the columns left None change)."""
    async with db.writing() as session:
        for model, batch in rows.items():
            if batch:
                await session.execute(insert(Base.metadata.tables[model.__tablename__]), batch)


async def fill(
    db: Database,
    first: date,
    last: date,
    *,
    tickets_per_day: int,
    now: datetime,
    seed: int = 2026,
) -> Counter[str]:
    """The demo data, then activity at every mairie on the days its calendar opens from
    `first` to `last`, in a database that holds none yet. How many rows of each table."""
    async with db.writing() as session:
        await load_demo(session, today=first)
    async with db.session() as session:
        sites = list(await session.scalars(select(Site).order_by(Site.id)))
        calendars = [await site_calendar(session, site, first, last) for site in sites]
        desks = await desks_by_site(session)
        departments = list(await session.scalars(select(Department.id)))
    history = Year(random.Random(seed), departments, tickets_per_day, now)
    for site, site_hours in zip(sites, calendars, strict=True):
        for open_day in site_hours.days(first, last):
            if open_day.is_open:
                history.add_day(site.id, desks[site.id], open_day)
            if history.full():
                await insert_rows(db, history.take())
    await insert_rows(db, history.take())
    if not db.is_sqlite:  # as autovacuum would have done, long before a year had passed
        async with db.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("VACUUM ANALYZE"))
    return history.counts
