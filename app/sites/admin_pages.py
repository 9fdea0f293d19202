"""The administration pages of the mairies: the list, and each one's page with its
settings, stations and their outages (here), its weekly hours, dated exceptions and
closures (`HoursPages`), and the appointments left to move.

Plain forms posted with the session cookie and its CSRF field. Each change goes through
the same commands as the API, then the browser comes back with a confirmation
(POST/redirect/GET); a refused change shows the page again with what was typed and the
problems in French, listed at the top and next to each field (`admin_view.PostedForm`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import PathParameter
from litestar.response import Redirect, Template

from app.accounts.service import administered_sites, site_to_run
from app.booking.alert_pages import alert_views, released_text
from app.sites import commands
from app.sites.admin_done import done_text, made_already
from app.sites.admin_tabs import (
    SETTING_TABS,
    TAB_FIELD,
    back,
    chosen_tab,
    settings_in,
    tab_of_setting,
)
from app.sites.admin_view import form_posted, site_context
from app.sites.commands import StationChange
from app.sites.forms import read_clock, read_int, read_reminder_hours
from app.sites.hours_pages import HoursPages
from app.sites.models import Site
from app.sites.rules import BOUNDS, CLOCK_SETTINGS, FLAGS, SETTINGS, check_settings, settings_of
from app.sites.schemas import Slug
from app.web.staff import Staff

Id = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]


def read_settings(
    form: Mapping[str, str], names: Iterable[str], site: Site, errors: dict[str, str]
) -> dict[str, Any]:
    """The settings `names` as typed in `form` (None where unreadable, said in `errors`)."""
    read: dict[str, Any] = {}
    for name in names:
        if name in BOUNDS:
            read[name] = read_int(form, name, errors)
        elif name in CLOCK_SETTINGS:
            read[name] = read_clock(form, name, errors)
        elif name in FLAGS:
            read[name] = form.get(name) == "oui"
        elif name == "reminder_hours":
            read[name] = read_reminder_hours(form, errors)
        elif name == "late_arrival_rule":
            read[name] = form.get(name) or site.late_arrival_rule
    return read


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
        query = staff.request.query_params
        page = await site_context(staff, site, chosen_tab(query))
        page["done_already"] = made_already(query)
        page["done"] = await done_text(staff.session, site, query) + released_text(
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
        # The form of one settings tab says which (`onglet`); the others keep their values.
        # A form without it (an older page, a script) sends every setting, as it always did.
        tab = form.get(TAB_FIELD, "")
        names = settings_in(tab) or tuple(SETTINGS)
        changes = read_settings(form, names, site, errors)
        if errors:  # say at once what else is wrong with the values that could be read
            readable = {k: v for k, v in changes.items() if v is not None and k not in errors}
            for problem in check_settings({**settings_of(site), **readable}):
                errors.setdefault(problem.field, problem.text)
        else:
            with posted.refusals({name: name for name in SETTINGS}, names[0]):
                await commands.change_settings(
                    staff.session, staff.actor, slug, changes, now=staff.now
                )
                return back(site, tab_of_setting(names[0]), fait="reglages")
        # A form of every setting comes back at the tab of the first setting found wrong.
        wrong = [name for name in names if name in errors] or [names[0]]
        shown = tab if tab in SETTING_TABS else tab_of_setting(wrong[0])
        return await posted.again("reglages", tab=shown)

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
            command, fields, f"{prefix}-nom", tab="postes", done="poste_modifie", again=prefix
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
            tab="postes",
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
            staff, slug, commands.end_outage, outage_id, tab="postes", done="en_service"
        )
