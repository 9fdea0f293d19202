"""What changes to appointments mean for earlier slots, heard in the transaction of the
change: the slot a cancellation or a move leaves is marked freed for the people waiting;
a person whose appointment is gone waits no more, and a slot held for them is let go."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.booking.models import Appointment
from app.events import (
    Administered,
    AppointmentCalledOff,
    AppointmentCancelled,
    AppointmentMoved,
    AppointmentWithdrawn,
    subscriber,
)
from app.sites.models import Site
from app.waitlist.commands import end_offers
from app.waitlist.engine import freed, recheck
from app.waitlist.models import OfferStatus, Wish, WishEnd


async def _gone(session: AsyncSession, appointment_id: int, tz: ZoneInfo, now: datetime) -> None:
    await session.execute(
        update(Wish)
        .where(Wish.appointment_id == appointment_id, Wish.ended_at.is_(None))
        .values(ended_at=now, ended_why=WishEnd.GONE)
    )
    await end_offers(session, appointment_id, OfferStatus.WITHDRAWN, tz, now)


@subscriber(AppointmentCancelled)
async def cancelled(session: AsyncSession, event: AppointmentCancelled) -> None:
    """Its slot is free for the people waiting; its person waits no more."""
    tz = ZoneInfo(event.site.timezone)
    await _gone(session, event.appointment.id, tz, event.at)
    if event.appointment.starts_at > event.at:
        await freed(
            session, event.site.id, event.appointment.starts_at.astimezone(tz).date(), event.at
        )


@subscriber(AppointmentCalledOff)
async def called_off(session: AsyncSession, event: AppointmentCalledOff) -> None:
    """The mairie cannot receive it: nothing is freed, its person waits no more."""
    await _gone(session, event.appointment.id, ZoneInfo(event.site.timezone), event.at)


@subscriber(AppointmentWithdrawn)
async def withdrawn(session: AsyncSession, event: AppointmentWithdrawn) -> None:
    """Released in bulk with others: as a cancellation."""
    found = await session.execute(
        select(Appointment.starts_at, Site)
        .join(Site, Site.id == Appointment.site_id)
        .where(Appointment.id == event.appointment_id)
    )
    row = found.first()
    if row is None:
        return
    start, site = row
    tz = ZoneInfo(site.timezone)
    await _gone(session, event.appointment_id, tz, event.at)
    if start > event.at:
        await freed(session, site.id, start.astimezone(tz).date(), event.at)


@subscriber(AppointmentMoved)
async def moved(session: AsyncSession, event: AppointmentMoved) -> None:
    """The slot it left is free for the people waiting; a slot held for its person is let
    go (they may be offered another, earlier than their new time)."""
    tz = ZoneInfo(event.site.timezone)
    await end_offers(session, event.appointment.id, OfferStatus.WITHDRAWN, tz, event.at)
    left = event.freed_from
    if left is not None and left > event.at:
        await freed(session, event.site.id, left.astimezone(tz).date(), event.at)


@subscriber(Administered)
async def administered(session: AsyncSession, event: Administered) -> None:
    """A mairie changed how it runs (an outage, a closure, its hours, stations or
    settings): the slots held there are checked again, and those it can no longer give
    let go."""
    for site_id in event.site_ids:
        site = await session.get(Site, site_id)
        if site is not None:
            await recheck(session, site, event.at)
