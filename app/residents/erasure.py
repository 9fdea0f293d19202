"""A resident deletes their space and their data (RGPD): their appointments, the tickets
of those appointments, those visits' notes, the requests sent on and the answers given
lose what names, reaches or describes them, as when a manager erases a person's data on
request (`app.privacy`) and through the same functions (`app.retention`); their messages
not sent yet are cancelled and every message loses its recipient and content. The rows
stay, so that the anonymous figures (counts per day, site and démarche, waits, outcomes,
scores) are the same. Then the resident goes, with their sessions, and the journal of each
mairie concerned says it was done, with counts only."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import anyio.to_thread
from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.booking.models import Appointment
from app.db import writing
from app.notify.models import OutboxMessage
from app.notify.transports import files as message_files
from app.privacy import service as privacy
from app.queue.models import Ticket
from app.residents import linking
from app.residents.models import Resident, ResidentSession


async def traces(session: AsyncSession, resident_id: int) -> privacy.Found:
    """Everything guichet holds of the resident through their appointments."""
    found = privacy.Found(
        appointments=list(
            await session.scalars(
                select(Appointment)
                .where(Appointment.resident_id == resident_id)
                .order_by(Appointment.starts_at, Appointment.id)
            )
        )
    )
    appointment_ids = [a.id for a in found.appointments]
    if not appointment_ids:
        return found
    found.tickets = list(
        await session.scalars(
            select(Ticket).where(Ticket.appointment_id.in_(appointment_ids)).order_by(Ticket.id)
        )
    )
    await privacy.add_what_tickets_hold(session, found)
    ticket_ids = [t.id for t in found.tickets]
    of_them = [OutboxMessage.appointment_id.in_(appointment_ids)]
    if ticket_ids:
        of_them.append(OutboxMessage.ticket_id.in_(ticket_ids))
    found.messages = list(
        await session.scalars(select(OutboxMessage).where(or_(*of_them)).order_by(OutboxMessage.id))
    )
    return found


async def erase(
    session: AsyncSession, resident_id: int, now: datetime, *, outbox: Path
) -> privacy.Erased | None:
    """Delete the resident's space and blank their data, in one transaction, then the files
    their messages were written to under `outbox` (no mail server or gateway); None when
    there was no such resident (deleted already). The bookings their verified email or
    phone made by link, not attached yet, are theirs too: attached first."""
    resident = await session.get(Resident, resident_id)
    if resident is None:
        return None
    await linking.attach(session, resident)
    async with writing(session):
        resident = await session.get(Resident, resident_id)
        if resident is None:
            return None
        found = await traces(session, resident_id)
        erased = await privacy.blank(session, found, now)
        await session.execute(
            update(Appointment)
            .where(Appointment.resident_id == resident_id)
            .values(resident_id=None)
        )
        await session.execute(
            delete(ResidentSession).where(ResidentSession.resident_id == resident_id)
        )
        await session.execute(delete(Resident).where(Resident.id == resident_id))
        privacy.record(session, "resident.erased", found, target="resident", agent_id=None, now=now)
    keys = [message.idempotency_key for message in found.messages]
    await anyio.to_thread.run_sync(message_files.forget, outbox, keys)
    return erased
