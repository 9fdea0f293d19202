"""What the staff API's controllers share: their bases, the query parameters several of
them take, the mairies a manager's listing reads, and the CSV files they answer."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response
from litestar.datastructures.headers import MediaTypeHeader
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter

from app.accounts.actors import MANAGERS, Actor
from app.accounts.guards import STAFF_SECURITY, Caller, provide_agent
from app.accounts.models import Agent
from app.accounts.service import authorize, sites_in_view
from app.sites.models import Site
from app.web.context import Context

SiteQuery = Annotated[
    str | None,
    QueryParameter(max_length=40, description="One mairie (by default, all of the agent's)"),
]
FromDate = Annotated[date | None, QueryParameter(name="from", description="First day")]
ToDate = Annotated[date | None, QueryParameter(name="to", description="Last day")]
Limit = Annotated[int, QueryParameter(ge=1, le=500, description="At most this many")]
CsvFormat = Annotated[
    Literal["csv", "excel"] | None,
    QueryParameter(
        name="format", description="`excel`: for a spreadsheet set up in French (`;`, BOM)"
    ),
]


class StaffApi(Controller):
    """A controller of the staff API: its routes take an agent's token."""

    security = STAFF_SECURITY


class AdministrationApi(StaffApi):
    """A controller of the staff API's administration (accounts, partners, webhooks, the
    audit log)."""

    tags = ["administration"]


async def provide_manager(
    request: Request[Any, Any, Any], context: NamedDependency[Context]
) -> Agent:
    """The `agent` of the controllers whose every route is a manager's (`MANAGERS_FIRST`):
    401 without a valid token, then 403 for any other role, before any of the query is
    read (its days, its mairie, its `format`): a caller is told nothing about a query it
    may not make, not even that it is malformed."""
    agent = await provide_agent(request, context)
    authorize(Actor.of(agent), roles=MANAGERS)
    return agent


# The dependencies of such a controller: its routes' `agent` refuses other roles, and
# whatever reads the query comes after it.
MANAGERS_FIRST = {"agent": Provide(provide_manager)}


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


async def excel_wanted(
    request: Request[Any, Any, Any], agent: NamedDependency[Agent], flavour: CsvFormat = None
) -> bool:
    """Whether a CSV route answers in the spreadsheet flavour (a dependency, `excel`):
    `?format=excel`, or `Accept: application/vnd.ms-excel` from a program that asks for it
    (not with `q=0`, which says "not this one"); anything else gets the CSV for programs.

    After the `agent` (unused): a request without a valid token is told so (401) before
    anything about its format, and on the CSV routes, which only managers may use
    (`MANAGERS_FIRST`), one from another role is refused (403) before it too. And before
    what the route reads, not beside it: Litestar resolves the dependencies of one level
    together, and one that fails (a `format` unknown, 400) has anyio cancel the others,
    a reading one in the middle of its statement, whose connection SQLAlchemy then
    throws away. The figures and records come after the `caller`, one level further
    than this."""
    if flavour is not None:
        return flavour == "excel"
    return any(
        f"{kind.maintype}/{kind.subtype}".lower() == SPREADSHEET and _quality(kind) > 0
        for kind in map(MediaTypeHeader, request.headers.get("accept", "").split(","))
    )


SPREADSHEET = "application/vnd.ms-excel"


def _quality(kind: MediaTypeHeader) -> float:
    """The `q` of one media type of an `Accept` header; 1 when it says none, or says one
    that is no number. Read here, not by Litestar's `request.accept`, which fails (a 500)
    on a `q` such as `inf` and rounds `0.001` down to 0."""
    try:
        return float(kind.params.get("q", 1))
    except ValueError:
        return 1.0


def csv_attachment(body: str, filename: str) -> Response[str]:
    """`body`, a CSV file, to be saved as `filename`; caches keep one per `Accept`, which
    may choose its flavour (`excel_wanted`)."""
    return Response(
        body,
        media_type="text/csv",  # Litestar adds "; charset=utf-8" to text/*
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Vary": "Accept"},
    )
