"""What the staff API's controllers share: the query parameters several of them take, and
the mairies a manager's listing reads."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from litestar.params import QueryParameter

from app.accounts.actors import MANAGERS
from app.accounts.guards import Caller
from app.accounts.service import authorize, sites_in_view
from app.sites.models import Site

SiteQuery = Annotated[
    str | None,
    QueryParameter(max_length=40, description="One mairie (by default, all of the agent's)"),
]
FromDate = Annotated[date | None, QueryParameter(name="from", description="First day")]
ToDate = Annotated[date | None, QueryParameter(name="to", description="Last day")]
Limit = Annotated[int, QueryParameter(ge=1, le=500, description="At most this many")]


async def managed_site(caller: Caller, site_id: int) -> Site:
    """The mairie of a row the caller reads or changes; 403 unless they manage it."""
    site = await caller.session.get_one(Site, site_id)
    authorize(caller.actor, roles=MANAGERS, site=site)
    return site


async def managed_sites(caller: Caller, slug: str | None) -> dict[int, Site]:
    """The mairies the caller manages, by id: the one named by `slug`, or else all of
    theirs (every one for an administrator); 403 for one that is not theirs."""
    sites = await sites_in_view(caller.session, caller.actor, roles=MANAGERS, slug=slug)
    return {site.id: site for site in sites}
