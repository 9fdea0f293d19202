"""Public read API of the mairies, their hours and the catalogs."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from app.sites import schemas, service
from app.sites.service import day_range
from app.web.context import Context

FromDate = Annotated[date | None, QueryParameter(name="from", description="First day, YYYY-MM-DD")]
ToDate = Annotated[date | None, QueryParameter(name="to", description="Last day, YYYY-MM-DD")]


class SitesController(Controller):
    path = "/api/v1"
    tags = ["sites"]

    @get("/sites", summary="The mairies")
    async def list_sites(self, context: NamedDependency[Context]) -> list[schemas.SiteSummary]:
        return [schemas.site_summary(site) for site in await service.list_sites(context.session)]

    @get("/sites/{slug:str}", summary="One mairie, its hours and its stations")
    async def get_site(
        self, slug: schemas.Slug, context: NamedDependency[Context]
    ) -> schemas.SiteDetail:
        site = await service.get_site(context.session, slug, with_details=True)
        return schemas.site_detail(site)

    @get("/sites/{slug:str}/hours", summary="When the mairie is open, day by day")
    async def get_hours(
        self,
        slug: schemas.Slug,
        context: NamedDependency[Context],
        first: FromDate = None,
        last: ToDate = None,
    ) -> schemas.SiteHours:
        session = context.session
        site = await service.get_site(session, slug)
        today = service.local_today(site, context.now)
        first, last = day_range(first, last, today=today, default_days=14)
        calendar = await service.site_calendar(session, site, first, last)
        return schemas.SiteHours(
            site=site.slug,
            timezone=site.timezone,
            days=[schemas.day_hours(day, calendar.timezone) for day in calendar.days(first, last)],
        )

    @get("/services", summary="The catalog of services")
    async def list_services(self, context: NamedDependency[Context]) -> list[schemas.ServiceOut]:
        return [schemas.service_out(item) for item in await service.list_services(context.session)]

    @get("/needs", summary="The needs an usager may declare")
    async def list_needs(self, context: NamedDependency[Context]) -> list[schemas.NeedOut]:
        return [schemas.need_out(item) for item in await service.list_needs(context.session)]
