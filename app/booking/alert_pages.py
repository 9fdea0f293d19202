"""The booking alerts on a mairie's administration page: days filling abnormally fast with
online bookings, and the button that releases those that look like one client's."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from litestar import post
from litestar.di import NamedDependency
from litestar.params import PathParameter
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from app import bounds
from app.accounts.guards import Caller
from app.accounts.service import site_to_run
from app.booking import alerts
from app.config import Settings
from app.errors import BadRequest
from app.i18n import formats, gettext, ngettext
from app.sites.admin_tabs import FIRST_TAB, TAB_FIELD, TABS, back
from app.sites.models import Site
from app.sites.schemas import Slug
from app.web.staff import Staff, StaffController

DayParam = Annotated[date, PathParameter()]


async def alert_views(
    session: AsyncSession, site: Site, now: datetime, settings: Settings
) -> list[dict[str, Any]]:
    """What the site's page says of each day filling abnormally fast."""
    found = await alerts.alerts_of(session, site, now, settings.booking_alert_per_hour)
    return [
        {
            "day": burst.day.isoformat(),
            "label": formats.day(burst.day),
            "bookings": burst.count,
            "networks": burst.networks,
            "suspects": len(burst.suspects),
        }
        for burst in found
    ]


async def release_alert(who: Caller | Staff, site: Site, day: date) -> alerts.Released:
    """Release the suspect bookings of `site`'s alert on `day` in `who`'s name: what the
    button of the site's page and the staff API's release both do."""
    return await alerts.release(
        who.session,
        site,
        day,
        agent_id=who.actor.agent_id,
        now=who.now,
        threshold=who.settings.booking_alert_per_hour,
    )


def released_text(released: str, told: str) -> list[str]:
    """The confirmation after a release, from the query of the page it comes back to."""
    count = bounds.parse_int(released, 0, bounds.LARGEST_ID)
    people = bounds.parse_int(told, 0, bounds.LARGEST_ID)
    if count is None or people is None:
        return []
    if count == 0:
        return [gettext("Aucun rendez-vous n'était plus à libérer : rien n'a été annulé.")]
    return [
        gettext(
            "%(released)s : ces créneaux sont de nouveau proposés. %(told)s, une seule fois "
            "chacune.",
            released=ngettext(
                "%(num)d rendez-vous a été libéré", "%(num)d rendez-vous ont été libérés", count
            ),
            told=ngettext(
                "%(num)d personne a été prévenue", "%(num)d personnes ont été prévenues", people
            ),
        )
    ]


class BookingAlertPages(StaffController):
    @post("/admin/sites/{slug:str}/alertes/{day:date}/liberer")
    async def release(
        self,
        slug: Slug,
        day: DayParam,
        staff: NamedDependency[Staff],
    ) -> Redirect:
        site = await site_to_run(staff.session, staff.actor, slug)
        if not bounds.within_days(day):
            raise BadRequest("Dates are written YYYY-MM-DD.", code="date_invalid")
        form = await staff.request.form()
        released = await release_alert(staff, site, day)
        # Back to the tab of the page the button was pressed on (the alerts show above
        # every tab), where the confirmation is said; the first, if the form names none.
        tab = str(form.get(TAB_FIELD, ""))
        return back(
            site,
            tab if tab in TABS else FIRST_TAB,
            liberes=str(released.released),
            prevenus=str(released.told),
        )
