"""Days filling abnormally fast, for the managers (metric, notice on the site's page), and
the release of the bookings that look like one client's, in one click."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import events, locking
from app.booking.commands import move_appointment
from app.booking.guard import WINDOW, Burst, Made, bursts
from app.booking.messages import about
from app.booking.models import RELEASED, Appointment, AppointmentStatus
from app.booking.rules import AppointmentAction, AppointmentEffect
from app.db import writing
from app.sites.hours import local_days
from app.sites.models import Service, Site


@dataclass(frozen=True)
class Released:
    day: date
    released: int
    told: int


async def _made(
    session: AsyncSession, now: datetime, site_ids: list[int] | None = None
) -> list[tuple[int, Appointment]]:
    """Online bookings still standing made in the last window, with their site."""
    query = select(Appointment).where(
        Appointment.created_at >= now - WINDOW,
        Appointment.booked_by_agent_id.is_(None),
        Appointment.status.not_in(RELEASED),
    )
    if site_ids is not None:
        query = query.where(Appointment.site_id.in_(site_ids))
    return [(row.site_id, row) for row in await session.scalars(query)]


def _as_made(appointment: Appointment, tz: ZoneInfo) -> Made:
    return Made(
        appointment_id=appointment.id,
        day=appointment.starts_at.astimezone(tz).date(),
        made_at=appointment.created_at,
        network=appointment.client_network,
        email_key=appointment.email_key,
        phone=appointment.phone,
    )


async def alerts_by_site(
    session: AsyncSession, sites: list[Site], now: datetime, threshold: int
) -> dict[int, list[Burst]]:
    """The site-days of `sites` that took more than `threshold` online bookings in the
    last hour, by site id (sites without any are left out)."""
    zones = {site.id: ZoneInfo(site.timezone) for site in sites}
    made: dict[int, list[Made]] = defaultdict(list)
    for site_id, appointment in await _made(session, now, list(zones)):
        made[site_id].append(_as_made(appointment, zones[site_id]))
    found = {
        site_id: bursts(items, threshold=threshold, now=now) for site_id, items in made.items()
    }
    return {site_id: items for site_id, items in found.items() if items}


async def alerts_of(
    session: AsyncSession, site: Site, now: datetime, threshold: int
) -> list[Burst]:
    return (await alerts_by_site(session, [site], now, threshold)).get(site.id, [])


async def release(
    session: AsyncSession,
    site: Site,
    day: date,
    *,
    agent_id: int | None,
    now: datetime,
    threshold: int,
) -> Released:
    """Cancel the suspect bookings of the alert on `site`'s `day`: each person (their
    normalised email or phone) is told once, whatever the number of their bookings, and
    nothing is done or told again on a second click. Audited."""
    starts, ends = local_days(day, day, ZoneInfo(site.timezone))
    async with writing(session):
        # The day's lock before the rows', as a move takes them.
        await locking.lock(session, locking.day_locks(site.id, day))
        burst = next(
            (b for b in await alerts_of(session, site, now, threshold) if b.day == day), None
        )
        suspects = list(burst.suspects) if burst else []
        appointments = list(
            await session.scalars(
                select(Appointment)
                .where(
                    Appointment.id.in_(suspects),
                    Appointment.status == AppointmentStatus.BOOKED,
                    Appointment.starts_at > now,
                    Appointment.starts_at >= starts,
                    Appointment.starts_at < ends,
                )
                .order_by(Appointment.starts_at, Appointment.id)
                .with_for_update()
            )
        )
        first = {appointment.id for appointment in told_once(appointments)}
        services: dict[int, Service] = {}
        for appointment in appointments:
            moved = move_appointment(appointment, AppointmentAction.RELEASE, now)
            if appointment.id not in first or AppointmentEffect.TELL_RELEASED not in moved.effects:
                await events.record(
                    session, events.AppointmentWithdrawn(at=now, appointment_id=appointment.id)
                )
                continue
            if appointment.service_id not in services:
                services[appointment.service_id] = await session.get_one(
                    Service, appointment.service_id
                )
            service = services[appointment.service_id]
            await events.record(
                session, events.AppointmentCancelled(at=now, **about(appointment, site, service))
            )
        released = {
            "released": len(appointments),
            "told": len(first),
            "references": [appointment.reference for appointment in appointments],
        }
        target = f"site:{site.slug}:{day.isoformat()}"
        await events.administered(
            session, agent_id, now, "appointments.released", target, (site.id,), **released
        )
    return Released(day=day, released=len(appointments), told=len(first))


def told_once(appointments: list[Appointment]) -> list[Appointment]:
    """The first booking of each person, in the order given: the ones that are told."""
    seen: set[str] = set()
    first = []
    for appointment in appointments:
        person = {key for key in (appointment.email_key, appointment.phone) if key}
        if not person & seen:
            first.append(appointment)
        seen |= person
    return first
