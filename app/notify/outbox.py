"""The one outbox writer: messages go in within the transaction of the change that causes
them, and pending ones are cancelled or replanned when that change is undone or moved.

What a message says is kept as plain data (names, times in French, the private token);
it is rendered, and the link built, when it is sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app import french
from app.booking.contacts import is_mobile
from app.booking.models import Appointment
from app.booking.slots import Slot
from app.notify import planner
from app.notify.models import MessageStatus, OutboxMessage
from app.notify.planner import EMAIL, Planned, Reach, Rules
from app.queue.models import Ticket
from app.sites.models import Service, Site
from app.visits.models import Escalation

FOLLOW_UP_AFTER = timedelta(minutes=30)


def rules_of(site: Site) -> Rules:
    return Rules(
        reminder_hours=tuple(site.reminder_hours),
        quiet_from=site.sms_quiet_from,
        quiet_until=site.sms_quiet_until,
    )


def reach_of(appointment: Appointment) -> Reach:
    return Reach(
        email=bool(appointment.email),
        phone=appointment.phone is not None and is_mobile(appointment.phone),
        reminders_by_email=appointment.reminders_by_email,
        reminders_by_sms=appointment.reminders_by_sms,
    )


def appointment_data(appointment: Appointment, site: Site, service: Service) -> dict[str, Any]:
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
        "starts_at": appointment.starts_at.isoformat(),
        "when": french.moment(start),
        "day": french.day(start.date()),
        "day_short": french.abbreviated(start.date()),
        "time": french.clock(start),
    }


async def write(
    session: AsyncSession,
    planned: Planned,
    *,
    key: str,
    site_id: int,
    recipient: str,
    data: dict[str, Any],
    now: datetime,
    appointment_id: int | None = None,
    ticket_id: int | None = None,
) -> None:
    """Add one message, unless one with the same idempotency key is already there."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    await session.execute(
        insert(OutboxMessage)
        .values(
            idempotency_key=key,
            site_id=site_id,
            appointment_id=appointment_id,
            ticket_id=ticket_id,
            kind=planned.kind,
            channel=planned.channel,
            recipient=recipient,
            data=data,
            send_after=planned.send_after,
            status=MessageStatus.PENDING,
            attempts=0,
            last_error="",
            claimed_by="",
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[OutboxMessage.idempotency_key])
    )


async def _write_for_appointment(
    session: AsyncSession,
    appointment: Appointment,
    site: Site,
    service: Service,
    plans: list[Planned],
    now: datetime,
    *,
    variant: str = "",
    **extra: Any,
) -> None:
    """Each planned message, keyed by the appointment's version, kind and channel (and
    `variant`, for a kind told more than once per version)."""
    data = {**appointment_data(appointment, site, service), **extra}
    version = f"appointment:{appointment.id}:{appointment.sequence}"
    for planned in plans:
        recipient = appointment.email if planned.channel == EMAIL else appointment.phone
        if not recipient:
            continue
        await write(
            session,
            planned,
            key=f"{version}:{planned.kind}{variant}:{planned.channel}",
            site_id=site.id,
            recipient=recipient,
            data=data,
            now=now,
            appointment_id=appointment.id,
        )


async def booked(
    session: AsyncSession, appointment: Appointment, site: Site, service: Service, now: datetime
) -> None:
    """The confirmation, and the reminders still ahead."""
    plans = planner.for_booking(
        appointment.starts_at, reach_of(appointment), rules_of(site), now, ZoneInfo(site.timezone)
    )
    await _write_for_appointment(session, appointment, site, service, plans, now)


async def moved(
    session: AsyncSession, appointment: Appointment, site: Site, service: Service, now: datetime
) -> None:
    """What was pending for the old time is cancelled; the change is told and the
    reminders planned again for the new time."""
    await cancel_pending(session, appointment_id=appointment.id)
    tz = ZoneInfo(site.timezone)
    rules, reach = rules_of(site), reach_of(appointment)
    plans = planner.for_change("moved", reach, rules, now, tz) + planner.reminders(
        appointment.starts_at, reach, rules, now, tz
    )
    await _write_for_appointment(session, appointment, site, service, plans, now)


async def station_changed(
    session: AsyncSession,
    appointment: Appointment,
    site: Site,
    service: Service,
    station_name: str,
    now: datetime,
) -> None:
    """Same time, another station (theirs is out of service): told once, with the calendar
    file's new version. The appointment took a new version (its calendar file names the
    station), so what was pending for the old one gives way and its reminders are planned
    again; the key names the new station, and only the latest change is sent."""
    await cancel_pending(session, appointment_id=appointment.id)
    tz = ZoneInfo(site.timezone)
    rules, reach = rules_of(site), reach_of(appointment)
    plans = planner.for_change("station_changed", reach, rules, now, tz) + planner.reminders(
        appointment.starts_at, reach, rules, now, tz
    )
    await _write_for_appointment(
        session,
        appointment,
        site,
        service,
        plans,
        now,
        variant=f":{appointment.station_id}",
        station=station_name,
        station_id=appointment.station_id,
    )


async def cannot_take_place(
    session: AsyncSession,
    appointment: Appointment,
    site: Site,
    service: Service,
    reason: str,
    now: datetime,
    *,
    offered: Sequence[Slot] = (),
) -> None:
    """The mairie called the appointment off (closed then, no station free): nothing
    pending is sent any more (reminders included), and the person is told once per version
    of the appointment, with the nearest free slots `offered` and their link to take one."""
    await cancel_pending(session, appointment_id=appointment.id)
    tz = ZoneInfo(site.timezone)
    plans = planner.for_change("cannot_take_place", reach_of(appointment), rules_of(site), now, tz)
    slots = [
        {
            "start": slot.start.astimezone(tz).isoformat(),
            "when": french.moment(slot.start.astimezone(tz)),
            "short": f"{french.abbreviated(slot.start.astimezone(tz).date())} "
            f"{french.clock(slot.start.astimezone(tz))}",
        }
        for slot in offered
    ]
    await _write_for_appointment(
        session, appointment, site, service, plans, now, reason=reason, offered=slots
    )


async def cancelled(
    session: AsyncSession, appointment: Appointment, site: Site, service: Service, now: datetime
) -> None:
    """Nothing more about this appointment, but that it is cancelled."""
    await cancel_pending(session, appointment_id=appointment.id)
    plans = planner.for_change(
        "cancelled", reach_of(appointment), rules_of(site), now, ZoneInfo(site.timezone)
    )
    await _write_for_appointment(session, appointment, site, service, plans, now)


async def reminders_added(
    session: AsyncSession,
    appointment: Appointment,
    site: Site,
    service: Service,
    hours: Sequence[int],
    now: datetime,
) -> None:
    """Reminders at these `hours` before the appointment, the site having just chosen them."""
    rules = Rules(
        reminder_hours=tuple(hours),
        quiet_from=site.sms_quiet_from,
        quiet_until=site.sms_quiet_until,
    )
    plans = planner.reminders(
        appointment.starts_at, reach_of(appointment), rules, now, ZoneInfo(site.timezone)
    )
    await _write_for_appointment(session, appointment, site, service, plans, now)


async def reminders_dropped(session: AsyncSession, site: Site, hours: Sequence[int]) -> None:
    """The site no longer reminds people at these `hours` before: what is pending is not sent."""
    kinds = [f"reminder_{hour}h" for hour in hours]
    if kinds:
        await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.site_id == site.id,
                OutboxMessage.status == MessageStatus.PENDING,
                OutboxMessage.kind.in_(kinds),
            )
            .values(status=MessageStatus.CANCELLED)
        )


async def reminders_stopped(session: AsyncSession, appointment: Appointment) -> None:
    await cancel_pending(session, appointment_id=appointment.id, reminders_only=True)


async def cancel_pending(
    session: AsyncSession, *, appointment_id: int, reminders_only: bool = False
) -> None:
    query = update(OutboxMessage).where(
        OutboxMessage.appointment_id == appointment_id,
        OutboxMessage.status == MessageStatus.PENDING,
    )
    if reminders_only:
        query = query.where(OutboxMessage.kind.startswith("reminder_"))
    await session.execute(query.values(status=MessageStatus.CANCELLED))


def _ticket_data(ticket: Ticket, site: Site, service_name: str) -> dict[str, Any]:
    return {
        "number": ticket.number,
        "token": ticket.token,
        "site": site.name,
        "address": site.address,
        "service": service_name,
    }


async def turn_near(
    session: AsyncSession, ticket: Ticket, site: Site, service_name: str, now: datetime
) -> None:
    """A text to a walk-in who left a mobile number: their turn is near. Once per ticket."""
    if not ticket.phone or not is_mobile(ticket.phone):
        return
    await write(
        session,
        Planned("turn_near", planner.SMS, now),
        key=f"ticket:{ticket.id}:turn_near",
        site_id=site.id,
        recipient=ticket.phone,
        data=_ticket_data(ticket, site, service_name),
        now=now,
        ticket_id=ticket.id,
    )


async def queue_closed(
    session: AsyncSession, ticket: Ticket, site: Site, service_name: str, now: datetime
) -> None:
    """A text to the holder of a ticket still waiting at closing time, if they left a mobile
    number: the mairie has closed before their turn. Once per ticket."""
    if not ticket.phone or not is_mobile(ticket.phone):
        return
    await write(
        session,
        Planned("queue_closed", planner.SMS, now),
        key=f"ticket:{ticket.id}:queue_closed",
        site_id=site.id,
        recipient=ticket.phone,
        data=_ticket_data(ticket, site, service_name),
        now=now,
        ticket_id=ticket.id,
    )


async def _contact_of(session: AsyncSession, ticket: Ticket) -> tuple[str, str] | None:
    """Where to write to the person behind a ticket: their email, else their phone."""
    appointment = (
        await session.get(Appointment, ticket.appointment_id) if ticket.appointment_id else None
    )
    email = appointment.email if appointment else None
    phone = (appointment.phone if appointment else None) or ticket.phone
    if email:
        return EMAIL, email
    if phone and is_mobile(phone):
        return planner.SMS, phone
    return None


async def _write_for_ticket(
    session: AsyncSession,
    ticket: Ticket,
    site: Site,
    kind: str,
    key: str,
    data: dict[str, Any],
    send_after: datetime,
    now: datetime,
) -> None:
    contact = await _contact_of(session, ticket)
    if contact is None:
        return
    channel, recipient = contact
    if channel == planner.SMS:
        send_after = planner.outside_quiet_hours(
            send_after, rules_of(site), ZoneInfo(site.timezone)
        )
    await write(
        session,
        Planned(kind, channel, send_after),
        key=key,
        site_id=site.id,
        recipient=recipient,
        data=data,
        now=now,
        ticket_id=ticket.id,
    )


async def visit_over(
    session: AsyncSession,
    ticket: Ticket,
    site: Site,
    service_name: str,
    now: datetime,
    *,
    done: list[str],
    outcome: str,
    escalation: dict[str, str] | None,
) -> None:
    """After the visit: what was done, what comes next, and one question."""
    data = {
        **_ticket_data(ticket, site, service_name),
        "done": done,
        "outcome": outcome,
        "escalation": escalation,
    }
    await _write_for_ticket(
        session,
        ticket,
        site,
        "follow_up",
        f"ticket:{ticket.id}:follow_up",
        data,
        now + FOLLOW_UP_AFTER,
        now,
    )


async def escalation_moved(
    session: AsyncSession,
    escalation: Escalation,
    ticket: Ticket,
    site: Site,
    message: str,
    now: datetime,
    *,
    by_department: bool = False,
) -> None:
    """One message for each step of a request sent on to an expert department, saying
    whether the mairie or the department itself wrote its words."""
    data = {
        **_ticket_data(ticket, site, ""),
        "reference": escalation.reference,
        "department": escalation.department.name,
        "status": escalation.status,
        "status_label": french.ESCALATION_STATUSES[escalation.status],
        "message": message,
        "by_department": by_department,
    }
    await _write_for_ticket(
        session,
        ticket,
        site,
        "escalation",
        f"escalation:{escalation.id}:{escalation.status}",
        data,
        now,
        now,
    )


async def sent_to_department(
    session: AsyncSession,
    escalation: Escalation,
    ticket: Ticket,
    site: Site,
    department_token: str,
    now: datetime,
) -> None:
    """The request, emailed to the department it is sent on to, with the private link where
    it answers. The email names the mairie and the reference, never the person: the page
    behind the link shows what the department needs."""
    email = escalation.department.email
    if not email:
        return
    tz = ZoneInfo(site.timezone)
    data = {
        "reference": escalation.reference,
        "site": site.name,
        "address": site.address,
        "department": escalation.department.name,
        "day": french.day(escalation.created_at.astimezone(tz).date()),
        "answer_days": escalation.department.answer_days,
        "department_token": department_token,
    }
    await write(
        session,
        Planned("department_request", EMAIL, now),
        key=f"escalation:{escalation.id}:department",
        site_id=site.id,
        recipient=email,
        data=data,
        now=now,
        ticket_id=ticket.id,
    )


async def pending_for(session: AsyncSession, appointment_id: int) -> list[OutboxMessage]:
    return list(
        await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.appointment_id == appointment_id)
            .order_by(OutboxMessage.send_after, OutboxMessage.id)
        )
    )
