"""The administration of mairies over HTTP: settings, stations and their outages, and the
appointments left to reschedule; with the weekly hours, dated exceptions and closures of
`HoursRoutes`. Managers run their own mairies, administrators all."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from litestar import delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from app.accounts.guards import Caller
from app.accounts.service import administered_sites, site_to_run
from app.problems import problem_responses
from app.shapes import from_model
from app.sites import commands
from app.sites.admin_schemas import (
    AffectedOut,
    Id,
    OutageAdded,
    OutageIn,
    OutageOut,
    SettingsChange,
    SettingsOut,
    StationAdminOut,
    StationChanged,
    StationChangeIn,
    StationIn,
    affected_out,
    disrupted,
    outage_out,
    settings_changes,
    settings_out,
    site_zone,
    station_out,
)
from app.sites.api_common import SiteCaller
from app.sites.disruption import to_reschedule
from app.sites.hours_api import HoursRoutes
from app.sites.queries import outages_ahead, station_of, stations_of
from app.sites.schemas import SiteOut, Slug


class SiteAdminController(HoursRoutes):
    @get("/", summary="The mairies this agent runs (manager)")
    async def list_sites(
        self,
        caller: NamedDependency[Caller],
    ) -> list[SiteOut]:
        sites = await administered_sites(caller.session, caller.actor)
        return [from_model(site, SiteOut) for site in sites]

    @get("/{slug:str}", summary="A mairie's booking and message settings")
    async def get_settings(self, site_caller: NamedDependency[SiteCaller]) -> SettingsOut:
        return settings_out(site_caller.site)

    @patch("/{slug:str}", summary="Change some of a mairie's settings")
    async def change_settings(
        self,
        slug: Slug,
        data: JSONBody[SettingsChange],
        caller: NamedDependency[Caller],
    ) -> SettingsOut:
        site = await commands.change_settings(
            caller.session, caller.actor, slug, settings_changes(data), now=caller.now
        )
        return settings_out(site)

    # Stations

    @get("/{slug:str}/stations", summary="All the stations, taken away ones included")
    async def list_stations(
        self, site_caller: NamedDependency[SiteCaller]
    ) -> list[StationAdminOut]:
        stations = await stations_of(site_caller.session, site_caller.site)
        return [station_out(station) for station in stations]

    @post("/{slug:str}/stations", summary="Add a station", responses=problem_responses(409))
    async def add_station(
        self,
        slug: Slug,
        data: JSONBody[StationIn],
        caller: NamedDependency[Caller],
    ) -> StationAdminOut:
        station = await commands.add_station(
            caller.session,
            caller.actor,
            slug,
            name=data.name,
            kind=data.kind,
            accessible=data.accessible,
            now=caller.now,
        )
        return station_out(station)

    @patch(
        "/{slug:str}/stations/{station_id:int}",
        summary="Rename a station, change its kind or accessibility, take it away",
        description="Booked appointments the station can no longer take go to another "
        "suitable station free at the same time, or are listed in `to_reschedule`.",
        responses=problem_responses(409),
    )
    async def change_station(
        self,
        slug: Slug,
        station_id: Id,
        data: JSONBody[StationChangeIn],
        caller: NamedDependency[Caller],
    ) -> StationChanged:
        station, disruption = await commands.change_station(
            caller.session,
            caller.actor,
            slug,
            station_id,
            commands.StationChange(
                name=data.name, kind=data.kind, accessible=data.accessible, active=data.active
            ),
            now=caller.now,
        )
        tz = await site_zone(caller.session, slug)
        return StationChanged(station=station_out(station), **disrupted(disruption, tz))

    # Stations out of service

    @get("/{slug:str}/outages", summary="Stations out of service, now or to come")
    async def list_outages(self, site_caller: NamedDependency[SiteCaller]) -> list[OutageOut]:
        session, site = site_caller.session, site_caller.site
        stations = {s.id: s for s in await stations_of(session, site)}
        return [
            outage_out(outage, stations[outage.station_id], site_caller.tz)
            for outage in await outages_ahead(session, site, site_caller.now)
        ]

    @post(
        "/{slug:str}/outages",
        summary="Take a station out of service for a period",
        description="Nothing is booked on the station then and nobody is called to it. Its "
        "booked appointments in the period go to another suitable station free at the same "
        "time (`kept`), or are listed in `to_reschedule`; each person is told once.",
    )
    async def add_outage(
        self,
        slug: Slug,
        data: JSONBody[OutageIn],
        caller: NamedDependency[Caller],
    ) -> OutageAdded:
        outage, disruption = await commands.take_out_of_service(
            caller.session,
            caller.actor,
            slug,
            data.station_id,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            reason=data.reason,
            now=caller.now,
        )
        site = await site_to_run(caller.session, caller.actor, slug)
        station = await station_of(caller.session, site, outage.station_id)
        tz = ZoneInfo(site.timezone)
        return OutageAdded(outage=outage_out(outage, station, tz), **disrupted(disruption, tz))

    @delete("/{slug:str}/outages/{outage_id:int}", summary="The station is back in service")
    async def end_outage(
        self,
        slug: Slug,
        outage_id: Id,
        caller: NamedDependency[Caller],
    ) -> None:
        await commands.end_outage(caller.session, caller.actor, slug, outage_id, now=caller.now)

    # What is left for the manager

    @get(
        "/{slug:str}/appointments-to-reschedule",
        summary="Booked appointments the mairie cannot honour as booked",
        description="Closed then, or their station out of service or taken away: for the "
        "manager to move or cancel.",
    )
    async def to_reschedule(self, site_caller: NamedDependency[SiteCaller]) -> list[AffectedOut]:
        affected = await to_reschedule(site_caller.session, site_caller.site, site_caller.now)
        return [affected_out(item, site_caller.tz) for item in affected]
