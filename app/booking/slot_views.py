"""The free slots as the residents' booking pages show them, for the booking flow and the
private page alike: the week asked (`du`) read from the query, the week of slots of a
démarche and its needs, and the slots offered in place of a refused time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from app import bounds
from app.booking.queries import availability, get_needs, get_service, requirement_of
from app.booking.slots import Slot
from app.errors import BadRequest
from app.i18n import formats, gettext
from app.sites.models import Need, Service, Site
from app.sites.service import local_today
from app.web.context import Context

DAYS_SHOWN = 7


@dataclass
class DaySlots:
    label: str
    slots: list[dict[str, str]]


def parse_day(value: str | None, default: date) -> date:
    """The first day shown (`du`): today without one; a 400 page for one that is not a
    day within bounds."""
    if not value:
        return default
    day = bounds.parse_date(value)
    if day is None:
        raise BadRequest("Dates are written YYYY-MM-DD.", code="date_invalid")
    return day


def first_day_asked(request: Request[Any, Any, State], site: Site, now: datetime) -> date:
    """The first day of the week asked (`du`), today at the earliest."""
    today = local_today(site, now)
    return max(parse_day(request.query_params.get("du"), today), today)


def first_day_after(site: Site, start: datetime | None, now: datetime) -> date:
    """The week shown again after `start` was refused: the one it falls in, if to come."""
    first = local_today(site, now)
    if start is not None:
        first = max(first, start.astimezone(ZoneInfo(site.timezone)).date())
    return first


def slot_choices(slots: Sequence[Slot], tz: ZoneInfo) -> list[dict[str, str]]:
    """Slots to choose from, each as its start and the moment in French."""
    return [
        {
            "value": slot.start.astimezone(tz).isoformat(),
            "label": formats.moment(slot.start.astimezone(tz)),
        }
        for slot in slots
    ]


def _week(slots: list[Slot], first: date, tz: ZoneInfo) -> list[DaySlots]:
    days: dict[date, list[dict[str, str]]] = {
        first + timedelta(days=offset): [] for offset in range(DAYS_SHOWN)
    }
    for slot in slots:
        local = slot.start.astimezone(tz)
        days.setdefault(local.date(), []).append(
            {"value": local.isoformat(), "label": formats.clock(local)}
        )
    return [DaySlots(formats.short_day(day).capitalize(), found) for day, found in days.items()]


async def choice(
    session: AsyncSession, code: str, needs: tuple[str, ...], *, retired: bool = False
) -> tuple[Service, list[Need]]:
    """The démarche and the needs chosen, as the catalogue holds them (`retired`: also
    those withdrawn since an appointment was booked)."""
    service = await get_service(session, code, retired=retired)
    return service, await get_needs(session, needs, retired=retired)


async def slot_context(
    context: Context,
    site: Site,
    code: str,
    needs: tuple[str, ...],
    first: date,
    *,
    retired: bool = False,
) -> dict[str, Any]:
    """The week of free slots from `first` for the démarche `code` and its needs (`retired`:
    an appointment's, withdrawn from the catalogue since it was booked)."""
    session, now = context.session, context.now
    service, chosen = await choice(session, code, needs, retired=retired)
    last = first + timedelta(days=DAYS_SHOWN - 1)
    _, slots = await availability(
        session, site.slug, code, needs, first, last, now, retired=retired
    )
    tz = ZoneInfo(site.timezone)
    length = requirement_of(service, chosen).length_minutes
    today = local_today(site, now)
    return {
        "site": site,
        "service": service,
        "needs": chosen,
        "need_codes": [need.code for need in chosen],
        "length": formats.minutes(length),
        "days": _week(slots, first, tz),
        "period": gettext(
            "du %(first)s au %(last)s",
            first=formats.short_day(first),
            last=formats.short_day(last),
        ),
        "previous": (first - timedelta(days=DAYS_SHOWN)).isoformat() if first > today else None,
        "next": (first + timedelta(days=DAYS_SHOWN)).isoformat(),
    }
