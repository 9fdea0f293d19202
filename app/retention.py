"""Personal data kept only as long as needed: a daily sweep anonymises bookings, tickets
(walk-ins' needs too), and the free text of answers, visit notes and messages to usagers a
set time after the visit, empties message bodies sooner, forgets the normalised email and
client network kept against booking abuse the day after the appointment, and the network
addresses in the audit log after a year (the events themselves name agents, not people, and
are kept)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import anyio.to_thread
from sqlalchemy import ColumnElement, String, cast, delete, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditEvent
from app.booking.models import Appointment
from app.config import Settings
from app.db import Database, rowcount
from app.notify.models import MessageStatus, OutboxMessage
from app.notify.transports import files as message_files
from app.queue.models import ReceivedText, Ticket
from app.visits.models import EscalationEvent, FollowUpAnswer, Visit
from app.waitlist import engine as waitlist

log = logging.getLogger("guichet.retention")
ANONYMOUS = ""
# A message still to send keeps what it needs.
FINISHED = (MessageStatus.SENT, MessageStatus.FAILED, MessageStatus.CANCELLED)


# What blanking leaves of a person: the rows stay, for the figures; what names or reaches
# them, what they wrote and what they said they need are emptied. The daily sweep and the
# erasure of one person on request (`app.privacy`) blank through these same functions.
BLANK_APPOINTMENT: dict[str, Any] = {
    "name": ANONYMOUS,
    "email": ANONYMOUS,
    "phone": None,
    "needs": [],
    "email_key": None,
    "client_network": None,
}
# A walk-in's needs (a wheelchair, hearing, sight, the language they speak) say something of
# their health or origin, as the appointment's do; the station kind stays, for the figures.
BLANK_TICKET: dict[str, Any] = {"phone": None, "needs": [], "requires_accessible": False}


async def blank_appointments(session: AsyncSession, *where: ColumnElement[bool]) -> int:
    """Names, contacts, needs and the booking guard's keys of the appointments `where` says."""
    return rowcount(
        await session.execute(update(Appointment).where(*where).values(**BLANK_APPOINTMENT))
    )


async def blank_tickets(session: AsyncSession, *where: ColumnElement[bool]) -> int:
    """Phones and needs of the tickets `where` says."""
    return rowcount(await session.execute(update(Ticket).where(*where).values(**BLANK_TICKET)))


def ticket_still_personal() -> ColumnElement[bool]:
    """A ticket that still holds a phone or needs (JSON `[]` reads back as `[]` as text on
    both databases)."""
    return or_(
        Ticket.phone.is_not(None),
        cast(Ticket.needs, String) != "[]",
        Ticket.requires_accessible.is_(True),
    )


async def blank_answers(session: AsyncSession, *where: ColumnElement[bool]) -> int:
    """The free comment of follow-up answers (their score is a figure and stays)."""
    return rowcount(
        await session.execute(
            update(FollowUpAnswer).where(*where, FollowUpAnswer.comment != "").values(comment="")
        )
    )


async def blank_notes(session: AsyncSession, *where: ColumnElement[bool]) -> int:
    """The facilitator's free note of visits (what was done and its outcome stay)."""
    return rowcount(
        await session.execute(update(Visit).where(*where, Visit.note != "").values(note=""))
    )


async def blank_steps(session: AsyncSession, *where: ColumnElement[bool]) -> int:
    """The messages written at the steps of requests sent on to departments."""
    return rowcount(
        await session.execute(
            update(EscalationEvent).where(*where, EscalationEvent.message != "").values(message="")
        )
    )


async def purge_messages(session: AsyncSession, now: datetime, *where: ColumnElement[bool]) -> int:
    """Recipient and content of the messages `where` says, once only."""
    return rowcount(
        await session.execute(
            update(OutboxMessage)
            .where(*where, OutboxMessage.purged_at.is_(None))
            .values(data={}, recipient=ANONYMOUS, purged_at=now)
        )
    )


@dataclass(frozen=True)
class Swept:
    appointments: int
    tickets: int
    answers: int
    notes: int
    messages: int
    addresses: int = 0
    guards: int = 0  # normalised emails and client networks of past appointments


async def sweep(db: Database, settings: Settings, now: datetime) -> Swept:
    """Anonymise what is older than `personal_data_days`; empty message bodies older than
    `message_body_days`. Counts, never contents, go to the log."""
    people = now - timedelta(days=settings.personal_data_days)
    bodies = now - timedelta(days=settings.message_body_days)
    staff_addresses = now - timedelta(days=settings.audit_address_days)
    async with db.writing() as session:
        appointments = await blank_appointments(
            session, Appointment.starts_at < people, Appointment.name != ANONYMOUS
        )
        # The booking guard needs them only while the appointment is ahead.
        guards = await session.execute(
            update(Appointment)
            .where(
                Appointment.starts_at < now - timedelta(days=1),
                or_(Appointment.email_key.is_not(None), Appointment.client_network.is_not(None)),
            )
            .values(email_key=None, client_network=None)
        )
        # The gateway's ids of forwarded texts: a text older than a few minutes is refused.
        await session.execute(
            delete(ReceivedText).where(ReceivedText.received_at < now - timedelta(days=1))
        )
        # The marks offers of earlier slots left on people count for a day at most.
        await waitlist.forget_old_marks(session, now)
        tickets = await blank_tickets(session, Ticket.arrived_at < people, ticket_still_personal())
        answers = await blank_answers(session, FollowUpAnswer.answered_at < people)
        notes = await blank_notes(session, Visit.finished_at < people)
        steps = await blank_steps(session, EscalationEvent.at < people)
        messages = await purge_messages(
            session, now, OutboxMessage.created_at < bodies, OutboxMessage.status.in_(FINISHED)
        )
        addresses = await session.execute(
            update(AuditEvent)
            .where(AuditEvent.at < staff_addresses, AuditEvent.address != "")
            .values(address="")
        )
    swept = Swept(
        appointments=appointments,
        tickets=tickets,
        answers=answers,
        notes=notes + steps,
        messages=messages,
        addresses=rowcount(addresses),
        guards=rowcount(guards),
    )
    log.info("retention sweep", extra={"swept": swept.__dict__})
    return swept


async def forget_message_files(settings: Settings, now: datetime) -> int:
    """Delete the message files (no mail server or SMS gateway) of this instance's outbox
    folder written before the outbox's bodies are emptied (`message_body_days`); how many.
    Each instance has its own folder, so each does it, not the first one only."""
    before = now - timedelta(days=settings.message_body_days)
    folder = Path(settings.outbox_dir)
    deleted = await anyio.to_thread.run_sync(message_files.forget_older, folder, before)
    if deleted:
        log.info("message files deleted", extra={"files": deleted})
    return deleted
