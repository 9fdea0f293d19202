"""Reading earlier slots for the other slices' pages and API: who waits at a mairie, and
what an appointment's page and API say of its person's wait and of the slot held for
them. Nothing here changes data."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.booking.models import Appointment, AppointmentStatus
from app.booking.schemas import OfferOut, WaitlistOut
from app.i18n import formats
from app.sites.models import Site
from app.waitlist.commands import Standing, standing
from app.waitlist.models import Wish


def waiting(site: Site, now: datetime) -> Select[Wish, Appointment]:
    """The people waiting at `site` for an earlier slot, with their appointments to come."""
    return (
        select(Wish, Appointment)
        .join(Appointment, Appointment.id == Wish.appointment_id)
        .where(
            Wish.site_id == site.id,
            Wish.ended_at.is_(None),
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.starts_at > now,
        )
    )


async def waiting_count(session: AsyncSession, site: Site, now: datetime) -> int:
    """How many people wait for an earlier slot at `site` (for the reception console)."""
    return int(await session.scalar(waiting(site, now).with_only_columns(func.count())) or 0)


async def summary(session: AsyncSession, appointment: Appointment, now: datetime) -> dict[str, Any]:
    """What an appointment's private page says of earlier slots: whether its person waits
    for one, and the slot held for them now."""
    found = await standing(session, appointment.id, now)
    tz = ZoneInfo(appointment.site.timezone)
    offer = found.offer
    return {
        "earlier": {
            "waiting": found.wish is not None,
            "offer_when": formats.moment(offer.starts_at.astimezone(tz)) if offer else None,
            "offer_until": formats.moment(offer.expires_at.astimezone(tz)) if offer else None,
        }
    }


def offer_out(found: Standing, tz: ZoneInfo) -> OfferOut | None:
    offer = found.offer
    if offer is None:
        return None
    return OfferOut(
        start=offer.starts_at.astimezone(tz),
        end=offer.ends_at.astimezone(tz),
        expires_at=offer.expires_at.astimezone(tz),
    )


def waitlist_out(found: Standing, tz: ZoneInfo) -> WaitlistOut | None:
    wish = found.wish
    if wish is None:
        return None
    return WaitlistOut(
        since=wish.created_at.astimezone(tz), before=wish.before, offer=offer_out(found, tz)
    )
