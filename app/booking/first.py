"""The first free slot at each mairie for a démarche and its needs: each mairie's own slot
engine (`queries.slot_finder`, one read of its bookings up to its booking horizon) asked
day by day until it offers a slot."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.booking.queries import get_needs, get_service, requirement_of, slot_finder
from app.booking.slots import Refusal, Requirement, Slot, SlotFinder
from app.errors import NotFound
from app.sites.geo import distance_km, place_of, search
from app.sites.models import Site
from app.sites.service import list_sites, local_today

Order = Literal["time", "distance"]
# Refusals after which no later start of the same day (or of any day) can be booked.
DAY_FULL = (Refusal.WALK_IN_SHARE,)
SITE_DONE = (Refusal.TOO_LATE, Refusal.NO_STATION)


@dataclass(frozen=True)
class FirstSlot:
    """The first free slot of one mairie, and how far it is from the place asked (km)."""

    site: Site
    slot: Slot
    distance_km: float | None = None

    @property
    def local_start(self) -> datetime:
        return self.slot.start.astimezone(ZoneInfo(self.site.timezone))

    @property
    def local_end(self) -> datetime:
        return self.slot.end.astimezone(ZoneInfo(self.site.timezone))


def earliest(finder: SlotFinder) -> Slot | None:
    """The first slot `finder` offers, looking day by day and stopping there: the first
    of `finder.slots()`, without working out the others."""
    for day in finder.days:
        for start in finder.grid(day):
            outcome = finder.check(start)
            if isinstance(outcome, Slot):
                return outcome
            if outcome in SITE_DONE:
                return None
            if outcome in DAY_FULL:
                break
    return None


async def first_slot(
    session: AsyncSession, site: Site, need: Requirement, now: datetime
) -> Slot | None:
    """The first free slot of `site` for `need`, up to its booking horizon."""
    tz = ZoneInfo(site.timezone)
    last = (now + timedelta(days=site.booking_horizon_days)).astimezone(tz).date()
    finder = await slot_finder(session, site, need, local_today(site, now), last, now)
    return earliest(finder)


def ordered(found: Sequence[FirstSlot], order: Order = "time") -> list[FirstSlot]:
    """By start (the nearest first among equals), or by distance (the earliest first
    among equals); mairies whose distance is unknown come after the others."""
    far = float("inf")

    def by_time(item: FirstSlot) -> tuple[datetime, float, int]:
        distance = far if item.distance_km is None else item.distance_km
        return item.slot.start, distance, item.site.id

    def by_distance(item: FirstSlot) -> tuple[float, datetime, int]:
        distance = far if item.distance_km is None else item.distance_km
        return distance, item.slot.start, item.site.id

    return sorted(found, key=by_distance if order == "distance" else by_time)


class UnknownPlace(NotFound):
    """`near` names no mairie, arrondissement or postcode of Paris."""

    def __init__(self, near: str) -> None:
        super().__init__(
            f"No mairie, arrondissement or postcode of Paris matches {near!r}.",
            code="place_unknown",
        )


async def first_slots(
    session: AsyncSession,
    service_code: str,
    need_codes: tuple[str, ...],
    now: datetime,
    *,
    near: str = "",
    order: Order = "time",
    limit: int | None = None,
) -> list[FirstSlot]:
    """The first free slot at each active mairie that can take the démarche `service_code`
    with the needs `need_codes`, in `order`, at most `limit` of them; with `near` (a
    mairie, an arrondissement, a postcode), each with its distance from there. 404 for an
    unknown démarche or place, 400 for an unknown need, as the availability of one mairie
    answers."""
    service = await get_service(session, service_code)
    need = requirement_of(service, await get_needs(session, need_codes))
    sites = await list_sites(session)
    origin = _place(near, sites) if near.strip() else None
    found = []
    for site in sites:
        slot = await first_slot(session, site, need, now)
        if slot is not None:
            found.append(FirstSlot(site, slot, _distance(site, origin)))
    return ordered(found, order)[:limit]


def _place(near: str, sites: Sequence[Site]) -> tuple[float, float]:
    """Where `near` points: a mairie's slug, an arrondissement, a postcode, or else the
    one mairie whose name, address or metro station holds those words."""
    text = near.strip()
    origin = place_of(text, sites)
    if origin is None:
        site, _ = search(text, sites)
        if site is not None and site.latitude is not None and site.longitude is not None:
            origin = site.latitude, site.longitude
    if origin is None:
        raise UnknownPlace(text)
    return origin


def _distance(site: Site, origin: tuple[float, float] | None) -> float | None:
    if origin is None or site.latitude is None or site.longitude is None:
        return None
    return round(distance_km(origin[0], origin[1], site.latitude, site.longitude), 1)
