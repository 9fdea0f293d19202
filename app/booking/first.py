"""The first free slot at each mairie for a démarche and its needs.

Not one search per mairie: the summary of free time (`app/booking/free_time.py`) says,
in one query for all of them, which days may take the booking at each mairie (a suitable
station with a free run long enough, room left beside the walk-ins' share); only those
days are read and asked of the slot engine itself, a few at a time, for all mairies at
once (`finders.slot_finders`). Days outside a mairie's summary are read the slow way. The
cost grows with the mairies and days looked at, not with the bookings they hold.

With a `limit`, mairies are taken nearest first (by distance) or earliest first (by the
first day the summary offers) and the search stops once no mairie left can come before
the ones found. Nearest first, only the nearest are read and measured (`_nearest`: a box
around them, in SQL), a few more than asked, of which only as many as are missing are
asked of the slot engine; the mairies found are read whole at the end only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.booking import first_plan
from app.booking.finders import read
from app.booking.queries import get_needs, get_service, requirement_of
from app.booking.slots import Slot
from app.errors import NotFound
from app.sites.geo import EARTH_RADIUS_KM, distance_km, place_of, search
from app.sites.models import Site
from app.sites.service import list_sites

Order = Literal["time", "distance"]
FAR = float("inf")  # the distance of a mairie not placed on the map, for ordering
# Around the nearest mairies, what rounds (to 100 m) to the same distance as the farthest.
BOX_MARGIN_KM = 0.2
# East-west degrees to north-south ones, near enough for choosing the nearest to measure.
FLAT_EAST = 0.7


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
    distances: dict[int, float | None] = {}
    found: list[Found] = []
    origin, nearest = None, None
    if order == "distance" and limit is not None and near.strip():
        origin, nearest = await _nearest(session, near.strip(), limit + 11)
    if origin is None and near.strip():
        origin = await _place(session, near)

    async def look(plans: list[first_plan.Plan]) -> None:
        for site_id, slot in await first_plan.run(session, plans, need, now):
            found.append(Found(_or(distances[site_id], FAR), slot.start, site_id, slot))

    if order == "distance" and limit is not None:
        # The nearest mairies' plans, a few more than asked at a time; of a chunk, only as
        # many as are still missing are asked of the slot engine first, then the others.
        by_distance = await _by_distance(session, origin, nearest, distances)
        waiting: list[first_plan.Plan] = []
        fresh = False
        while True:
            following = waiting[0].place.id if waiting else by_distance.next_id()
            if following is None and not by_distance.complete:  # past the nearest read
                by_distance = await _by_distance(session, origin, None, distances, by_distance)
                continue
            best = sorted(found)[:limit]
            if following is None or (
                len(best) == limit and best[-1].distance < _or(distances[following], FAR)
            ):
                break
            if waiting:
                count = limit - len(found) if fresh and len(found) < limit else len(waiting)
                chunk, waiting = waiting[:count], waiting[count:]
                fresh = False
                await look(chunk)
            else:
                if not by_distance.complete and len(by_distance.places) <= limit + 10:
                    by_distance = await _by_distance(session, origin, None, distances, by_distance)
                waiting = await first_plan.plans(session, by_distance.take(limit + 10), need, now)
                fresh = True
    else:
        places = await first_plan.places(session)
        for place in places:
            distances[place.id] = _distance(place, origin)
        if limit is None:
            await look(await first_plan.plans(session, places, need, now))
        else:  # the mairies whose summary offers the earliest day first
            plans = await first_plan.plans(session, places, need, now)
            plans.sort(key=lambda plan: (plan.earliest_start, plan.place.id))
            while plans:
                chunk, plans = plans[: limit + 10], plans[limit + 10 :]
                await look(chunk)
                best = sorted(found, key=Found.by_time)[:limit]
                if len(best) == limit and plans and best[-1].start < plans[0].earliest_start:
                    break
    return await _first_slots(session, found, order, limit)


@dataclass(frozen=True, order=True)
class Found:
    """A mairie's first slot while searching: ordered by distance, then start, then id
    (as `ordered` orders them by distance)."""

    distance: float
    start: datetime
    site_id: int
    slot: Slot = field(compare=False)

    def by_time(self) -> tuple[datetime, float, int]:
        return self.start, self.distance, self.site_id


async def _first_slots(
    session: AsyncSession, found: Sequence[Found], order: Order, limit: int | None
) -> list[FirstSlot]:
    """The mairies kept, read whole only now (most of those looked at are not)."""
    kept = sorted(found, key=None if order == "distance" else Found.by_time)[:limit]
    ids = [item.site_id for item in kept]
    sites = {site.id: site for site in await session.scalars(select(Site).where(Site.id.in_(ids)))}
    return ordered(
        [
            FirstSlot(sites[item.site_id], item.slot, _known(item.distance))
            for item in kept
            if item.site_id in sites
        ],
        order,
    )


def _known(distance: float) -> float | None:
    return None if distance == FAR else distance


@dataclass
class ByDistance:
    """The active mairies not taken yet, nearest first: all of them (`complete`), or only
    the nearest, exactly as they come first among all."""

    places: list[first_plan.Place]
    complete: bool
    taken: set[int] = field(default_factory=set)

    def take(self, count: int) -> list[first_plan.Place]:
        taken, self.places = self.places[:count], self.places[count:]
        self.taken.update(place.id for place in taken)
        return taken

    def next_id(self) -> int | None:
        return self.places[0].id if self.places else None


async def _by_distance(
    session: AsyncSession,
    origin: tuple[float, float] | None,
    nearest: list[tuple[first_plan.Place, float]] | None,
    distances: dict[int, float | None],
    earlier: ByDistance | None = None,
) -> ByDistance:
    """The `nearest` mairies when they are known (`_nearest`), else every one not taken
    before, nearest first."""
    if nearest is not None:
        distances.update((place.id, distance) for place, distance in nearest)
        return ByDistance([place for place, _ in nearest], complete=False)
    taken = earlier.taken if earlier is not None else set()
    places = [place for place in await first_plan.places(session) if place.id not in taken]
    distances.update((place.id, _distance(place, origin)) for place in places)
    places.sort(key=lambda place: (_or(distances[place.id], FAR), place.id))
    return ByDistance(places, complete=True, taken=set(taken))


async def _nearest(
    session: AsyncSession, slug: str, count: int
) -> tuple[tuple[float, float] | None, list[tuple[first_plan.Place, float]] | None]:
    """Where the mairie `slug` is (None when no active mairie of that slug is on the map),
    and the `count` mairies nearest it with their distances (km, rounded as shown), in
    the order of all of them, without measuring all (None when fewer are on the map):
    the nearest by a flat approximation first (read with where it is), then every mairie
    in the box around the farthest of those (a little more: what rounds to the same
    distance), measured."""
    placed: tuple[ColumnElement[bool], ...] = (
        Site.active.expression,
        Site.latitude.is_not(None),
        Site.longitude.is_not(None),
    )
    named = (
        select(Site.latitude.label("latitude"), Site.longitude.label("longitude"))
        .where(Site.slug == slug, *placed)
        .subquery()
    )
    north = Site.latitude - named.c.latitude
    east = (Site.longitude - named.c.longitude) * FLAT_EAST
    query = (
        select(named.c.latitude, named.c.longitude, Site.latitude, Site.longitude)
        .join_from(named, Site, true())
        .where(*placed)
        .order_by(north * north + east * east)
        .limit(count)
    )
    listed = await read(session, query)
    if not listed or listed[0][0] is None or listed[0][1] is None:
        return None, None
    origin = listed[0][0], listed[0][1]
    rows = [(lat, lon) for _, _, lat, lon in listed if lat is not None and lon is not None]
    if len(rows) < count:
        return origin, None
    radius = max(distance_km(*origin, lat, lon) for lat, lon in rows) + BOX_MARGIN_KM
    found = await first_plan.places(session, *placed, *_box(origin, radius))
    measured = [(place, _distance(place, origin)) for place in found]
    nearest = sorted(
        ((place, distance) for place, distance in measured if distance is not None),
        key=lambda item: (item[1], item[0].id),
    )[:count]
    return origin, nearest if len(nearest) == count else None


def _box(origin: tuple[float, float], radius: float) -> list[ColumnElement[bool]]:
    """Latitudes and longitudes around `origin` holding every point within `radius` km
    (the box of a circle on the sphere; no bound on longitude near a pole or the
    antimeridian)."""
    angle = radius / EARTH_RADIUS_KM * 1.001
    south, north = math.radians(origin[0]) - angle, math.radians(origin[0]) + angle
    box = [Site.latitude >= math.degrees(south), Site.latitude <= math.degrees(north)]
    spread = math.sin(angle) / math.cos(math.radians(origin[0]))
    if south > -math.pi / 2 and north < math.pi / 2 and spread < 1:
        half = math.degrees(math.asin(spread))
        if origin[1] - half >= -180 and origin[1] + half <= 180:
            box += [Site.longitude >= origin[1] - half, Site.longitude <= origin[1] + half]
    return box


def _or(value: float | None, otherwise: float) -> float:
    return otherwise if value is None else value


async def _place(session: AsyncSession, near: str) -> tuple[float, float]:
    """Where `near` points: a mairie's slug, an arrondissement, a postcode, or else the
    one mairie whose name, address or metro station holds those words (read only then:
    most often `near` is a slug)."""
    text = near.strip()
    named = await first_plan.places(session, Site.slug == text)
    if named and named[0].latitude is not None and named[0].longitude is not None:
        return named[0].latitude, named[0].longitude
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
