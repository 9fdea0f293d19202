"""Earlier slots with two instances offering at once: the caps on offers hold whatever
runs the engine, and however often.

Two mairies, cut down to one station taking no walk-ins, are full for a week from the day
after tomorrow but for a few slots. Thirty people wait for an earlier slot, each with an
appointment at both mairies, in a different order at each (four of them twice at the
first, some known by their email and mobile at one and by the mobile alone at the other),
so that one person stands in several lines at once. Both instances run the offer
round five times a second while the days are marked freed out of order (so that the two
look at two days at once), appointments are cancelled through either of them, held
offers lapse, and the people offered a slot take it or leave it through either of them.
Then the tables are read: nobody was offered two slots within an hour or four in a day,
no slot is held twice or over a booking, every slot offered was earlier than its
appointment, and neither instance logged an error.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from app.booking.commands import new_token
from app.booking.contacts import email_key
from app.booking.finders import slot_finder
from app.booking.models import Appointment
from app.booking.queries import requirement_of
from app.db import Database
from app.sites.models import Service, Site, Station
from app.sites.service import local_today
from app.waitlist.models import OFFERS_PER_DAY, FreedDay, Offer, OfferMark, Wish
from app.waitlist.rules import QUIET_FOR, person_keys
from tests.cluster.conftest import PARIS, clients, environment
from tests.integration.test_booking_races import (
    assert_no_station_is_held_twice_at_once,
    live_appointments,
)
from tests.servers import Server, running

pytestmark = [pytest.mark.slow, pytest.mark.postgresql]
SITES = ("paris-15", "paris-14")
OFFER_EVERY_SECONDS = "0.2"
PEOPLE = 30
LINKED_FROM = 20  # from here, an email and a mobile at one mairie, the mobile alone at the other
PHONE_ONLY_FROM = 26  # from here, a mobile alone
TWICE_AT_FIRST = 4  # the first people wait twice at the first mairie
CANCEL_DAYS = 4  # open days where appointments are cancelled, from the day after tomorrow
WAIT_DAYS = 3  # the open days after those, where the people waiting are booked
FREE_PER_SITE = 8  # left free, as a station added or longer hours would free them
CANCELLED_PER_SITE = 8
WAVES = 4
WAVE_GAP_SECONDS = 0.6
# Slots held for other people when the rounds start, lapsing while they run.
LAPSING_PER_SITE = 2
LAPSE_AFTER_SECONDS = (1.0, 2.5)
ANSWER_EVERY_SECONDS = 0.25
MARK_EVERY_SECONDS = 0.05
# Done when nothing changed for this long; given up on at the deadline.
SETTLED_AFTER_SECONDS = 2.5
DEADLINE_SECONDS = 30
SLOT = timedelta(minutes=30)


@dataclass(frozen=True)
class Lapsing:
    """A slot held for somebody offered it ten minutes ago, their hold about to end."""

    wish_id: int
    appointment_id: int
    site_id: int
    station_id: int
    people: tuple[str, ...]  # their keys, as the caps count them
    start: datetime


@dataclass
class Plan:
    """What the test prepared: the appointments to cancel; the appointments of the people
    waiting (by id: their tokens, their starts before anything moved them, who booked
    them and that person's keys as the caps count them); the slots to hold and let
    lapse."""

    to_cancel: list[str] = field(default_factory=list)
    tokens: dict[int, str] = field(default_factory=dict)
    starts: dict[int, datetime] = field(default_factory=dict)
    people: dict[int, str] = field(default_factory=dict)
    keys: dict[int, tuple[str, ...]] = field(default_factory=dict)
    lapsing: list[Lapsing] = field(default_factory=list)
    # The days of each mairie (site id, day), alternately: the first of each, the second…
    days: list[tuple[int, date]] = field(default_factory=list)


def contact_of(number: int, site_index: int) -> dict[str, Any]:
    """Person `number`'s contact, as their appointment at a mairie gives it: an email, an
    email and a mobile at the first mairie but the mobile alone at the second, or a
    mobile alone."""
    address = f"Attente{number}@Example.org"  # compared lower case
    phone = f"+336120000{number:02d}"
    if number >= PHONE_ONLY_FROM or (number >= LINKED_FROM and site_index == 1):
        return {"email": None, "email_key": None, "phone": phone}
    if number >= LINKED_FROM:
        return {"email": address, "email_key": email_key(address), "phone": phone}
    return {"email": address, "email_key": email_key(address), "phone": None}


def somebody(email: str) -> dict[str, Any]:
    return {"email": email, "email_key": email, "phone": None}


def lines(site_index: int) -> list[tuple[float, str, dict[str, Any]]]:
    """Who waits at a mairie, by their place in line: the people in number order at the
    first mairie, by swapped pairs (1, 0, 3, 2…) at the second, so that two people come
    in opposite orders at the two; at the first, four of them again further on; and
    first of all, the people already offered a slot there."""
    found = [
        (
            float(number if site_index == 0 else number ^ 1),
            f"attente{number}",
            contact_of(number, site_index),
        )
        for number in range(PEOPLE)
    ]
    if site_index == 0:
        found += [
            (number * 7 + 0.5, f"attente{number}", contact_of(number, site_index))
            for number in range(TWICE_AT_FIRST)
        ]
    found += [
        (-1.0 - n, f"offert{site_index}{n}", somebody(f"offert{site_index}{n}@example.org"))
        for n in range(LAPSING_PER_SITE)
    ]
    return found


@dataclass(frozen=True)
class Mairie:
    """One of the test's mairies, as its appointments are booked."""

    index: int
    site_id: int
    station_id: int
    service_id: int
    booked_at: datetime


def booked(
    session: AsyncSession, mairie: Mairie, start: datetime, name: str, contact: dict[str, Any]
) -> Appointment:
    """An appointment of `mairie` at `start`, booked at the desk by phone."""
    appointment = Appointment(
        reference=f"OC{mairie.index}-{start:%m%d%H%M}",
        token=new_token(),
        site_id=mairie.site_id,
        station_id=mairie.station_id,
        service_id=mairie.service_id,
        starts_at=start,
        ends_at=start + SLOT,
        status="booked",
        channel="phone",
        name=name,
        needs=[],
        created_at=mairie.booked_at,
        updated_at=mairie.booked_at,
        **contact,
    )
    session.add(appointment)
    return appointment


async def prepare(db: Database, now: datetime) -> Plan:
    """Both mairies full for `CANCEL_DAYS + WAIT_DAYS` open days from the day after
    tomorrow, on one station, nothing kept for walk-ins; the people waiting booked on the
    last `WAIT_DAYS`; on the first `CANCEL_DAYS`, the appointments to cancel and the slots
    left free for the offers about to lapse, spread over them."""
    plan = Plan()
    base = now - timedelta(hours=2)
    async with db.writing() as session:
        caf = await session.scalar(select(Service).where(Service.code == "caf"))
        assert caf is not None
        site_days: list[list[tuple[int, date]]] = []
        for site_index, slug in enumerate(SITES):
            site = await session.scalar(select(Site).where(Site.slug == slug))
            assert site is not None
            site.walk_in_percent = 0
            stations = list(
                await session.scalars(
                    select(Station).where(Station.site_id == site.id).order_by(Station.id)
                )
            )
            station = stations[0]
            for other in stations[1:]:
                other.active = False
            await session.flush()
            first = local_today(site, now) + timedelta(days=2)
            finder = await slot_finder(
                session, site, requirement_of(caf, []), first, first + timedelta(days=21), now
            )
            by_day: dict[date, list[datetime]] = {}
            for slot in finder.slots():
                assert slot.station_ids == (station.id,)
                by_day.setdefault(slot.start.astimezone(PARIS).date(), []).append(slot.start)
            days = sorted(by_day)[: CANCEL_DAYS + WAIT_DAYS]
            assert len(days) == CANCEL_DAYS + WAIT_DAYS, f"{slug} opens too few days"
            site_days.append([(site.id, day) for day in days])
            early = [start for day in days[:CANCEL_DAYS] for start in by_day[day]]
            late = [start for day in days[CANCEL_DAYS:] for start in by_day[day]]
            picks = LAPSING_PER_SITE + FREE_PER_SITE + CANCELLED_PER_SITE
            step = len(early) // picks
            picked = early[step // 2 :: step][:picks]
            left_free = picked[: LAPSING_PER_SITE + FREE_PER_SITE]
            cancelled = set(picked[LAPSING_PER_SITE + FREE_PER_SITE :])
            waiting = sorted(lines(site_index), key=lambda place: place[0])
            assert len(waiting) < len(late), f"{slug}: too few slots for the people waiting"

            mairie = Mairie(site_index, site.id, station.id, caf.id, base)
            for start in early:
                if start not in left_free:
                    filler = booked(
                        session,
                        mairie,
                        start,
                        "Déjà là",
                        somebody(f"la{start:%m%d%H%M}@example.org"),
                    )
                    if start in cancelled:
                        plan.to_cancel.append(filler.token)
            for start in late[len(waiting) :]:
                booked(
                    session, mairie, start, "Déjà là", somebody(f"la{start:%m%d%H%M}@example.org")
                )
            holders = iter(left_free)
            # The line in the order of the late slots: the later in line, the later booked.
            for (place, who, contact), start in zip(waiting, late, strict=False):
                appointment = booked(session, mairie, start, who.capitalize(), contact)
                await session.flush()
                keys = person_keys(contact["email_key"], contact["phone"])
                plan.tokens[appointment.id] = appointment.token
                plan.starts[appointment.id] = start
                plan.people[appointment.id] = who
                plan.keys[appointment.id] = keys
                wish = Wish(
                    appointment_id=appointment.id,
                    site_id=site.id,
                    created_at=base + timedelta(minutes=10, seconds=place),
                )
                session.add(wish)
                if who.startswith("offert"):
                    await session.flush()
                    plan.lapsing.append(
                        Lapsing(wish.id, appointment.id, site.id, station.id, keys, next(holders))
                    )
    plan.days = [pair for pairs in zip(*site_days, strict=True) for pair in pairs]
    return plan


async def offers_about_to_lapse(db: Database, plan: Plan) -> None:
    """The slots left free held for people offered them ten minutes ago (their marks
    with them), until a second or two from now: whichever instance sees them lapse frees
    their days."""
    now = datetime.now(UTC)
    made = now - timedelta(minutes=10)
    day = made.astimezone(PARIS).date()
    async with db.writing() as session:
        for number, held in enumerate(plan.lapsing):
            lapses = timedelta(seconds=LAPSE_AFTER_SECONDS[number % len(LAPSE_AFTER_SECONDS)])
            offer = Offer(
                wish_id=held.wish_id,
                appointment_id=held.appointment_id,
                site_id=held.site_id,
                station_id=held.station_id,
                starts_at=held.start,
                ends_at=held.start + SLOT,
                day=day,
                made_at=made,
                expires_at=now + lapses,
                status="held",
            )
            session.add(offer)
            await session.flush()
            session.add_all(
                OfferMark(
                    offer_id=offer.id,
                    person=key,
                    day=day,
                    day_rank=1,
                    made_at=made,
                    quiet_until=made + QUIET_FOR,
                )
                for key in held.people
            )


@dataclass
class Answers:
    """The people offered a slot answer through either instance: one in three takes it
    (their appointment moves there, and the slot it leaves is freed), one in three leaves
    it to the next person, the others let it be."""

    plan: Plan
    seen: set[int] = field(default_factory=set)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)

    async def answer(self, db: Database, instances: list[httpx.AsyncClient]) -> None:
        async with db.session() as session:
            held = list(
                await session.execute(
                    select(Offer.id, Offer.appointment_id).where(
                        Offer.status == "held", Offer.made_at > func.now() - timedelta(minutes=5)
                    )
                )
            )
        answering = []
        for offer_id, appointment_id in held:
            if offer_id in self.seen:
                continue
            self.seen.add(offer_id)
            if offer_id % 3 == 2:
                continue
            what = "accept" if offer_id % 3 == 0 else "decline"
            path = f"/api/v1/appointments/{self.plan.tokens[appointment_id]}/offer/{what}"
            answering.append((what, instances[offer_id % len(instances)].post(path)))
        responses = await asyncio.gather(*(request for _, request in answering))
        for (what, _), response in zip(answering, responses, strict=True):
            self.statuses[what, response.status_code] += 1


async def cancel_in_waves(instances: list[httpx.AsyncClient], tokens: list[str]) -> Counter[int]:
    """Cancel the appointments in waves of requests at once, spread over the instances,
    while the rounds run."""
    statuses: Counter[int] = Counter()
    size = -(-len(tokens) // WAVES)
    for first in range(0, len(tokens), size):
        responses = await asyncio.gather(
            *(
                instances[number % len(instances)].post(f"/api/v1/appointments/{token}/cancel")
                for number, token in enumerate(tokens[first : first + size])
            )
        )
        statuses.update(response.status_code for response in responses)
        await asyncio.sleep(WAVE_GAP_SECONDS)
    return statuses


async def marked_out_of_order(db: Database, plan: Plan, until: asyncio.Task[Any]) -> int:
    """Mark the days again and again, each dated before every other mark, while the
    cancellations go on. A day is marked as of when its change began, not when it was
    committed, so a mark may come before those an instance is going through: the next
    round of the other instance starts with it, and both offer on two days at once."""
    insert = postgresql.insert(FreedDay).on_conflict_do_nothing(
        index_elements=[FreedDay.site_id, FreedDay.day]
    )
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    marks = 0
    for site_id, day in itertools.cycle(plan.days):
        if until.done():
            return marks
        async with db.writing() as session:
            await session.execute(
                insert.values(
                    site_id=site_id, day=day, freed_at=long_ago - timedelta(seconds=marks)
                )
            )
        marks += 1
        await asyncio.sleep(MARK_EVERY_SECONDS)
    return marks


async def progress(db: Database) -> tuple[int, int, int]:
    """How many offers there are, how many are held, and how many days are still marked
    as freed."""
    async with db.session() as session:
        offers = await session.scalar(select(func.count()).select_from(Offer))
        held = await session.scalar(
            select(func.count()).select_from(Offer).where(Offer.status == "held")
        )
        marked = await session.scalar(select(func.count()).select_from(FreedDay))
    return int(offers or 0), int(held or 0), int(marked or 0)


def failed_rounds(server: Server) -> float:
    """How many of this instance's offer rounds failed (their lapse or their offers)."""
    text = httpx.get(f"{server.base}/metrics", timeout=5).text
    found = re.search(
        r'^guichet_scheduler_runs_total\{job="offers",result="failed"\} (\S+)$', text, re.M
    )
    return float(found.group(1)) if found else 0.0


def logged(server: Server) -> list[dict[str, Any]]:
    """What the instance logged so far (a line still being written left out)."""
    output = server.output()
    lines = output.splitlines()[: None if output.endswith("\n") else -1]
    return [json.loads(line) for line in lines if line.startswith("{")]


def overlap(one: Offer | Appointment, other: Offer | Appointment) -> bool:
    return (
        one.station_id == other.station_id
        and one.starts_at < other.ends_at
        and other.starts_at < one.ends_at
    )


async def test_two_instances_offering_at_once_keep_the_caps(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    plan = await prepare(db, datetime.now(UTC))
    settings = environment(
        database_url,
        GUICHET_OFFER_EVERY_SECONDS=OFFER_EVERY_SECONDS,
        GUICHET_LOG_LEVEL="INFO",
        GUICHET_LOG_FORMAT="json",
        # A round waits for a day's lock as long as a loaded machine may make it.
        GUICHET_DATABASE_TIMEOUT_SECONDS="30",
    )

    with running(tmp_path, settings, count=2) as servers:
        started = time.monotonic()
        await offers_about_to_lapse(db, plan)
        answers = Answers(plan)
        async with clients(servers) as instances:
            cancelling = asyncio.create_task(cancel_in_waves(instances, plan.to_cancel))
            marking = asyncio.create_task(marked_out_of_order(db, plan, cancelling))
            seen, changed = await progress(db), time.monotonic()
            while time.monotonic() - started < DEADLINE_SECONDS:
                await asyncio.sleep(ANSWER_EVERY_SECONDS)
                await answers.answer(db, instances)
                now = await progress(db)
                if now != seen:
                    seen, changed = now, time.monotonic()
                settled = time.monotonic() - changed > SETTLED_AFTER_SECONDS
                if cancelling.done() and now[2] == 0 and settled:
                    break
            cancelled = await cancelling
            await marking
        # Before the instances stop: a round cut short by the stop is no failure here.
        failures = [failed_rounds(server) for server in servers]
        entries = [logged(server) for server in servers]
        lasted = time.monotonic() - started

    errors = [entry for found in entries for entry in found if entry["level"] == "error"]
    made_by = [
        sum(int(entry["count"]) for entry in found if entry["message"] == "earlier slots offered")
        for found in entries
    ]
    async with db.session() as session:
        offers = list(await session.scalars(select(Offer).order_by(Offer.id)))
        marks = list(await session.scalars(select(OfferMark).order_by(OfferMark.id)))
        marked = await session.scalar(select(func.count()).select_from(FreedDay))
    appointments = await live_appointments(db)
    made = [offer for offer in offers if not plan.people[offer.appointment_id].startswith("of")]
    to = Counter(plan.people[offer.appointment_id] for offer in made)
    print(
        f"\n{len(made)} offers to {len(to)} people in {lasted:.1f} s, by instance: "
        f"{made_by}; answers: {dict(answers.statuses)}"
    )

    assert [(entry["message"], str(entry.get("exception", ""))[-400:]) for entry in errors] == []
    assert failures == [0.0, 0.0], "an offer round failed"
    assert cancelled == {200: len(plan.to_cancel)}
    assert set(answers.statuses) <= {("accept", 200), ("decline", 204)}, answers.statuses
    assert marked == 0, "days freed and never looked at"
    assert sum(made_by) == len(made)
    # Enough was offered for the caps to matter: most people waiting had one.
    assert len(made) >= PEOPLE // 2
    assert all(offer.status == "expired" for offer in offers if offer not in made)

    # Nobody was offered two slots within the hour: here, one at most, whichever of
    # their appointments, mairies, email or phone it went to.
    assert max(to.values()) == 1, to.most_common(3)
    # Each offer left a mark on each of its person's keys, and the marks keep the caps:
    # never two of one key within the hour, nor more than three on a day.
    by_offer: dict[int, set[str]] = {}
    by_key: dict[str, list[OfferMark]] = {}
    for mark in marks:
        by_offer.setdefault(mark.offer_id, set()).add(mark.person)
        by_key.setdefault(mark.person, []).append(mark)
    assert by_offer == {offer.id: set(plan.keys[offer.appointment_id]) for offer in offers}
    for key, theirs in by_key.items():
        theirs.sort(key=lambda mark: mark.made_at)
        for earlier, later in itertools.pairwise(theirs):
            assert earlier.quiet_until <= later.made_at, f"two offers within the hour to {key}"
    per_day = Counter((mark.person, mark.day) for mark in marks)
    assert max(per_day.values()) <= OFFERS_PER_DAY
    ranks = Counter((mark.person, mark.day, mark.day_rank) for mark in marks)
    assert set(ranks.values()) == {1}
    # Every slot offered came before the appointment it was offered for.
    for offer in offers:
        assert offer.starts_at < plan.starts[offer.appointment_id], offer.id
    # No slot held twice, nor held over a booking, on its station.
    held = [offer for offer in offers if offer.status == "held"]
    for one, other in itertools.combinations(held, 2):
        assert not overlap(one, other), f"offers {one.id} and {other.id} hold one slot"
    for offer in held:
        for appointment in appointments:
            assert not overlap(offer, appointment), f"offer {offer.id} over a booking"
    assert_no_station_is_held_twice_at_once(appointments)
    # Those who took their slot are booked there now.
    taken = {offer.appointment_id: offer for offer in offers if offer.status == "accepted"}
    assert len(taken) == answers.statuses["accept", 200]
    moved = {a.id: a for a in appointments if a.id in taken}
    assert {key: a.starts_at for key, a in moved.items()} == {
        key: offer.starts_at for key, offer in taken.items()
    }
