"""The page of the first free slot in any mairie: choose a démarche (and needs, and a place
to be near), see each mairie's first free slot and go straight to booking it. A plain GET
form: no JavaScript needed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from litestar import get
from litestar.di import NamedDependency
from litestar.response import Template

from app.booking.first import FirstSlot, Order, UnknownPlace, first_slots
from app.booking.pages import needs_of
from app.booking.throttling import throttle_search
from app.errors import NotFound
from app.i18n.formats import kilometres
from app.sites.models import Site
from app.sites.service import list_needs, list_services
from app.web.public import PublicController, Visitor

MAX_CODE = 40
MAX_PLACE = 60
NEXT_DOOR_KM = 0.1


@dataclass(frozen=True)
class Search:
    """What the form asks: a démarche (`demarche`), needs (`besoins`), a place to be near
    (`pres-de`) and an order (`ordre`: by date, or by distance when near somewhere)."""

    code: str
    needs: tuple[str, ...]
    near: str
    order: Order

    def query(self, **changes: Any) -> str:
        """This search as a query string, with `changes` (`order`)."""
        order = changes.get("order", self.order)
        pairs = [("demarche", self.code), *(("besoins", code) for code in self.needs)]
        if self.near:
            pairs.append(("pres-de", self.near))
        if order == "distance":
            pairs.append(("ordre", "distance"))
        return urlencode(pairs)


@dataclass(frozen=True)
class Found:
    """A mairie's first free slot as the page shows it."""

    site: Site
    start: datetime  # local
    distance: str | None  # "2,3", in the visitor's language
    next_door: bool  # less than 100 m away: the mairie of the place asked
    book_url: str  # the step where the person gives their details and confirms
    more_url: str  # the other free slots of that mairie


def _found(item: FirstSlot, search: Search) -> Found:
    asked = [("service", search.code), *(("besoins", code) for code in search.needs)]
    slug = item.site.slug
    booking = urlencode([*asked, ("debut", item.local_start.isoformat())])
    distance = None
    if item.distance_km is not None:
        distance = kilometres(item.distance_km)
    return Found(
        site=item.site,
        start=item.local_start,
        distance=distance,
        next_door=item.distance_km is not None and item.distance_km < NEXT_DOOR_KM,
        book_url=f"/mairies/{slug}/rendez-vous/coordonnees?{booking}",
        more_url=f"/mairies/{slug}/rendez-vous/creneaux?{urlencode(asked)}",
    )


class FirstSlotPages(PublicController):
    @get("/premier-creneau")
    async def first_slot(self, visitor: NamedDependency[Visitor]) -> Template:
        session, query = visitor.session, visitor.request.query_params
        services = await list_services(session)
        needs = await list_needs(session)
        offered = {need.code for need in needs}
        near = query.get("pres-de", "").strip()[:MAX_PLACE]
        search = Search(
            code=query.get("demarche", "").strip()[:MAX_CODE],
            # A need withdrawn since a link was shared is left out, not refused.
            needs=tuple(code for code in needs_of(query.getall("besoins", [])) if code in offered),
            near=near,
            order="distance" if near and query.get("ordre") == "distance" else "time",
        )
        errors: dict[str, str] = {}
        found: list[Found] | None = None
        if search.code:
            throttle_search(visitor.request)
            try:
                slots = await first_slots(
                    session,
                    search.code,
                    search.needs,
                    visitor.now,
                    near=search.near,
                    order=search.order,
                )
            except UnknownPlace:
                errors["pres-de"] = "unknown"
            except NotFound:
                errors["demarche"] = "unknown"
            else:
                found = [_found(item, search) for item in slots]
        elif "demarche" in query:
            errors["demarche"] = "missing"
        return Template(
            "first_slot.html",
            context={
                "services": services,
                "needs": needs,
                "search": search,
                "errors": errors,
                "found": found,
                "service": next((s for s in services if s.code == search.code), None),
                "chosen_needs": [need for need in needs if need.code in search.needs],
            },
            status_code=400 if errors else 200,
        )
