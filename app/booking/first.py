"""The first free slot at each mairie for a démarche and its needs.

Not one search per mairie: the summary of free time (`app/booking/free_time.py`) says,
in one query for all of them, which days may take the booking at each mairie (a suitable
station with a free run long enough, room left beside the walk-ins' share); only those
days are read and asked of the slot engine itself, a few at a time, for all mairies at
once (`finders.slot_finders`). Days outside a mairie's summary are read the slow way. The
cost grows with the mairies and days looked at, not with the bookings they hold.

With a `limit`, mairies are taken nearest first (by distance) or earliest first (by the
first day the summary offers) and the search stops once no mairie left can come before
the ones found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.booking import first_plan
from app.booking.queries import get_needs, get_service, requirement_of
from app.booking.slots import Slot
from app.errors import NotFound
from app.sites.geo import distance_km, place_of, search
from app.sites.models import Site
from app.sites.service import list_sites

Order = Literal["time", "distance"]


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
    places = await first_plan.places(session)
    origin = await _place(session, near, places) if near.strip() else None
    distances = {place.id: _distance(place, origin) for place in places}
    far = float("inf")
    found: list[FirstSlot] = []

    async def look(plans: list[first_plan.Plan]) -> None:
        for site, slot in await first_plan.run(session, plans, need, now):
            found.append(FirstSlot(site, slot, distances[site.id]))

    if limit is None:
        await look(await first_plan.plans(session, places, need, now))
    elif order == "distance":  # the nearest mairies first, a few more than asked at a time
        places.sort(key=lambda place: (_or(distances[place.id], far), place.id))
        while places:
            taken, places = places[: limit + 10], places[limit + 10 :]
            await look(await first_plan.plans(session, taken, need, now))
            best = ordered(found, order)[:limit]
            nearer = places and _or(best[-1].distance_km, far) < _or(distances[places[0].id], far)
            if len(best) == limit and nearer:
                break
    else:  # the mairies whose summary offers the earliest day first
        waiting = await first_plan.plans(session, places, need, now)
        waiting.sort(key=lambda plan: (plan.earliest_start, plan.place.id))
        while waiting:
            chunk, waiting = waiting[: limit + 10], waiting[limit + 10 :]
            await look(chunk)
            best = ordered(found, order)[:limit]
            if len(best) == limit and waiting and best[-1].slot.start < waiting[0].earliest_start:
                break
    return ordered(found, order)[:limit]


def _or(value: float | None, otherwise: float) -> float:
    return otherwise if value is None else value


async def _place(
    session: AsyncSession, near: str, places: Sequence[first_plan.Place]
) -> tuple[float, float]:
    """Where `near` points: a mairie's slug, an arrondissement, a postcode, or else the
    one mairie whose name, address or metro station holds those words (read only then:
    most often `near` is a slug)."""
    text = near.strip()
    named = next((place for place in places if place.slug == text), None)
    if named is not None and named.latitude is not None and named.longitude is not None:
        return named.latitude, named.longitude
    sites = await list_sites(session)
    origin = place_of(text, sites)
    if origin is None:
        site, _ = search(text, sites)
        if site is not None and site.latitude is not None and site.longitude is not None:
            origin = site.latitude, site.longitude
    if origin is None:
        raise UnknownPlace(text)
    return origin


def _distance(site: first_plan.Place, origin: tuple[float, float] | None) -> float | None:
    if origin is None or site.latitude is None or site.longitude is None:
        return None
    return round(distance_km(origin[0], origin[1], site.latitude, site.longitude), 1)
