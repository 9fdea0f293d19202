"""How many bookings one person or one client address may hold, so that nobody books out a
mairie's days or floods a stranger's inbox: the counts in the database, the refusals when a
limit is reached, and the locks that make two bookings of one person count one after the
other."""

from __future__ import annotations

import zlib
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, ScalarSelect, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import locking
from app.booking import contacts
from app.booking.contacts import Contact
from app.booking.models import RELEASED, Appointment, AppointmentStatus
from app.errors import Conflict
from app.sites.hours import local_days
from app.sites.models import Site

# Online bookings made for one person (cancelled ones too) in a day: enough for someone
# who hesitates, too few to flood a stranger's inbox with confirmations.
BOOKINGS_MADE_PER_PERSON_PER_DAY = 6


def person_locks(who: Contact) -> list[int]:
    """Locks on this person across Paris, so that two bookings of theirs at two mairies
    are counted one after the other."""
    keys = [contacts.email_key(who.email) if who.email else "", who.phone or ""]
    return [locking.lock_key(locking.Scope.PERSON, zlib.crc32(key.encode())) for key in keys if key]


def _same_person(who: Contact) -> ColumnElement[bool]:
    """Appointments of this person, however the email is spelt."""
    same_person = []
    if who.email:
        same_person.append(Appointment.email_key == contacts.email_key(who.email))
    if who.phone:
        same_person.append(Appointment.phone == who.phone)
    return or_(*same_person)


def _count(*where: ColumnElement[bool]) -> ScalarSelect[int]:
    return select(func.count()).where(*where).scalar_subquery()


def _made_today(who: Contact, now: datetime) -> ScalarSelect[int]:
    """Online bookings made for this person in the last day, cancelled ones too."""
    return _count(
        _same_person(who),
        Appointment.booked_by_agent_id.is_(None),
        Appointment.created_at > now - timedelta(days=1),
    )


def _to_come(who: Contact, now: datetime) -> ScalarSelect[int]:
    """This person's appointments to come, in all the mairies."""
    return _count(
        _same_person(who),
        Appointment.status == AppointmentStatus.BOOKED,
        Appointment.starts_at > now,
    )


def _over(who: Contact, span: tuple[datetime, datetime]) -> list[ColumnElement[bool]]:
    """This contact's appointments booked over `span` (whoever's name they are in)."""
    starts, ends = span
    return [
        _same_person(who),
        Appointment.status == AppointmentStatus.BOOKED,
        Appointment.starts_at < ends,
        Appointment.ends_at > starts,
    ]


def same_name(one: str, other: str) -> bool:
    """Whether two names are one, however cased, composed or spaced (`Émile Zola`,
    `ÉMILE  ZOLA`); accents count."""
    return " ".join(contacts.fold(one).split()) == " ".join(contacts.fold(other).split())


async def check_not_busy(
    session: AsyncSession,
    who: Contact,
    span: tuple[datetime, datetime],
    *,
    leave_out: int | None = None,
) -> None:
    """Conflict when this person (their contact and their name: two people may share one
    phone) holds an appointment over `span` (the same form sent twice, a move onto another
    of theirs), `leave_out` apart. Checked once the slot is known to be bookable, so that
    trying times that are not slots tells nobody when the person is booked."""
    names = await session.scalars(
        select(Appointment.name).where(*_over(who, span), Appointment.id != (leave_out or 0))
    )
    if any(same_name(name, who.name) for name in names):
        raise Conflict("This person already has an appointment at this time.", code="person_busy")


def _standing(site: Site, client: str, day: date) -> ScalarSelect[int]:
    """Online bookings standing for the client network `client` on this site-day."""
    starts, ends = local_days(day, day, ZoneInfo(site.timezone))
    return _count(
        Appointment.client_network == client,
        Appointment.starts_at >= starts,
        Appointment.starts_at < ends,
        Appointment.site_id == site.id,
        Appointment.booked_by_agent_id.is_(None),
        Appointment.status.not_in(RELEASED),
    )


async def check_booking(
    session: AsyncSession,
    site: Site,
    who: Contact,
    span: tuple[datetime, datetime],
    now: datetime,
    *,
    online: bool,
    client: str | None,
    per_address_per_day: int | None,
) -> int:
    """Conflict when this person may book no more: too many online bookings made for them
    in the last day (cancelled ones too: booking and cancelling in a loop would otherwise
    fill a stranger's inbox), or too many appointments to come in all the mairies; or when
    the client network `client` holds its bookings of the site-day already (see
    `check_address_day`; None: a booking made at a desk). The counts in one statement,
    with how many appointments of this contact are over `span` (0: `check_not_busy` has
    nothing to look at)."""
    counts = [_count(*_over(who, span)), _to_come(who, now)]
    if online:
        counts.append(_made_today(who, now))
    if client is not None and per_address_per_day is not None:
        day = span[0].astimezone(ZoneInfo(site.timezone)).date()
        counts.append(_standing(site, client, day))
    found = list((await session.execute(select(*counts))).one())
    over_span, to_come = found.pop(0), found.pop(0)
    made_today = found.pop(0) if online else 0
    standing = found.pop(0) if found else 0
    _refuse_person(site, made_today, to_come)
    _refuse_address_day(site, standing, per_address_per_day)
    return int(over_span)


def _refuse_person(site: Site, made_today: int, to_come: int) -> None:
    if made_today >= BOOKINGS_MADE_PER_PERSON_PER_DAY:
        raise Conflict(
            "This email address or phone number has been given for too many "
            "bookings today: try again tomorrow, or call the mairie.",
            code="too_many_attempts",
        )
    if to_come >= site.max_future_bookings_per_contact:
        raise Conflict(
            f"This email address or phone number already has "
            f"{site.max_future_bookings_per_contact} appointments to come in the "
            f"mairies of Paris: cancel one first.",
            code="too_many_bookings",
        )


async def check_address_day(
    session: AsyncSession,
    site: Site,
    client: str | None,
    day: date,
    per_address_per_day: int | None,
) -> None:
    """Conflict when the client network `client` already holds `per_address_per_day`
    online bookings standing for this site-day (no cap without a client or a cap)."""
    if client is None or per_address_per_day is None:
        return
    standing = int(await session.scalar(select(_standing(site, client, day))) or 0)
    _refuse_address_day(site, standing, per_address_per_day)


def _refuse_address_day(site: Site, standing: int, per_address_per_day: int | None) -> None:
    if per_address_per_day is not None and standing >= per_address_per_day:
        raise Conflict(
            f"Your connection already holds {per_address_per_day} appointments on "
            f"this day at {site.name}: to book more, call the mairie.",
            code="address_day_full",
        )
