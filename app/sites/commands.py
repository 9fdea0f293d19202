"""Running a mairie: its booking and message settings, its stations and their outages.
(Its weekly hours, dated exceptions and closures are in `hours_commands`.)

Each change is checked in plain words (`rules`) before the database could refuse it, and
is written with its audit event in one transaction. A change that strands booked
appointments (a station out of service or changed) moves each to another suitable station
free at the same time, or calls it off (`disruption`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import events
from app.accounts.actors import Actor
from app.accounts.service import other_site, site_to_run
from app.audit.service import Detail
from app.booking.messages import about
from app.db import writing
from app.errors import BadRequest, Conflict, NotFound, refuse
from app.locking import lock_row
from app.sites.disruption import (
    Disruption,
    Period,
    booked_ahead,
    lock_ahead,
    lock_period,
    place_again,
)
from app.sites.models import Closure, Site, Station, StationOutage
from app.sites.queries import station_of, stations_of
from app.sites.rules import (
    MAX_REASON,
    MAX_STATION_NAME,
    SETTINGS,
    audit_value,
    check_kind,
    check_period,
    check_settings,
    clean_text,
    settings_of,
)


async def record(
    session: AsyncSession,
    event: str,
    actor: Actor,
    site: Site,
    now: datetime,
    *,
    target: str | None = None,
    disruption: Disruption | None = None,
    **details: Detail,
) -> None:
    """The audit event of a change `agent` made to the site (or to `target` in it), with
    the appointments it moved or called off."""
    moved = disruption.audit_details() if disruption is not None else {}
    target = target or f"site:{site.slug}"
    await events.administered(
        session, actor.agent_id, now, event, target, (site.id,), **details, **moved
    )


@asynccontextmanager
async def running(session: AsyncSession, actor: Actor, slug: str) -> AsyncIterator[Site]:
    """The site at `slug`, if `agent` runs it, read in the transaction a change to it is
    written in."""
    async with writing(session):
        yield await site_to_run(session, actor, slug)


async def place_and_record(
    session: AsyncSession,
    event: str,
    actor: Actor,
    site: Site,
    now: datetime,
    period: Period,
    *,
    told: str = "",
    target: str | None = None,
    **details: Detail,
) -> Disruption:
    """Place again the appointments of `period` a change stranded (`place_again`, each
    person told `told` as the reason), and record the change with what that did."""
    disruption = await place_again(session, site, period, now, reason=told)
    await record(session, event, actor, site, now, target=target, disruption=disruption, **details)
    return disruption


Period_ = TypeVar("Period_", StationOutage, Closure)  # a period a site is disrupted for


async def add_period(
    session: AsyncSession,
    event: str,
    actor: Actor,
    site: Site,
    now: datetime,
    period: Period_,
    *,
    told: str = "",
    target: str | None = None,
) -> tuple[Period_, Disruption]:
    """Write `period`, when a station is out of service or the whole site closed, then
    place again the appointments it strands and record the change (`place_and_record`).
    The same period written already (a form sent twice) is that one, and changes nothing
    more (`Disruption.already`)."""
    same = await _same_period(session, period)
    if same is not None:
        return same, Disruption(already=True)
    session.add(period)
    await session.flush()
    if isinstance(period, StationOutage):
        kind, station_id = "outage", period.station_id
    else:
        kind, station_id = "closure", None
    disruption = await place_and_record(
        session,
        event,
        actor,
        site,
        now,
        Period(since=period.starts_at, until=period.ends_at, station_id=station_id),
        told=told,
        target=target,
        **{kind: period.id},
        starts_at=period.starts_at.isoformat(),
        ends_at=period.ends_at.isoformat(),
        reason=period.reason,
    )
    return period, disruption


async def _same_period(session: AsyncSession, period: Period_) -> Period_ | None:
    """The outage of the same station, or closure of the same site, with the same start,
    end and reason as `period`, if one is written already."""
    model = type(period)
    same = (model.starts_at == period.starts_at, model.ends_at == period.ends_at)
    if isinstance(period, StationOutage):
        whose = StationOutage.station_id == period.station_id
    else:
        whose = Closure.site_id == period.site_id
    query = select(model).where(whose, *same, model.reason == period.reason).limit(1)
    found: Period_ | None = await session.scalar(query)
    return found


# Changing the settings


async def change_settings(
    session: AsyncSession, actor: Actor, slug: str, changes: Mapping[str, Any], *, now: datetime
) -> Site:
    """Change some of a site's settings; the reminders of appointments to come follow a
    change of reminder hours."""
    unknown = sorted(set(changes) - set(SETTINGS))
    if unknown:
        raise BadRequest(f"Unknown setting: {', '.join(unknown)}.")
    async with running(session, actor, slug) as site:
        before = settings_of(site)
        after = {**before, **changes}
        refuse(check_settings(after))
        changed = {name: value for name, value in changes.items() if before[name] != value}
        for name, value in changed.items():
            setattr(site, name, list(value) if name == "reminder_hours" else value)
        if "reminder_hours" in changed:
            await _replan_reminders(session, site, before["reminder_hours"], now)
        if changed:
            await record(
                session,
                "site.settings_changed",
                actor,
                site,
                now,
                changed=sorted(changed),
                **{name: audit_value(value) for name, value in changed.items()},
            )
    return site


async def _replan_reminders(
    session: AsyncSession, site: Site, old_hours: Sequence[int], now: datetime
) -> None:
    """Reminders at hours no longer chosen are not sent; those at new hours are planned for
    every appointment to come."""
    dropped = [hour for hour in old_hours if hour not in site.reminder_hours]
    added = [hour for hour in site.reminder_hours if hour not in old_hours]
    if dropped:
        await events.record(
            session, events.SiteRemindersDropped(at=now, site_id=site.id, hours=tuple(dropped))
        )
    if not added:
        return
    for appointment in await booked_ahead(session, site, Period(since=now), now):
        added_event = events.AppointmentRemindersAdded(
            at=now, **about(appointment, site, appointment.service), hours=tuple(added)
        )
        await events.record(session, added_event)


# Stations


async def named_alone(session: AsyncSession, site: Site) -> None:
    """Hold the site's row until the transaction ends, so that two stations are not named
    alike at the same moment (added or renamed): the second waits, then finds the name
    taken (`_station_name`), where both had found it free and one broke the unique key (a
    500), or two names differing by case only both went in."""
    await lock_row(session, site)


async def _station_name(
    session: AsyncSession, site: Site, name: str, *, station_id: int | None = None
) -> str:
    """A clean station name that no other station of the site has."""
    clean = clean_text(name, "name", MAX_STATION_NAME, required=True)
    folded = unicodedata.normalize("NFC", clean).casefold()
    for other in await stations_of(session, site):
        if other.id != station_id and unicodedata.normalize("NFC", other.name).casefold() == folded:
            raise Conflict(
                f"{site.name} already has a station called {other.name!r}.",
                code="station_name_taken",
            )
    return clean


async def add_station(
    session: AsyncSession,
    actor: Actor,
    slug: str,
    *,
    name: str,
    kind: str,
    accessible: bool,
    now: datetime,
) -> Station:
    """A new station, last in the site's order, offered for booking at once."""
    check_kind(kind)
    async with running(session, actor, slug) as site:
        await named_alone(session, site)
        clean = await _station_name(session, site, name)
        last = await session.scalar(
            select(func.max(Station.position)).where(Station.site_id == site.id)
        )
        station = Station(
            site_id=site.id,
            name=clean,
            kind=kind,
            accessible=accessible,
            active=True,
            position=(last or 0) + 1,
        )
        session.add(station)
        await session.flush()
        await record(
            session,
            "station.created",
            actor,
            site,
            now,
            target=f"station:{station.id}",
            name=clean,
            kind=kind,
            accessible=accessible,
        )
    return station


@dataclass(frozen=True)
class StationChange:
    name: str | None = None
    kind: str | None = None
    accessible: bool | None = None
    active: bool | None = None


async def change_station(
    session: AsyncSession,
    actor: Actor,
    slug: str,
    station_id: int,
    change: StationChange,
    *,
    now: datetime,
) -> tuple[Station, Disruption]:
    """Rename a station, change its kind or accessibility, take it away or bring it back.
    Appointments to come that it can no longer take go to another station, or are listed."""
    if change.kind is not None:
        check_kind(change.kind)
    async with running(session, actor, slug) as site:
        station = await station_of(session, site, station_id)
        wanted: dict[str, Any] = {
            "kind": change.kind,
            "accessible": change.accessible,
            "active": change.active,
        }
        if change.name is not None:
            await named_alone(session, site)
            wanted["name"] = await _station_name(session, site, change.name, station_id=station.id)
        changed = {
            key: value
            for key, value in wanted.items()
            if value is not None and getattr(station, key) != value
        }
        for key, value in changed.items():
            setattr(station, key, value)
        await session.flush()
        disruption = Disruption()
        if changed.keys() & {"kind", "accessible", "active"}:
            await lock_ahead(session, site, now)
            disruption = await place_again(
                session, site, Period(since=now, station_id=station.id), now
            )
        if changed:
            await record(
                session,
                "station.changed",
                actor,
                site,
                now,
                target=f"station:{station.id}",
                changed=sorted(changed),
                **changed,
                disruption=disruption,
            )
    return station, disruption


# Stations out of service


async def take_out_of_service(
    session: AsyncSession,
    actor: Actor,
    slug: str,
    station_id: int,
    *,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    now: datetime,
) -> tuple[StationOutage, Disruption]:
    """Take a station out of service for a period: nothing is booked on it, nobody is
    called to it, and its appointments then go to another station or are listed."""
    check_period(starts_at, ends_at, now, "outage")
    clean_reason = clean_text(reason, "reason", MAX_REASON, required=False)
    async with running(session, actor, slug) as site:
        await lock_period(session, site, starts_at, ends_at)
        station = await station_of(session, site, station_id)
        outage = StationOutage(
            station_id=station.id, starts_at=starts_at, ends_at=ends_at, reason=clean_reason
        )
        outage, disruption = await add_period(
            session,
            "station.out_of_service",
            actor,
            site,
            now,
            outage,
            target=f"station:{station.id}",
        )
    return outage, disruption


async def end_outage(
    session: AsyncSession, actor: Actor, slug: str, outage_id: int, *, now: datetime
) -> None:
    """The station is back: its outage is removed, and it is offered again."""
    async with running(session, actor, slug) as site:
        outage = await session.get(StationOutage, outage_id)
        station = await session.get(Station, outage.station_id) if outage else None
        if outage is None or station is None:
            raise NotFound(f"{site.name} has no station outage with the id {outage_id}.")
        if station.site_id != site.id:
            raise other_site(site, "station outage")
        await session.delete(outage)
        await record(
            session,
            "station.back_in_service",
            actor,
            site,
            now,
            target=f"station:{station.id}",
            outage=outage_id,
        )
