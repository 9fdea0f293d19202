"""What the messages need to know of tickets: the facts their events carry (where to write
to the person behind one), and, when a message is sent, whether it still applies."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.booking.contacts import is_mobile
from app.booking.models import Appointment
from app.events import TicketFacts
from app.notify.models import OutboxMessage
from app.notify.subjects import TICKET, register
from app.notify.transports import Attachment
from app.queue.models import Ticket, TicketStatus
from app.sites.models import Site


def _mobile(phone: str | None) -> str | None:
    return phone if phone and is_mobile(phone) else None


async def facts(session: AsyncSession, ticket: Ticket, *, person: bool = True) -> TicketFacts:
    """The ticket's facts. With `person`, also where the person behind it is written to
    afterwards: their appointment's email, else a mobile number (their appointment's
    phone, else the one left at the desk). Without, only the number the holder left at
    the desk, and the appointment is not read."""
    appointment = (
        await session.get(Appointment, ticket.appointment_id)
        if person and ticket.appointment_id
        else None
    )
    email = appointment.email if appointment else None
    phone = (appointment.phone if appointment else None) or ticket.phone
    return TicketFacts(
        id=ticket.id,
        number=ticket.number,
        token=ticket.token,
        mobile=_mobile(ticket.phone),
        email=(email or None) if person else None,
        phone=(None if email else _mobile(phone)) if person else None,
    )


class About(TypedDict):
    """What every ticket event carries: the ticket's facts, its site and démarche."""

    ticket: TicketFacts
    site: Site
    service_name: str


async def about(
    session: AsyncSession, ticket: Ticket, site: Site, service_name: str, *, person: bool = True
) -> About:
    """What a ticket event carries; `person=False` for the texts to the holder's mobile
    alone (turn near, queue closed), which need not read the appointment."""
    facts_ = await facts(session, ticket, person=person)
    return About(ticket=facts_, site=site, service_name=service_name)


# The statuses a ticket must still have for a text about it to apply when it is sent.
STILL: dict[str, frozenset[TicketStatus]] = {
    "turn_near": frozenset({TicketStatus.WAITING}),
    "leave_now": frozenset({TicketStatus.REMOTE}),
    "held": frozenset({TicketStatus.REMOTE}),
}


class Tickets:
    """Tickets as the subject of messages: a "your turn is near" text is stale once the
    ticket no longer waits, "leave home" and "your turn is kept" ones once its holder came
    (or left)."""

    async def load(self, session: AsyncSession, ids: Collection[int]) -> dict[int, Any]:
        rows = await session.scalars(select(Ticket).where(Ticket.id.in_(ids)))
        return {ticket.id: ticket for ticket in rows}

    def applies(self, message: OutboxMessage, thing: Any | None, now: datetime) -> bool:
        if message.kind not in STILL:
            return True
        ticket: Ticket | None = thing
        return ticket is not None and ticket.status in STILL[message.kind]

    def attachments(
        self, message: OutboxMessage, thing: Any | None, base_url: str, sender: str
    ) -> list[Attachment]:
        return []


register(TICKET, Tickets())
