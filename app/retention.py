"""Personal data kept only as long as needed: a daily sweep anonymises bookings, tickets,
and the free text of answers, visit notes and messages to usagers a set time after the
visit, empties message bodies sooner, forgets the normalised email and client network
kept against booking abuse the day after the appointment, and the network addresses in the
audit log after a year (the events themselves name agents, not people, and are kept)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, update

from app.audit.models import AuditEvent
from app.booking.models import Appointment
from app.config import Settings
from app.db import Database
from app.notify.models import FollowUpAnswer, OutboxMessage
from app.queue.models import Ticket
from app.visits.models import EscalationEvent, Visit

log = logging.getLogger("guichet.retention")
ANONYMOUS = ""
FINISHED = ("sent", "failed", "cancelled")  # a message still to send keeps what it needs


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
        appointments = await session.execute(
            update(Appointment)
            .where(Appointment.starts_at < people, Appointment.name != ANONYMOUS)
            .values(
                name=ANONYMOUS,
                email=ANONYMOUS,
                phone=None,
                needs=[],
                email_key=None,
                client_network=None,
            )
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
        tickets = await session.execute(
            update(Ticket)
            .where(Ticket.arrived_at < people, Ticket.phone.is_not(None))
            .values(phone=None)
        )
        answers = await session.execute(
            update(FollowUpAnswer)
            .where(FollowUpAnswer.answered_at < people, FollowUpAnswer.comment != "")
            .values(comment="")
        )
        notes = await session.execute(
            update(Visit).where(Visit.finished_at < people, Visit.note != "").values(note="")
        )
        steps = await session.execute(
            update(EscalationEvent)
            .where(EscalationEvent.at < people, EscalationEvent.message != "")
            .values(message="")
        )
        messages = await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.created_at < bodies,
                OutboxMessage.status.in_(FINISHED),
                OutboxMessage.purged_at.is_(None),
            )
            .values(data={}, recipient=ANONYMOUS, purged_at=now)
        )
        addresses = await session.execute(
            update(AuditEvent)
            .where(AuditEvent.at < staff_addresses, AuditEvent.address != "")
            .values(address="")
        )
    swept = Swept(
        appointments=appointments.rowcount,  # type: ignore[attr-defined]
        tickets=tickets.rowcount,  # type: ignore[attr-defined]
        answers=answers.rowcount,  # type: ignore[attr-defined]
        notes=notes.rowcount + steps.rowcount,  # type: ignore[attr-defined]
        messages=messages.rowcount,  # type: ignore[attr-defined]
        addresses=addresses.rowcount,  # type: ignore[attr-defined]
        guards=guards.rowcount,  # type: ignore[attr-defined]
    )
    log.info("retention sweep", extra={"swept": swept.__dict__})
    return swept
