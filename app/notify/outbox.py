"""The one outbox writer: messages go in within the transaction of the change that causes
them (its domain event, heard in `subscribers.py`), and pending ones are cancelled or
replanned when that change is undone or moved.

What a message says is kept as plain data (names, times in French, the private token);
it is rendered, and the link built, when it is sent. An appointment's démarche (name,
documents) is kept in each language (`translations`), for its messages to read it in the
language of their resident.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app import i18n
from app.db import rowcount
from app.events import AppointmentFacts, TicketFacts
from app.i18n import formats
from app.notify import planner
from app.notify.models import MessageStatus, OutboxMessage
from app.notify.planner import EMAIL, Planned, Reach, Rules
from app.sites.models import Service, Site, shown_in


def rules_of(site: Site, hours: Sequence[int] | None = None) -> Rules:
    """The site's rules for messages; `hours` replaces its reminder hours if given."""
    return Rules(
        reminder_hours=tuple(site.reminder_hours if hours is None else hours),
        quiet_from=site.sms_quiet_from,
        quiet_until=site.sms_quiet_until,
    )


def readable_from(site: Site, now: datetime) -> datetime:
    """When a text written at `now` can be read: then, or at the end of the quiet hours."""
    return max(now, planner.outside_quiet_hours(now, rules_of(site), ZoneInfo(site.timezone)))


def reach_of(appointment: AppointmentFacts) -> Reach:
    return Reach(
        email=bool(appointment.email),
        phone=appointment.mobile is not None,
        reminders_by_email=appointment.reminders_by_email,
        reminders_by_sms=appointment.reminders_by_sms,
    )


def appointment_data(appointment: AppointmentFacts, site: Site, service: Service) -> dict[str, Any]:
    tz = ZoneInfo(site.timezone)
    start = appointment.starts_at.astimezone(tz)
    return {
        "sequence": appointment.sequence,
        "reference": appointment.reference,
        "token": appointment.token,
        "name": appointment.name,
        "site": site.name,
        "address": site.address,
        "service": service.name,
        "documents": list(service.documents),
        "translations": translations(service),
        "starts_at": appointment.starts_at.isoformat(),
        "when": formats.moment(start),
        "day": formats.day(start.date()),
        "day_short": formats.abbreviated(start.date()),
        "time": formats.clock(start),
    }


def translations(service: Service) -> dict[str, dict[str, Any]]:
    """The démarche's name and documents in each language but French (the data's own),
    with the language each is in (French where the City has not translated it)."""
    return {
        language: {
            "service": service.name_in(language),
            "service_lang": shown_in(language, service.name_en),
            "documents": service.documents_in(language),
            "documents_lang": shown_in(language, service.documents_en),
        }
        for language in i18n.LANGUAGES
        if language != i18n.DEFAULT_LANGUAGE
    }


def ticket_data(ticket: TicketFacts, site: Site, service_name: str) -> dict[str, Any]:
    return {
        "number": ticket.number,
        "token": ticket.token,
        "site": site.name,
        "address": site.address,
        "service": service_name,
    }


@dataclass(frozen=True)
class Message:
    """One message for the outbox: its kind, channel and hour (`planned`), the idempotency
    key that writes it once, its site and recipient, what it says (`data`), and the
    appointment or ticket it is about."""

    planned: Planned
    key: str
    site_id: int
    recipient: str
    data: dict[str, Any]
    appointment_id: int | None = None
    ticket_id: int | None = None

    def row(self, now: datetime) -> dict[str, Any]:
        """Its row in the outbox, pending, written at `now`."""
        return {
            "idempotency_key": self.key,
            "site_id": self.site_id,
            "appointment_id": self.appointment_id,
            "ticket_id": self.ticket_id,
            "kind": self.planned.kind,
            "channel": self.planned.channel,
            "recipient": self.recipient,
            "data": self.data,
            "send_after": self.planned.send_after,
            "status": MessageStatus.PENDING,
            "attempts": 0,
            "last_error": "",
            "claimed_by": "",
            "created_at": now,
        }


# What a revived message takes from the one written again (the rest is as first written).
REVIVED = ("recipient", "data", "send_after", "status", "attempts", "last_error", "claimed_by")


async def write(
    session: AsyncSession, *messages: Message, now: datetime, revive: bool = False
) -> None:
    """Add the messages in one statement, each kept out if one with the same idempotency
    key is already there. With `revive`, one that was cancelled before it went (a reminder
    whose hour the site dropped, then chose again) is planned again instead; one sent or
    pending stays as it is."""
    # A key twice in one statement would be one row changed twice: the first is kept.
    once = {message.key: message for message in reversed(messages)}
    rows = [message.row(now) for message in reversed(once.values())]
    if not rows:
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(OutboxMessage).values(rows)
    key_column = [OutboxMessage.idempotency_key]
    if revive:
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=key_column,
                set_={name: statement.excluded[name] for name in REVIVED},
                where=OutboxMessage.status == MessageStatus.CANCELLED,
            )
        )
    else:
        await session.execute(statement.on_conflict_do_nothing(index_elements=key_column))


async def write_for_appointment(
    session: AsyncSession,
    appointment: AppointmentFacts,
    site: Site,
    service: Service,
    plans: list[Planned],
    now: datetime,
    *,
    variant: str = "",
    revive: bool = False,
    **extra: Any,
) -> None:
    """Each planned message, keyed by the appointment's version, kind and channel (and
    `variant`, for a kind told more than once per version)."""
    data = {**appointment_data(appointment, site, service), **extra}
    version = f"appointment:{appointment.id}:{appointment.sequence}"
    messages = []
    for planned in plans:
        recipient = appointment.email if planned.channel == EMAIL else appointment.mobile
        if not recipient:
            continue
        key = f"{version}:{planned.kind}{variant}:{planned.channel}"
        messages.append(Message(planned, key, site.id, recipient, data, appointment.id))
    await write(session, *messages, now=now, revive=revive)


async def write_for_ticket(
    session: AsyncSession,
    ticket: TicketFacts,
    site: Site,
    kind: str,
    key: str,
    data: dict[str, Any],
    send_after: datetime,
    now: datetime,
) -> None:
    """One message to the person behind a ticket: by email if their appointment gave one,
    else by text (outside the site's quiet hours) if they left a mobile number."""
    if ticket.email:
        channel, recipient = EMAIL, ticket.email
    elif ticket.phone:
        channel, recipient = planner.SMS, ticket.phone
        send_after = planner.outside_quiet_hours(
            send_after, rules_of(site), ZoneInfo(site.timezone)
        )
    else:
        return
    planned = Planned(kind, channel, send_after)
    message = Message(planned, key, site.id, recipient, data, ticket_id=ticket.id)
    await write(session, message, now=now)


async def cancel(session: AsyncSession, *where: ColumnElement[bool], reason: str = "") -> int:
    """The messages not sent yet that `where` says are not sent (`reason`, if given, kept
    as their last error); how many."""
    values: dict[str, Any] = {"status": MessageStatus.CANCELLED}
    if reason:
        values["last_error"] = reason
    pending = OutboxMessage.status == MessageStatus.PENDING
    return rowcount(
        await session.execute(update(OutboxMessage).where(pending, *where).values(**values))
    )


async def cancel_pending(
    session: AsyncSession,
    *,
    appointment_id: int,
    reminders_only: bool = False,
    kinds: Sequence[str] = (),
) -> None:
    """What is pending about the appointment is not sent: all of it, its reminders only,
    or the messages of these `kinds` only."""
    where = [OutboxMessage.appointment_id == appointment_id]
    if reminders_only:
        where.append(OutboxMessage.kind.startswith("reminder_"))
    if kinds:
        where.append(OutboxMessage.kind.in_(kinds))
    await cancel(session, *where)


async def reminders_dropped(session: AsyncSession, site_id: int, hours: Sequence[int]) -> None:
    """The site no longer reminds people at these `hours` before: what is pending is not sent."""
    kinds = [f"reminder_{hour}h" for hour in hours]
    if kinds:
        await cancel(session, OutboxMessage.site_id == site_id, OutboxMessage.kind.in_(kinds))
