"""How busy a mairie usually is, over HTTP: public, like its hours (the Services Publics+
commitment to publish it)."""

from __future__ import annotations

from typing import Literal, cast

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency

from app.sites.schemas import Slug
from app.sites.service import get_site, local_today
from app.stats.busy import BusyWeek, Level, busy_week
from app.web.context import Context

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class BusyHourOut(msgspec.Struct, kw_only=True):
    hour: int
    level: Level


class BusyDayOut(msgspec.Struct, kw_only=True):
    weekday: Weekday
    hours: list[BusyHourOut]


class BusyHoursOut(msgspec.Struct, kw_only=True):
    weeks: int
    days: list[BusyDayOut]


def busy_hours_out(week: BusyWeek) -> BusyHoursOut:
    return BusyHoursOut(
        weeks=week.weeks,
        days=[
            BusyDayOut(
                weekday=cast(Weekday, day.name),
                hours=[BusyHourOut(hour=hour.hour, level=hour.level) for hour in day.hours],
            )
            for day in week.days
        ],
    )


class BusyHoursController(Controller):
    path = "/api/v1"
    tags = ["sites"]

    @get(
        "/sites/{slug:str}/busy-hours",
        summary="How busy each weekday hour usually is",
        description="From the tickets issued at the mairie over the last `weeks` weeks: per "
        "open hour of the usual week (local time), `calm`, `usual` or `busy` compared with the "
        "mairie's own mean. Hours it is closed are left out; with too few tickets to tell, "
        "every open hour is `usual`.",
    )
    async def busy_hours(self, slug: Slug, context: NamedDependency[Context]) -> BusyHoursOut:
        session = context.session
        site = await get_site(session, slug)
        week = await busy_week(session, site, local_today(site, context.now))
        return busy_hours_out(week)
