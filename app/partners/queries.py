"""What other slices read of partners: who referred a booking (its copy's recipient); and
what a partner's page shows: the appointments it referred that are still to come, and the
requests the mairies sent on to its account (a department that is the partner's)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.booking.models import Appointment, AppointmentStatus
from app.partners.models import Partner
from app.visits.models import Department, Escalation, EscalationStatus
from app.visits.service import escalation_query

UPCOMING_SHOWN = 200
REQUESTS_SHOWN = 200


@dataclass(frozen=True)
class Referrer:
    """A partner as its copies name it."""

    id: int
    name: str
    email: str


async def referrer(session: AsyncSession, partner_id: int) -> Referrer | None:
    """The partner `partner_id`, unless it is gone or revoked."""
    partner = await session.get(Partner, partner_id)
    if partner is None or partner.revoked_at is not None:
        return None
    return Referrer(partner.id, partner.name, partner.email)


async def upcoming_referrals(
    session: AsyncSession, partner_id: int, now: datetime
) -> list[Appointment]:
    """The appointments the partner booked that have not ended, booked or checked in, the
    soonest first."""
    query = (
        select(Appointment)
        .where(
            Appointment.partner_id == partner_id,
            Appointment.ends_at > now,
            Appointment.status.in_((AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN)),
        )
        .options(selectinload(Appointment.site), selectinload(Appointment.service))
        .order_by(Appointment.starts_at, Appointment.id)
        .limit(UPCOMING_SHOWN)
    )
    return list(await session.scalars(query))


async def requests_to(session: AsyncSession, partner_id: int) -> list[Escalation]:
    """The requests sent on to the partner's departments, each with its department and
    steps: the open ones first, then the closed ones, the oldest first in each."""
    query = (
        escalation_query()
        .join(Department, Department.id == Escalation.department_id)
        .where(Department.partner_id == partner_id)
        .order_by(
            (Escalation.status == EscalationStatus.CLOSED).asc(),
            Escalation.created_at,
            Escalation.id,
        )
        .limit(REQUESTS_SHOWN)
    )
    return list(await session.scalars(query))


async def request_to(session: AsyncSession, partner_id: int, reference: str) -> Escalation | None:
    """The request `reference` if it was sent on to one of the partner's departments."""
    found: Escalation | None = await session.scalar(
        escalation_query()
        .join(Department, Department.id == Escalation.department_id)
        .where(
            Department.partner_id == partner_id,
            Escalation.reference == reference.strip().upper(),
        )
    )
    return found
