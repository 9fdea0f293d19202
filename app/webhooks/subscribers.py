"""The webhooks hear the domain events they tell: for each, one delivery per endpoint that
chose it, written in the event's transaction with its body frozen (the bytes signed and
sent on every attempt, under one `delivery_id`).

An event nobody listens to costs one small read. Where an event does not carry a fact a
delivery says (a ticket's status, an escalation's id), it is read from the rows the
command just changed, in the same session."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.booking.models import Appointment
from app.events import (
    AppointmentBooked,
    AppointmentCalledOff,
    AppointmentCancelled,
    AppointmentEvent,
    AppointmentFacts,
    AppointmentMoved,
    AppointmentStationChanged,
    AppointmentWithdrawn,
    EscalationMoved,
    QueueMoved,
    VisitOver,
    subscriber,
)
from app.queue.models import Ticket
from app.sites.models import Service, Site
from app.visits.models import Escalation
from app.webhooks import rules
from app.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

_ENDPOINTS = "webhook_endpoints"  # in a session's `info`: (its transaction, the endpoints)
_ENDPOINTS_READ = select(WebhookEndpoint.id, WebhookEndpoint.events).where(
    WebhookEndpoint.deleted_at.is_(None)
)  # built once: read in every writing transaction that records an event


async def listening(session: AsyncSession, event: str) -> list[int]:
    """The ids of the endpoints, not deleted, that chose `event`: read once per
    transaction, however many events it records (a call, a move, a finish)."""
    transaction = session.sync_session.get_transaction()
    cached = session.info.get(_ENDPOINTS)
    if cached is None or cached[0] is not transaction:
        rows = await session.execute(_ENDPOINTS_READ)
        cached = transaction, [(endpoint_id, chosen or []) for endpoint_id, chosen in rows]
        session.info[_ENDPOINTS] = cached
    return [endpoint_id for endpoint_id, chosen in cached[1] if event in chosen]


def write(
    session: AsyncSession,
    endpoint_ids: list[int],
    event: str,
    data: Mapping[str, Any],
    at: datetime,
) -> None:
    """One delivery of `event` for each endpoint, due at once."""
    at = at.astimezone(UTC)
    for endpoint_id in endpoint_ids:
        delivery_id = str(uuid.uuid4())
        session.add(
            WebhookDelivery(
                delivery_id=delivery_id,
                endpoint_id=endpoint_id,
                event=event,
                body=rules.body(event, data, at, delivery_id),
                status=DeliveryStatus.PENDING,
                attempts=0,
                send_after=at,
                claimed_by="",
                last_error="",
                created_at=at,
            )
        )


# Appointments

APPOINTMENT_EVENTS: dict[type[AppointmentEvent], str] = {
    AppointmentBooked: "appointment.created",
    AppointmentMoved: "appointment.updated",
    AppointmentStationChanged: "appointment.updated",
    AppointmentCancelled: "appointment.cancelled",
    AppointmentCalledOff: "appointment.cancelled",
}


def appointment_data(
    appointment: AppointmentFacts | Appointment, site: Site, service: Service
) -> dict[str, Any]:
    """What a delivery says of an appointment, whether an event carries its facts or its
    row is read."""
    return rules.appointment_data(
        id=appointment.id,
        reference=appointment.reference,
        status=appointment.status,
        site=site.slug,
        service_code=service.code,
        service_name=service.name,
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        channel=appointment.channel,
        zone=ZoneInfo(site.timezone),
    )


@subscriber(*APPOINTMENT_EVENTS)
async def appointment_changed(session: AsyncSession, event: AppointmentEvent) -> None:
    name = APPOINTMENT_EVENTS[type(event)]
    endpoints = await listening(session, name)
    if not endpoints:
        return
    data = appointment_data(event.appointment, event.site, event.service)
    write(session, endpoints, name, data, event.at)


@subscriber(AppointmentWithdrawn)
async def appointment_withdrawn(session: AsyncSession, event: AppointmentWithdrawn) -> None:
    """Released in bulk without a word to its person: cancelled all the same."""
    name = "appointment.cancelled"
    endpoints = await listening(session, name)
    appointment = await session.get(Appointment, event.appointment_id) if endpoints else None
    if appointment is None:
        return
    site = await session.get_one(Site, appointment.site_id)
    service = await session.get_one(Service, appointment.service_id)
    data = appointment_data(appointment, site, service)
    write(session, endpoints, name, data, event.at)


# Tickets


@subscriber(QueueMoved)
async def ticket_moved(session: AsyncSession, event: QueueMoved) -> None:
    name = rules.TICKET_EVENTS.get(event.action)
    endpoints = await listening(session, name) if name is not None else []
    ticket = await session.get(Ticket, event.ticket_id) if endpoints else None
    if name is None or ticket is None:
        return
    site = await session.get_one(Site, event.site_id)
    service = await session.get_one(Service, ticket.service_id)
    data = rules.ticket_data(
        id=ticket.id,
        number=ticket.number,
        status=ticket.status,
        site=site.slug,
        service_code=service.code,
        service_name=service.name,
    )
    write(session, endpoints, name, data, event.at)


# Requests sent on to a department


@subscriber(VisitOver)
async def escalation_created(session: AsyncSession, event: VisitOver) -> None:
    name = "escalation.created"
    if event.escalation is None:
        return
    endpoints = await listening(session, name)
    if not endpoints:
        return
    reference = event.escalation["reference"]
    found = await session.execute(
        select(Escalation.id, Escalation.status).where(Escalation.reference == reference)
    )
    row = found.one_or_none()
    if row is None:
        return
    data = rules.escalation_data(
        id=row.id,
        reference=reference,
        status=row.status,
        department=event.escalation["department"],
        site=event.site.slug,
    )
    write(session, endpoints, name, data, event.at)


@subscriber(EscalationMoved)
async def escalation_updated(session: AsyncSession, event: EscalationMoved) -> None:
    name = "escalation.updated"
    endpoints = await listening(session, name)
    if not endpoints:
        return
    facts = event.escalation
    data = rules.escalation_data(
        id=facts.id,
        reference=facts.reference,
        status=facts.status,
        department=facts.department,
        site=event.site.slug,
    )
    write(session, endpoints, name, data, event.at)
