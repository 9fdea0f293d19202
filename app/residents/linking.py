"""Bookings made by link before signing in, attached to the resident at sign-in: those
booked with the email the provider verified for them or with the phone it verified, that
name no resident yet. Never by an email or a phone the provider did not verify: anyone may
type someone else's address into a booking form.

The email must be the very mailbox (`contacts.mailbox`), not one the booking guard counts
as the same person (`contacts.email_key` also folds look-alike letters, so that one person
cannot book a day out under many spellings): someone the provider
verifies as `alice@exаmple.org`, with a Cyrillic а, must not take the bookings of
`alice@example.org`. The guard's key only narrows the rows read."""

from __future__ import annotations

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.booking.contacts import e164, email_key, mailbox
from app.booking.models import Appointment
from app.db import rowcount, writing
from app.errors import DomainError
from app.privacy.service import at_domain, domain_spellings
from app.residents.models import Resident


def verified_email_key(resident: Resident) -> str | None:
    """The key of the email the provider verified for the resident, if it did."""
    if not resident.email_verified or not resident.email:
        return None
    return email_key(resident.email)


def verified_phone(resident: Resident) -> str | None:
    """The phone the provider verified for the resident, in E.164 as bookings keep it."""
    if not resident.phone_verified or not resident.phone:
        return None
    try:
        return e164(resident.phone)
    except DomainError:
        return None


async def matching(session: AsyncSession, resident: Resident) -> list[int]:
    """The appointments, naming no resident, booked with the resident's verified email or
    phone. The email key is kept only while an appointment is ahead: past ones are
    compared on their email, read among those of the same domain; every one must have
    been booked with the resident's very mailbox (`contacts.mailbox`)."""
    key, phone = verified_email_key(resident), verified_phone(resident)
    unclaimed = Appointment.resident_id.is_(None)
    found: set[int] = set()
    if phone:
        found |= set(
            await session.scalars(
                select(Appointment.id).where(unclaimed, Appointment.phone == phone)
            )
        )
    if key:
        by_domain: list[ColumnElement[bool]] = [
            Appointment.email.like(at_domain(domain), escape="\\")
            for domain in domain_spellings(key)
        ]
        rows = await session.execute(
            select(Appointment.id, Appointment.email, Appointment.email_key).where(
                unclaimed,
                or_(
                    Appointment.email_key == key,
                    and_(Appointment.email_key.is_(None), or_(*by_domain)),
                ),
            )
        )
        own = mailbox(resident.email or "")
        found |= {row.id for row in rows if row.email and mailbox(row.email) == own}
    return sorted(found)


async def attach(session: AsyncSession, resident: Resident) -> int:
    """Attach to the resident the bookings `matching` finds: how many were. Only those
    still naming no resident when written (another resident's sign-in at the same moment
    keeps what it took)."""
    if verified_email_key(resident) is None and verified_phone(resident) is None:
        return 0
    async with writing(session):
        ids = await matching(session, resident)
        if not ids:
            return 0
        result = await session.execute(
            update(Appointment)
            .where(Appointment.id.in_(ids), Appointment.resident_id.is_(None))
            .values(resident_id=resident.id)
        )
    return rowcount(result)
