"""The administration pages of the mairies: the list, and each one's page with its
settings, stations and their outages (here), its weekly hours, dated exceptions and
closures (`HoursPages`), and the appointments left to move.

Plain forms posted with the session cookie and its CSRF field. Each change goes through
the same commands as the API, then the browser comes back with a confirmation
(POST/redirect/GET); a refused change shows the page again with what was typed and the
problems in French, listed at the top and next to each field (`admin_view.PostedForm`).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import PathParameter
from litestar.response import Redirect, Template

from app.accounts.service import administered_sites, site_to_run
from app.booking.alert_pages import alert_views, released_text
from app.sites import commands
from app.sites.admin_view import back, done_text, form_posted, site_context
from app.sites.commands import StationChange
from app.sites.forms import read_clock, read_int, read_reminder_hours
from app.sites.hours_pages import HoursPages
from app.sites.rules import BOUNDS, CLOCK_SETTINGS, FLAGS, SETTINGS, check_settings, settings_of
from app.sites.schemas import Slug
from app.web.staff import Staff

Id = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]


class SiteAdminPages(HoursPages):
    @get("/admin")
    async def sites(self, staff: NamedDependency[Staff]) -> Template:
        return Template(
            "admin_sites.html",
            context={
                "staff": staff,
                "agent": staff.actor,
                "section": "sites",
                "sites": await administered_sites(staff.session, staff.actor),
            },
        )

    @get("/admin/sites/{slug:str}")
    async def site(
        self,
        slug: Slug,
        staff: NamedDependency[Staff],
    ) -> Template:
        site = await site_to_run(staff.session, staff.actor, slug)
        page = await site_context(staff, site)
        query = staff.request.query_params
        page["done"] = done_text(query) + released_text(
            query.get("liberes", ""), query.get("prevenus", "")
        )
        page["booking_alerts"] = await alert_views(staff.session, site, staff.now, staff.settings)
        return Template("admin_site.html", context=page)

    @post("/admin/sites/{slug:str}/reglages")
    async def change_settings(
        self,
        slug: Slug,
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        posted = await form_posted(staff, slug)
        form, errors, site = posted.form, posted.errors, posted.site
        changes: dict[str, Any] = {name: read_int(form, name, errors) for name in BOUNDS}
        changes["reminder_hours"] = read_reminder_hours(form, errors)
        for name in CLOCK_SETTINGS:
            changes[name] = read_clock(form, name, errors)
        changes["late_arrival_rule"] = form.get("late_arrival_rule") or site.late_arrival_rule
        for name in FLAGS:
            changes[name] = form.get(name) == "oui"
        if errors:  # say at once what else is wrong with the values that could be read
            readable = {k: v for k, v in changes.items() if v is not None and k not in errors}
            for problem in check_settings({**settings_of(site), **readable}):
                errors.setdefault(problem.field, problem.text)
        else:
            with posted.refusals({name: name for name in SETTINGS}, "walk_in_percent"):
                await commands.change_settings(
                    staff.session, staff.actor, slug, changes, now=staff.now
                )
                return back(site, "reglages", fait="reglages")
        return await posted.again("reglages")

    @post("/admin/sites/{slug:str}/postes")
    async def add_station(
        self,
        slug: Slug,
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        posted = await form_posted(staff, slug)
        form = posted.form
        fields = {"name": "nouveau-nom", "nom": "nouveau-nom", "kind": "nouveau-type"}
        with posted.refusals(fields, "nouveau-nom"):
            await commands.add_station(
                staff.session,
                staff.actor,
                slug,
                name=form.get("nouveau-nom", ""),
                kind=form.get("nouveau-type", ""),
                accessible=form.get("nouveau-accessible") == "oui",
                now=staff.now,
            )
            return back(posted.site, "postes", fait="poste_ajoute")
        return await posted.again("nouveau")

    @post("/admin/sites/{slug:str}/postes/{station_id:int}")
    async def change_station(
        self,
        slug: Slug,
        station_id: Id,
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        posted = await form_posted(staff, slug)
        form, prefix = posted.form, f"poste-{station_id}"
        change = StationChange(
            name=form.get(f"{prefix}-nom", ""),
            kind=form.get(f"{prefix}-type", ""),
            accessible=form.get(f"{prefix}-accessible") == "oui",
            active=form.get(f"{prefix}-actif") == "oui",
        )
        fields = {"name": f"{prefix}-nom", "nom": f"{prefix}-nom", "kind": f"{prefix}-type"}
        command = posted.command(commands.change_station, station_id, change, now=staff.now)
        return await posted.change(
            command, fields, f"{prefix}-nom", anchor="postes", done="poste_modifie", again=prefix
        )

    @post("/admin/sites/{slug:str}/postes/{station_id:int}/hors-service")
    async def take_out_of_service(
        self,
        slug: Slug,
        station_id: Id,
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        return await self._add_period(
            staff,
            slug,
            f"panne-{station_id}",
            commands.take_out_of_service,
            station_id,
            anchor="postes",
            done="hors_service",
        )

    @post("/admin/sites/{slug:str}/hors-service/{outage_id:int}/fin")
    async def end_outage(
        self,
        slug: Slug,
        outage_id: Id,
        staff: NamedDependency[Staff],
    ) -> Redirect:
        return await self._undo(
            staff, slug, commands.end_outage, outage_id, anchor="postes", done="en_service"
        )
