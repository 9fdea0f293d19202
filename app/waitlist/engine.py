"""The offer engine: a freed slot is held for the first person waiting for it.

A cancellation, a move or a lapsed offer marks its day as freed (`freed`, in the
transaction of the change); the engine then looks at those days only (`run`), under
their booking locks, so that a booking and an offer never take one slot. A slower round
(`sweep`) looks at every day somebody waits for, for slots freed otherwise (a new
station, longer hours, a closure lifted). Every instance may run both: the day's lock
puts them one after the other, and the caps on offers hold in the tables."""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import events, locking
from app.booking.contacts import is_mobile
from app.booking.finders import slot_finder
from app.booking.messages import about
from app.booking.models import Appointment, AppointmentStatus
from app.booking.queries import get_needs, requirement_of
from app.booking.slots import Slot, SlotFinder, policy
from app.db import Database, rowcount
from app.notify import outbox
from app.sites.hours import local_days
from app.sites.models import Service, Site
from app.sites.service import local_today
from app.waitlist import rules
from app.waitlist.models import (
    OFFERS_PER_DAY,
    FreedDay,
    Offer,
    OfferMark,
    OfferStatus,
    Wish,
    WishEnd,
)

# How many freed days one round of `run` looks at, at most (the next round goes on).
DAYS_PER_ROUND = 200
# How long the marks offers leave on people are kept: the caps look back a day at most.
MARKS_KEPT = timedelta(days=2)


async def freed(session: AsyncSession, site_id: int, day: date, now: datetime) -> None:
    """Mark `day` of the site as one where a slot may have freed up (once: a day already
    marked stays marked)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    await session.execute(
        insert(FreedDay)
        .values(site_id=site_id, day=day, freed_at=now)
        .on_conflict_do_nothing(index_elements=[FreedDay.site_id, FreedDay.day])
    )


@dataclass(frozen=True, slots=True)
class _Candidate:
    """One person waiting, as read in one row: their wish, their appointment's time and
    démarche, whom an offer would go to."""

    wish_id: int
    before: date | None
    appointment_id: int
    group: rules.Group
    starts_at: datetime
    people: tuple[str, ...]  # the person's keys (`rules.person_keys`)


async def _lapse(session: AsyncSession, site: Site, first: date, last: date, now: datetime) -> None:
    """Offers of the site whose hold ran out are expired (those on other days mark theirs
    as freed): the slot is anybody's again, and the next person's to be offered."""
    tz = ZoneInfo(site.timezone)
    lapsed = list(
        await session.scalars(
            select(Offer).where(
                Offer.site_id == site.id,
                Offer.status == OfferStatus.HELD,
                Offer.expires_at <= now,
            )
        )
    )
    for offer in lapsed:
        offer.status = OfferStatus.EXPIRED
        day = offer.starts_at.astimezone(tz).date()
        if not first <= day <= last:
            await freed(session, site.id, day, now)
    await session.flush()


async def _waiting(
    session: AsyncSession, site: Site, first: date, now: datetime
) -> list[_Candidate]:
    """Who waits at the site for a slot from `first` on, in the order they asked: booked,
    to come after that day begins, reachable, no slot held for them now."""
    starts, _ = local_days(first, first, ZoneInfo(site.timezone))
    held = select(Offer.id).where(Offer.wish_id == Wish.id, Offer.status == OfferStatus.HELD)
    rows = await session.execute(
        select(
            Wish.id,
            Wish.before,
            Appointment.id,
            Appointment.service_id,
            Appointment.needs,
            Appointment.starts_at,
            Appointment.email,
            Appointment.email_key,
            Appointment.phone,
        )
        .join(Appointment, Appointment.id == Wish.appointment_id)
        .where(
            Wish.site_id == site.id,
            Wish.ended_at.is_(None),
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.starts_at > max(starts, now),
            ~held.exists(),
        )
        .order_by(Wish.created_at, Wish.id)
    )
    found = []
    for wish_id, before, appointment_id, service_id, needs, start, email, key, phone in rows:
        if email or (phone is not None and is_mobile(phone)):  # told by email, else by text
            group = (service_id, tuple(needs))
            keys = rules.person_keys(key, phone)
            found.append(_Candidate(wish_id, before, appointment_id, group, start, keys))
    return found


async def _allowed(
    session: AsyncSession, keys: set[str], today: date, now: datetime
) -> dict[str, int]:
    """Those of the people's `keys` that may take another offer now (`rules.may_offer`),
    with how many offers each had today."""
    if not keys:
        return {}
    counts: dict[str, tuple[int, datetime | None]] = {}
    rows = await session.execute(
        select(
            OfferMark.person,
            func.count().filter(OfferMark.day == today),
            func.max(OfferMark.made_at),
        )
        .where(OfferMark.person.in_(keys), OfferMark.made_at > now - MARKS_KEPT)
        .group_by(OfferMark.person)
    )
    for person, made_today, last in rows:
        counts[person] = (int(made_today), last)
    return {
        key: counts.get(key, (0, None))[0]
        for key in keys
        if rules.may_offer(*counts.get(key, (0, None)), now, OFFERS_PER_DAY)
    }


async def _offered_before(
    session: AsyncSession, wish_ids: Sequence[int]
) -> dict[int, frozenset[datetime]]:
    rows = await session.execute(
        select(Offer.wish_id, Offer.starts_at).where(
            Offer.wish_id.in_(wish_ids), Offer.status != OfferStatus.WITHDRAWN
        )
    )
    found: dict[int, set[datetime]] = {}
    for wish_id, start in rows:
        found.setdefault(wish_id, set()).add(start)
    return {wish_id: frozenset(starts) for wish_id, starts in found.items()}


async def offer_on(
    session: AsyncSession, site: Site, first: date, last: date, now: datetime
) -> int:
    """Hold the slots free from `first` to `last` for the people waiting for them, in the
    order they asked, and tell each; how many offers were made. In the caller's writing
    transaction: it takes the days' booking locks."""
    tz = ZoneInfo(site.timezone)
    first = max(first, local_today(site, now))
    if last < first:
        return 0
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    await locking.lock(session, locking.day_locks(site.id, *days))
    await _lapse(session, site, first, last, now)
    candidates = await _waiting(session, site, first, now)
    today = local_today(site, now)
    allowed = await _allowed(session, {key for c in candidates for key in c.people}, today, now)
    candidates = [c for c in candidates if set(c.people) <= allowed.keys()]
    if not candidates:
        return 0
    before = await _offered_before(session, [c.wish_id for c in candidates])
    readable_at = outbox.readable_from(site, now)
    notice = policy(site).min_notice
    free: dict[rules.Group, list[Slot]] = {}
    lengths: dict[rules.Group, float] = {}
    room: dict[date, float] = {}
    base: SlotFinder | None = None  # read once; each démarche's finder derives from it
    waiting = []
    for candidate in candidates:
        group = candidate.group
        if group not in free:
            service = await session.get_one(Service, group[0])
            need = requirement_of(service, await get_needs(session, group[1], retired=True))
            if base is None:
                finder = base = await slot_finder(session, site, need, first, last, now)
                room = {day: base.online_capacity(day) - base.booked_minutes(day) for day in days}
            else:
                finder = dataclasses.replace(base, need=need)
            free[group] = rules.offerable(finder.slots(), readable_at, notice)
            lengths[group] = finder.need.length_minutes
        waiting.append(
            rules.Waiting(
                wish_id=candidate.wish_id,
                group=group,
                length_minutes=lengths[group],
                current_start=candidate.starts_at,
                latest_start=local_days(candidate.before, candidate.before, tz)[0]
                if candidate.before
                else None,
                offered_before=before.get(candidate.wish_id, frozenset()),
                people=frozenset(candidate.people),
            )
        )
    by_wish = {c.wish_id: c for c in candidates}
    matches = rules.match(waiting, free, room, tz)
    if not matches:
        return 0
    # The people about to be offered a slot are locked all at once, in order: two rounds
    # offering to one person (two days, two instances, a sweep) then wait for one another
    # instead of for each other's marks in opposite orders; the caps refuse the second.
    await locking.lock(
        session,
        [person_lock(key) for found in matches for key in by_wish[found.wish_id].people],
    )
    chosen = [by_wish[found.wish_id].appointment_id for found in matches]
    appointments = {
        appointment.id: appointment
        for appointment in await session.scalars(
            select(Appointment).where(Appointment.id.in_(chosen))
        )
    }
    made = 0
    hold = timedelta(minutes=site.offer_hold_minutes)
    for found in matches:
        expires_at = rules.expiry(readable_at, hold, found.start, notice)
        if expires_at is None:
            continue
        candidate = by_wish[found.wish_id]
        ranks = {key: allowed[key] + 1 for key in candidate.people}
        appointment = appointments[candidate.appointment_id]
        if await _make(
            session,
            site,
            appointment,
            candidate.wish_id,
            found,
            ranks,
            (readable_at, expires_at),
            today,
            now,
        ):
            made += 1
    return made


def person_lock(key: str) -> int:
    """The lock on one of a person's keys, the one their bookings take too."""
    return locking.lock_key(locking.Scope.PERSON, zlib.crc32(key.encode()))


async def _make(
    session: AsyncSession,
    site: Site,
    appointment: Appointment,
    wish_id: int,
    found: rules.Match,
    ranks: dict[str, int],
    hold: tuple[datetime, datetime],
    today: date,
    now: datetime,
) -> bool:
    """Write the offer, its marks (`ranks`: each key's place in its day) and tell its
    person; False when the tables refuse it (another round just made one to them)."""
    readable_at, expires_at = hold
    offer = Offer(
        wish_id=wish_id,
        appointment_id=appointment.id,
        site_id=site.id,
        station_id=found.station_id,
        starts_at=found.start,
        ends_at=found.end,
        day=today,
        made_at=now,
        expires_at=expires_at,
        status=OfferStatus.HELD,
    )
    try:
        async with session.begin_nested():
            session.add(offer)
            await session.flush()
            for key, rank in ranks.items():
                session.add(
                    OfferMark(
                        offer_id=offer.id,
                        person=key,
                        day=today,
                        day_rank=rank,
                        made_at=now,
                        quiet_until=now + rules.QUIET_FOR,
                    )
                )
            await session.flush()
    except IntegrityError:
        return False
    service = await session.get_one(Service, appointment.service_id)
    made = events.OfferMade(
        at=now,
        **about(appointment, site, service),
        offer_id=offer.id,
        start=found.start,
        end=found.end,
        expires_at=expires_at,
        readable_at=readable_at,
    )
    await events.record(session, made)
    return True


async def run(db: Database, now: datetime, *, limit: int = DAYS_PER_ROUND) -> int:
    """Offer the slots of the freed days, oldest first: each mairie's days in one
    transaction, from the first to the last of them (asking marks every day up to the
    appointment: one look at them all, not one a day); how many offers were made."""
    async with db.session() as session:
        marks = list(
            await session.execute(
                select(FreedDay.id, FreedDay.site_id, FreedDay.day)
                .order_by(FreedDay.freed_at, FreedDay.id)
                .limit(limit)
            )
        )
    by_site: dict[int, list[tuple[int, date]]] = {}
    for mark_id, site_id, day in marks:
        by_site.setdefault(site_id, []).append((mark_id, day))
    made = 0
    for site_id, found in by_site.items():
        first, last = min(day for _, day in found), max(day for _, day in found)
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        async with db.writing() as session:
            site = await session.get_one(Site, site_id)
            # The days' locks before the marks' rows: a move marking one of these days
            # freed holds its day's lock, then waits for the mark's row; taking the rows
            # first would wait for that lock in the other order.
            await locking.lock(session, locking.day_locks(site_id, *days))
            ids = [mark_id for mark_id, _ in found]
            taken = await session.execute(delete(FreedDay).where(FreedDay.id.in_(ids)))
            if rowcount(taken):  # else another instance did it
                made += await offer_on(session, site, first, last, now)
    return made


async def lapse_due(db: Database, now: datetime) -> int:
    """Offers whose hold ran out are expired and their days marked as freed, for the next
    person waiting; how many."""
    async with db.writing() as session:
        lapsed = list(
            await session.execute(
                update(Offer)
                .where(Offer.status == OfferStatus.HELD, Offer.expires_at <= now)
                .values(status=OfferStatus.EXPIRED)
                .returning(Offer.site_id, Offer.starts_at)
            )
        )
        zones = {
            site.id: ZoneInfo(site.timezone)
            for site in await session.scalars(
                select(Site).where(Site.id.in_({s for s, _ in lapsed}))
            )
        }
        for site_id, start in lapsed:
            await freed(session, site_id, start.astimezone(zones[site_id]).date(), now)
    return len(lapsed)


async def sweep(db: Database, now: datetime) -> int:
    """Look at every day somebody waits for, at every mairie, for slots freed by other
    means than a cancellation (a station added, hours made longer, a closure lifted)."""
    async with db.session() as session:
        spans = list(
            await session.execute(
                select(Wish.site_id, func.max(Appointment.starts_at))
                .join(Appointment, Appointment.id == Wish.appointment_id)
                .where(
                    Wish.ended_at.is_(None),
                    Appointment.status == AppointmentStatus.BOOKED,
                    Appointment.starts_at > now,
                )
                .group_by(Wish.site_id)
            )
        )
    made = 0
    for site_id, latest in spans:
        async with db.writing() as session:
            site = await session.get_one(Site, site_id)
            tz = ZoneInfo(site.timezone)
            last = latest.astimezone(tz).date()
            made += await offer_on(session, site, local_today(site, now), last, now)
    return made


async def let_go(
    session: AsyncSession, offer: Offer, status: OfferStatus, tz: ZoneInfo, now: datetime
) -> None:
    """The held `offer` ends (`status`) and its slot is free again, first for the next
    person waiting; its message, if not sent yet, is not."""
    offer.status = status
    offer.answered_at = now
    await freed(session, offer.site_id, offer.starts_at.astimezone(tz).date(), now)
    await outbox.cancel_pending(session, appointment_id=offer.appointment_id, kinds=("offer",))


async def recheck(session: AsyncSession, site: Site, now: datetime) -> int:
    """After a change to how the mairie runs (an outage, a closure, hours, stations), each
    slot held at the site is checked again: kept, on another station of the slot if its
    own is now out, or let go (the person keeps waiting, and the day is marked freed).
    How many were let go."""
    await session.flush()
    tz = ZoneInfo(site.timezone)
    held = list(
        await session.scalars(
            select(Offer)
            .where(
                Offer.site_id == site.id,
                Offer.status == OfferStatus.HELD,
                Offer.expires_at > now,
            )
            .with_for_update()
        )
    )
    dropped = 0
    for offer in held:
        appointment = await session.get_one(Appointment, offer.appointment_id)
        service = await session.get_one(Service, appointment.service_id)
        needs = await get_needs(session, tuple(appointment.needs), retired=True)
        day = offer.starts_at.astimezone(tz).date()
        finder = await slot_finder(
            session,
            site,
            requirement_of(service, needs),
            day,
            day,
            now,
            leave_out=appointment.id,
            leave_out_offer=offer.id,
        )
        found = finder.check(offer.starts_at)
        if isinstance(found, Slot) and found.end == offer.ends_at:
            if offer.station_id not in found.station_ids:
                offer.station_id = found.station_ids[0]
            continue
        await let_go(session, offer, OfferStatus.WITHDRAWN, tz, now)
        dropped += 1
    return dropped


async def forget(session: AsyncSession, appointment_ids: list[int], now: datetime) -> None:
    """The people of these appointments are erased: they wait for nothing any more, the
    slots held for them are let go (and their days marked freed), and the marks their
    offers left are deleted."""
    if not appointment_ids:
        return
    await session.execute(
        update(Wish)
        .where(Wish.appointment_id.in_(appointment_ids), Wish.ended_at.is_(None))
        .values(ended_at=now, ended_why=WishEnd.GONE)
    )
    held = await session.execute(
        update(Offer)
        .where(Offer.appointment_id.in_(appointment_ids), Offer.status == OfferStatus.HELD)
        .values(status=OfferStatus.WITHDRAWN, answered_at=now)
        .returning(Offer.site_id, Offer.starts_at)
    )
    for site_id, start in list(held):
        site = await session.get_one(Site, site_id)
        await freed(session, site_id, start.astimezone(ZoneInfo(site.timezone)).date(), now)
    offers = select(Offer.id).where(Offer.appointment_id.in_(appointment_ids))
    await session.execute(delete(OfferMark).where(OfferMark.offer_id.in_(offers)))


async def forget_old_marks(session: AsyncSession, now: datetime) -> int:
    """Marks older than the caps look back (two days) are no use: deleted."""
    result = await session.execute(delete(OfferMark).where(OfferMark.made_at < now - MARKS_KEPT))
    return rowcount(result)
