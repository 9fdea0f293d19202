"""The audit log hears what agents did through the domain events: a line per booking an
agent made, moved or cancelled, per ticket an agent moved, per screen revoked, per change
to how a mairie or the City's service runs, per login tried, in the same transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.events import (
    Administered,
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentMoved,
    LoginTried,
    QueueMoved,
    ScreenRevoked,
    subscriber,
)


@subscriber(AppointmentBooked)
async def booked_by_an_agent(session: AsyncSession, event: AppointmentBooked) -> None:
    if event.booked_by is None:  # online: nobody to account for
        return
    audit.record(
        session,
        "appointment.booked",
        at=event.at,
        agent_id=event.booked_by,
        site_id=event.site.id,
        target=f"appointment:{event.appointment.reference}",
        channel=event.channel,
        service=event.service.code,
        station=event.appointment.station_id,
    )


@subscriber(AppointmentMoved, AppointmentCancelled)
async def changed_by_an_agent(
    session: AsyncSession, event: AppointmentMoved | AppointmentCancelled
) -> None:
    if event.by_agent is None:  # the person, the mairie's rules, an earlier slot taken
        return
    audit.record(
        session,
        "appointment.moved" if isinstance(event, AppointmentMoved) else "appointment.cancelled",
        at=event.at,
        agent_id=event.by_agent,
        site_id=event.site.id,
        target=f"appointment:{event.appointment.reference}",
        service=event.service.code,
        station=event.appointment.station_id,
    )


@subscriber(QueueMoved)
async def ticket_moved_by_an_agent(session: AsyncSession, event: QueueMoved) -> None:
    if event.agent_id is None:  # the closing sweep, a resident leaving: no agent
        return
    audit.record(
        session,
        f"ticket.{event.action}",
        at=event.at,
        agent_id=event.agent_id,
        site_id=event.site_id,
        target=f"ticket:{event.ticket_number}",
        ticket=event.ticket_id,
        station=event.station_id,
        **({"forced": True} if event.forced else {}),
    )


@subscriber(ScreenRevoked)
async def screen_revoked(session: AsyncSession, event: ScreenRevoked) -> None:
    audit.record(
        session,
        "screen.revoked",
        at=event.at,
        agent_id=event.agent_id,
        site_id=event.site_id,
        target=f"screen:{event.screen_id}",
        label=event.label,
    )


@subscriber(Administered)
async def administered(session: AsyncSession, event: Administered) -> None:
    audit.record_at_sites(
        session,
        event.action,
        site_ids=event.site_ids,
        at=event.at,
        agent_id=event.agent_id,
        target=event.target,
        **event.details,
    )


@subscriber(LoginTried)
async def login_tried(session: AsyncSession, event: LoginTried) -> None:
    audit.record(session, event.action, at=event.at, agent_id=event.agent_id, **event.details)
