"""The staff's pages, gathered for the application: login (app/accounts/pages.py), the
console that leads each agent to their desks, the reception console
(`reception_pages`) and the station console (`station_pages`). Plain forms posted with
the session cookie and a CSRF token; the queue parts of the consoles refresh themselves
every few seconds."""

from __future__ import annotations

from litestar import Router, get
from litestar.di import NamedDependency
from litestar.response import Template

from app.accounts.actors import MANAGERS
from app.accounts.pages import LoginPages
from app.booking import alerts as booking_alerts
from app.i18n import formats
from app.queue.reception_pages import ReceptionPages
from app.queue.station_pages import FACILITATORS, RECEPTION, StationPages
from app.sites.service import get_site, list_sites
from app.web.staff import Staff, StaffController


class ConsolePages(StaffController):
    @get("/console")
    async def console(
        self,
        staff: NamedDependency[Staff],
    ) -> Template:
        session = staff.session
        sites = await list_sites(session) if staff.actor.is_admin else list(staff.agent.sites)
        # A manager reads here, before anything else, that a day fills abnormally fast.
        bursts = (
            await booking_alerts.alerts_by_site(
                session, sites, staff.now, staff.settings.booking_alert_per_hour
            )
            if staff.actor.may(MANAGERS)
            else {}
        )
        places = []
        for site in sites:
            detailed = await get_site(session, site.slug, with_details=True)
            places.append(
                {
                    "site": detailed,
                    "reception": staff.actor.role in RECEPTION | {"admin"},
                    "manager": staff.actor.may(MANAGERS),
                    "bursts": [
                        {"label": formats.day(burst.day), "bookings": burst.count}
                        for burst in bursts.get(site.id, [])
                    ],
                    "stations": [s for s in detailed.stations if s.active]
                    if staff.actor.role in FACILITATORS | {"admin"}
                    else [],
                }
            )
        return Template(
            "staff_console.html", context={"staff": staff, "places": places, "agent": staff.actor}
        )


# One name for app/asgi.py to register the staff's pages by.
StaffPages = Router(
    path="/", route_handlers=[LoginPages, ConsolePages, ReceptionPages, StationPages]
)
