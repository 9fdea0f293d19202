"""The opening times' forms of a mairie's administration page: a weekday's hours, a day with
its own hours (or closed), a closure for a period, and undoing the last two. Each goes
through the same commands as the API; `SiteAdminPages` serves these routes with the rest
of the page."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from litestar import post
from litestar.di import NamedDependency
from litestar.params import PathParameter
from litestar.response import Redirect, Template

from app.i18n import gettext
from app.sites import hours_commands
from app.sites.admin_view import back, form_posted, outcome
from app.sites.forms import period_fields, read_day, read_ranges
from app.sites.hours import WEEKDAYS
from app.sites.schemas import Slug
from app.web.staff import Staff, StaffController

Id = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]
WeekdayCode = Annotated[str, PathParameter(pattern=r"^(mon|tue|wed|thu|fri|sat|sun)$")]
DayParam = Annotated[date, PathParameter()]


class HoursPages(StaffController):
    """The opening times' part of `SiteAdminPages`, which serves these routes."""

    @post("/admin/sites/{slug:str}/horaires/{weekday:str}")
    async def set_weekday(
        self,
        slug: Slug,
        weekday: WeekdayCode,
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        posted = await form_posted(staff, slug)
        prefix = f"horaires-{weekday}"
        ranges = read_ranges(posted.form, prefix, posted.errors)
        if not posted.errors:
            with posted.refusals({"ranges": f"{prefix}-{{n}}-ouverture"}, f"{prefix}-1-ouverture"):
                disruption = await hours_commands.set_weekday_hours(
                    staff.session,
                    staff.agent,
                    slug,
                    WEEKDAYS.index(weekday),
                    ranges,
                    now=staff.now,
                )
                return back(posted.site, "horaires", **outcome("horaires", disruption))
        return await posted.again(prefix)

    @post("/admin/sites/{slug:str}/exceptions")
    async def set_exception(
        self,
        slug: Slug,
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        posted = await form_posted(staff, slug)
        form, errors = posted.form, posted.errors
        day = read_day(form, "exception-jour", errors)
        closed = form.get("exception-fermee") == "oui"
        ranges = [] if closed else read_ranges(form, "exception", errors)
        if not closed and not ranges and not errors:
            errors["exception-1-ouverture"] = gettext(
                "Indiquez les heures d'ouverture de ce jour, ou cochez « Fermé toute la journée »."
            )
        if day is not None and not errors:
            fields = {
                "day": "exception-jour",
                "ranges": "exception-{n}-ouverture",
                "reason": "exception-motif",
            }
            with posted.refusals(fields, "exception-jour"):
                _, disruption = await hours_commands.set_exception(
                    staff.session,
                    staff.agent,
                    slug,
                    day,
                    ranges,
                    reason=form.get("exception-motif", ""),
                    now=staff.now,
                )
                return back(posted.site, "exceptions", **outcome("exception", disruption))
        return await posted.again("exception")

    @post("/admin/sites/{slug:str}/exceptions/{day:date}/suppression")
    async def delete_exception(
        self,
        slug: Slug,
        day: DayParam,
        staff: NamedDependency[Staff],
    ) -> Redirect:
        posted = await form_posted(staff, slug)
        await hours_commands.delete_exception(staff.session, staff.agent, slug, day, now=staff.now)
        return back(posted.site, "exceptions", fait="exception_supprimee")

    @post("/admin/sites/{slug:str}/fermetures")
    async def add_closure(
        self,
        slug: Slug,
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        posted = await form_posted(staff, slug)
        period = posted.period("fermeture")
        if period is not None:
            with posted.refusals(period_fields("fermeture"), "fermeture-debut-jour"):
                _, disruption = await hours_commands.add_closure(
                    staff.session,
                    staff.agent,
                    slug,
                    starts_at=period[0],
                    ends_at=period[1],
                    reason=posted.form.get("fermeture-motif", ""),
                    now=staff.now,
                )
                return back(posted.site, "fermetures", **outcome("fermeture", disruption))
        return await posted.again("fermeture")

    @post("/admin/sites/{slug:str}/fermetures/{closure_id:int}/suppression")
    async def delete_closure(
        self,
        slug: Slug,
        closure_id: Id,
        staff: NamedDependency[Staff],
    ) -> Redirect:
        posted = await form_posted(staff, slug)
        await hours_commands.delete_closure(
            staff.session, staff.agent, slug, closure_id, now=staff.now
        )
        return back(posted.site, "fermetures", fait="fermeture_supprimee")
