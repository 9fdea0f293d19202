"""Public read API of the mairies, their hours and the catalogs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.sites import schemas, service
from app.sites.service import day_range

FromDate = Annotated[date | None, QueryParameter(name="from", description="First day, YYYY-MM-DD")]
ToDate = Annotated[date | None, QueryParameter(name="to", description="Last day, YYYY-MM-DD")]


class SitesController(Controller):
    path = "/api/v1"
    tags = ["sites"]

    @get("/sites", summary="The mairies")
    async def list_sites(self, session: NamedDependency[AsyncSession]) -> list[schemas.SiteSummary]:
        return [schemas.site_summary(site) for site in await service.list_sites(session)]

    @get("/sites/{slug:str}", summary="One mairie, its hours and its stations")
    async def get_site(
        self, slug: schemas.Slug, session: NamedDependency[AsyncSession]
    ) -> schemas.SiteDetail:
        site = await service.get_site(session, slug, with_details=True)
        return schemas.site_detail(site)

    @get("/sites/{slug:str}/hours", summary="When the mairie is open, day by day")
    async def get_hours(
        self,
        slug: schemas.Slug,
        session: NamedDependency[AsyncSession],
        now: NamedDependency[datetime],
        first: FromDate = None,
        last: ToDate = None,
    ) -> schemas.SiteHours:
        site = await service.get_site(session, slug)
        today = service.local_today(site, now)
        first, last = day_range(first, last, today=today, default_days=14)
        calendar = await service.site_calendar(session, site, first, last)
        return schemas.SiteHours(
            site=site.slug,
            timezone=site.timezone,
            days=[schemas.day_hours(day, calendar.timezone) for day in calendar.days(first, last)],
        )

    @get("/services", summary="The catalog of services")
    async def list_services(
        self, session: NamedDependency[AsyncSession]
    ) -> list[schemas.ServiceOut]:
        return [schemas.service_out(item) for item in await service.list_services(session)]

    @get("/needs", summary="The needs an usager may declare")
    async def list_needs(self, session: NamedDependency[AsyncSession]) -> list[schemas.NeedOut]:
        return [schemas.need_out(item) for item in await service.list_needs(session)]
