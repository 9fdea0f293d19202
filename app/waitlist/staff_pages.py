"""What reception sees of earlier slots at its mairie: who waits for one, in the order
they asked (the first is offered the next suitable slot that frees up), and the slots
held for them now."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from litestar import get
from litestar.di import NamedDependency
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.booking.models import Appointment
from app.i18n import formats
from app.queue.station_pages import RECEPTION
from app.sites.schemas import Slug
from app.waitlist.models import Offer, OfferStatus, Wish
from app.waitlist.queries import waiting, waiting_count
from app.web.staff import Staff, StaffController, site_for

SHOWN = 200  # at most, in the order they asked


class EarlierStaffPages(StaffController):
    @get("/accueil/{slug:str}/plus-tot")
    async def waiting(self, slug: Slug, staff: NamedDependency[Staff]) -> Template:
        session, now = staff.session, staff.now
        site = await site_for(session, staff, slug, RECEPTION)
        tz = ZoneInfo(site.timezone)
        rows = await session.execute(
            waiting(site, now)
            .order_by(Wish.created_at, Wish.id)
            .limit(SHOWN)
            .options(selectinload(Appointment.service))
        )
        found = list(rows)
        held = {
            offer.appointment_id: offer
            for offer in await session.scalars(
                select(Offer).where(
                    Offer.site_id == site.id,
                    Offer.status == OfferStatus.HELD,
                    Offer.expires_at > now,
                )
            )
        }
        people = []
        for wish, appointment in found:
            offer = held.get(appointment.id)
            people.append(
                {
                    "reference": appointment.reference,
                    "name": appointment.name,
                    "service": appointment.service.label,
                    "when": formats.moment(appointment.starts_at.astimezone(tz)),
                    "before": formats.day(wish.before) if wish.before else None,
                    "since": formats.moment(wish.created_at.astimezone(tz)),
                    "offer": {
                        "when": formats.moment(offer.starts_at.astimezone(tz)),
                        "until": formats.clock(offer.expires_at.astimezone(tz)),
                    }
                    if offer
                    else None,
                }
            )
        page = {
            "staff": staff,
            "agent": staff.actor,
            "site": site,
            "people": people,
            "total": await waiting_count(session, site, now),
            "shown": SHOWN,
        }
        return Template("staff_earlier.html", context=page)
