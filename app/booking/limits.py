"""How many bookings one person or one client address may hold, so that nobody books out a
mairie's days or floods a stranger's inbox: the counts in the database, the refusals when a
limit is reached, and the locks that make two bookings of one person count one after the
other."""

from __future__ import annotations

import zlib
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import locking
from app.booking import contacts
from app.booking.contacts import Contact
from app.booking.models import RELEASED, Appointment, AppointmentStatus
from app.booking.queries import local_days
from app.errors import Conflict
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


async def _count(session: AsyncSession, *where: ColumnElement[bool]) -> int:
    return int(await session.scalar(select(func.count()).where(*where)) or 0)


async def check_person(
    session: AsyncSession, site: Site, who: Contact, now: datetime, *, online: bool
) -> None:
    """Conflict when this person may book no more: too many online bookings made for them
    in the last day (cancelled ones too: booking and cancelling in a loop would otherwise
    fill a stranger's inbox), or too many appointments to come in all the mairies."""
    if (
        online
        and await _count(
            session,
            _same_person(who),
            Appointment.booked_by_agent_id.is_(None),
            Appointment.created_at > now - timedelta(days=1),
        )
        >= BOOKINGS_MADE_PER_PERSON_PER_DAY
    ):
        raise Conflict(
            "This email address or phone number has been given for too many "
            "bookings today: try again tomorrow, or call the mairie.",
            code="too_many_attempts",
        )
    if (
        await _count(
            session,
            _same_person(who),
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.starts_at > now,
        )
        >= site.max_future_bookings_per_contact
    ):
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
    starts, ends = local_days(day, day, ZoneInfo(site.timezone))
    standing = await _count(
        session,
        Appointment.client_network == client,
        Appointment.starts_at >= starts,
        Appointment.starts_at < ends,
        Appointment.site_id == site.id,
        Appointment.booked_by_agent_id.is_(None),
        Appointment.status.not_in(RELEASED),
    )
    if standing >= per_address_per_day:
        raise Conflict(
            f"Your connection already holds {per_address_per_day} appointments on "
            f"this day at {site.name}: to book more, call the mairie.",
            code="address_day_full",
        )
