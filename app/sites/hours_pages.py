"""The opening times' forms of a mairie's administration page: a weekday's hours, a day with
its own hours (or closed), a closure for a period, and undoing the last two. Each goes
through the same commands as the API, then back to its tab: the week's hours to
"horaires", the days and periods apart to "fermetures". `SiteAdminPages` serves these
routes with the rest of the page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any

from litestar import post
from litestar.di import NamedDependency
from litestar.params import PathParameter
from litestar.response import Redirect, Template

from app.i18n import gettext
from app.sites import hours_commands
from app.sites.admin_tabs import back
from app.sites.admin_view import form_posted
from app.sites.disruption import Disruption
from app.sites.forms import read_day, read_ranges
from app.sites.hours import WEEKDAYS
from app.sites.schemas import Slug
from app.web.staff import Staff, StaffController

Id = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]
WeekdayCode = Annotated[str, PathParameter(pattern=r"^(mon|tue|wed|thu|fri|sat|sun)$")]
DayParam = Annotated[date, PathParameter()]


class HoursPages(StaffController):
    """The opening times' part of `SiteAdminPages`, which serves these routes, and what
    the forms of a site's page share."""

    async def _add_period(
        self,
        staff: Staff,
        slug: str,
        prefix: str,
        add: Callable[..., Awaitable[tuple[Any, Disruption]]],
        *args: Any,
        tab: str,
        done: str,
    ) -> Template | Redirect:
        """The form `prefix` posted to the page of the site at `slug`: a period added by
        the site's command `add` (`PostedForm.add_period`)."""
        posted = await form_posted(staff, slug)
        return await posted.add_period(prefix, add, *args, tab=tab, done=done)

    async def _undo(
        self,
        staff: Staff,
        slug: str,
        run: Callable[..., Awaitable[Any]],
        target: Any,
        *,
        tab: str,
        done: str,
    ) -> Redirect:
        """A form of the page of the site at `slug` that undoes `target` by the site's
        command `run`, then back to the page's tab `tab` with the confirmation `done`."""
        posted = await form_posted(staff, slug)
        await posted.command(run, target, now=staff.now)()
        return back(posted.site, tab, fait=done)

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
        day = WEEKDAYS.index(weekday)
        command = posted.command(hours_commands.set_weekday_hours, day, ranges, now=staff.now)
        fields = {"ranges": f"{prefix}-{{n}}-ouverture"}
        return await posted.change(
            command,
            fields,
            f"{prefix}-1-ouverture",
            tab="horaires",
            done="horaires",
            again=prefix,
        )

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
        if day is None:
            return await posted.again("exception")
        reason = form.get("exception-motif", "")
        set_exception = hours_commands.set_exception
        command = posted.command(set_exception, day, ranges, reason=reason, now=staff.now)
        fields = {
            "day": "exception-jour",
            "ranges": "exception-{n}-ouverture",
            "reason": "exception-motif",
        }
        return await posted.change(
            command,
            fields,
            "exception-jour",
            tab="fermetures",
            done="exception",
            again="exception",
        )

    @post("/admin/sites/{slug:str}/exceptions/{day:date}/suppression")
    async def delete_exception(
        self,
        slug: Slug,
        day: DayParam,
        staff: NamedDependency[Staff],
    ) -> Redirect:
        return await self._undo(
            staff,
            slug,
            hours_commands.delete_exception,
            day,
            tab="fermetures",
            done="exception_supprimee",
        )

    @post("/admin/sites/{slug:str}/fermetures")
    async def add_closure(
        self,
        slug: Slug,
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        return await self._add_period(
            staff,
            slug,
            "fermeture",
            hours_commands.add_closure,
            tab="fermetures",
            done="fermeture",
        )

    @post("/admin/sites/{slug:str}/fermetures/{closure_id:int}/suppression")
    async def delete_closure(
        self,
        slug: Slug,
        closure_id: Id,
        staff: NamedDependency[Staff],
    ) -> Redirect:
        return await self._undo(
            staff,
            slug,
            hours_commands.delete_closure,
            closure_id,
            tab="fermetures",
            done="fermeture_supprimee",
        )
