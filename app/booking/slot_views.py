"""The free slots as the residents' booking pages show them, for the booking flow and the
private page alike: the week (`du`) and the day (`jour`) asked read from the query, the
week of slots of a démarche and its needs shown one day at a time, and the slots offered
in place of a refused time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import get_month_names
from litestar import Request
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from app import bounds
from app.booking.queries import free_slots, get_needs, get_service, requirement_of
from app.booking.slots import Slot
from app.errors import BadRequest
from app.i18n import formats, gettext, language
from app.sites.models import Need, Service, Site
from app.sites.service import booking_horizon, local_today
from app.web.context import Context

DAYS_SHOWN = 7


@dataclass
class DaySlots:
    label: str  # "Mercredi 9 décembre", a heading
    said: str  # "mercredi 9 décembre", within a sentence
    day: str  # YYYY-MM-DD, the value of `jour` that shows it
    weekday: str
    date: str
    slots: list[dict[str, str]]


@dataclass(frozen=True)
class Asked:
    """What the query asks to see: the week from `first`, its `day` (None: the first with
    a free slot) and the slot `chosen` already (coming back to change it). `first` may lie
    past the days open for booking, in any year: `slot_context` shows the last week open
    instead."""

    first: date
    day: date | None = None
    chosen: datetime | None = None


def day_asked(value: str | None, today: date) -> date:
    """The day of the week asked (`du`) or of its day (`jour`): today without one or for
    one already past; any day written YYYY-MM-DD after it, whatever its year (to compare
    with the days open, not to count from); a 400 page for one that is not a day."""
    if not value:
        return today
    day = bounds.read_any_date(value)
    if day is None:
        raise BadRequest("Dates are written YYYY-MM-DD.", code="day_not_a_date")
    return max(day, today)


def first_day_asked(request: Request[Any, Any, State], site: Site, now: datetime) -> date:
    """The first day of the week asked (`du`), today at the earliest."""
    return asked(request, site, now).first


def asked(request: Request[Any, Any, State], site: Site, now: datetime) -> Asked:
    """The week (`du`, today at the earliest), the day in it (`jour`) and the slot chosen
    already (`debut`) the query asks for; a day outside the week starts the week; a slot
    chosen already, without a week or day asked, shows its own."""
    query = request.query_params
    today = local_today(site, now)
    first = day_asked(query.get("du"), today)
    day = day_asked(query.get("jour"), today) if query.get("jour") else None
    chosen = bounds.parse_datetime(query.get("debut"))
    if chosen is not None and day is None and not query.get("du"):
        day = max(chosen.astimezone(ZoneInfo(site.timezone)).date(), today)
        first = day
    # Days are compared, never counted from: one may be 9999-12-31.
    if day is not None and not 0 <= (day - first).days < DAYS_SHOWN:
        first = day
    return Asked(first, day, chosen)


def last_week(site: Site, now: datetime) -> tuple[datetime, date]:
    """The latest start the slot engine offers (the booking horizon), and the first day of
    the last week open for booking: the one that ends on that start's day, today at the
    earliest."""
    horizon = booking_horizon(site, now)
    first = horizon.date() - timedelta(days=DAYS_SHOWN - 1)
    return horizon, max(first, local_today(site, now))


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
            {
                "value": local.isoformat(),
                "label": formats.clock(local),
                "moment": formats.moment(local),
            }
        )
    return [
        DaySlots(
            label=formats.capitalised(formats.short_day(day)),
            said=formats.short_day(day),
            day=day.isoformat(),
            weekday=formats.capitalised(formats.weekday(day)),
            date=_day_of_month(day),
            slots=found,
        )
        for day, found in days.items()
    ]


def _day_of_month(day: date) -> str:
    """ "1er décembre"."""
    month = str(get_month_names("wide", locale=language.get())[day.month])
    return gettext("%(day)s %(month)s", day=formats.ordinal(day.day), month=month)


def _shown_day(days: list[DaySlots], wanted: date | None) -> str | None:
    """The day whose slots are shown: the one asked if it has free slots, else the first
    that has."""
    open_days = [day.day for day in days if day.slots]
    if wanted is not None and wanted.isoformat() in open_days:
        return wanted.isoformat()
    return open_days[0] if open_days else None


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
    first: date | Asked,
    *,
    retired: bool = False,
) -> dict[str, Any]:
    """The week of free slots from `first` (or as `Asked`) for the démarche `code` and its
    needs (`retired`: an appointment's, withdrawn from the catalogue since it was booked),
    one day of it shown (`shown_day`), the first free one marked if it is the first of
    all (`first_free`: the week starts today). A week that reaches the booking horizon's
    day says up to when bookings are open (`horizon_end`) and has no week after it. A
    week asked that starts past that day, in whatever year, is not one to show empty:
    the last week open is shown instead, saying so (`beyond_horizon`)."""
    wanted = first if isinstance(first, Asked) else Asked(first)
    session, now = context.session, context.now
    # The latest start the slot engine offers, and the last week open for booking.
    horizon, last_open_week = last_week(site, now)
    beyond_horizon = wanted.first > horizon.date()
    first = last_open_week if beyond_horizon else wanted.first
    service, chosen = await choice(session, code, needs, retired=retired)
    last = first + timedelta(days=DAYS_SHOWN - 1)
    slots = await free_slots(session, site, code, needs, first, last, now, retired=retired)
    tz = ZoneInfo(site.timezone)
    length = requirement_of(service, chosen).length_minutes
    today = local_today(site, now)
    reaches_horizon = last >= horizon.date()
    days = _week(slots, first, tz)
    open_days = [day for day in days if day.slots]
    kept = wanted.chosen.astimezone(tz).isoformat() if wanted.chosen is not None else None
    chosen_label = next(
        (slot["moment"] for day in days for slot in day.slots if slot["value"] == kept), None
    )
    return {
        "site": site,
        "service": service,
        "needs": chosen,
        "need_codes": [need.code for need in chosen],
        "length": formats.minutes(length),
        "days": days,
        "open_days": open_days,
        "shown_day": _shown_day(days, wanted.day),
        "first_free": open_days[0].day if open_days and first <= today else None,
        "first": first.isoformat(),
        "chosen": kept if chosen_label else None,
        "chosen_label": chosen_label,
        "period": gettext(
            "du %(first)s au %(last)s",
            # The year, where the week is not all in this one.
            first=(formats.short_day if first.year == today.year else formats.day)(first),
            last=(formats.short_day if last.year == today.year else formats.day)(last),
        ),
        "previous": (first - timedelta(days=DAYS_SHOWN)).isoformat() if first > today else None,
        "next": None if reaches_horizon else (first + timedelta(days=DAYS_SHOWN)).isoformat(),
        "horizon_days": site.booking_horizon_days,
        "horizon_end": formats.moment(horizon) if reaches_horizon else None,
        "beyond_horizon": beyond_horizon,
    }
