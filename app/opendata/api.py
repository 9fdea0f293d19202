"""The national *lieux de médiation numérique* files, CSV and JSON, read by the national
map and data·inclusion, and data·inclusion's own structures and services: anyone may fetch
them, and caches may keep them."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.audit.models import AuditEvent
from app.opendata import inclusion, places
from app.shapes import from_model
from app.sites.models import Site
from app.sites.service import list_services, local_today, site_calendar
from app.web.context import Context

CSV_MEDIA_TYPE = "text/csv"
JSON_MEDIA_TYPE = "application/json"
# The files change when a manager changes hours or stations: a quarter of an hour late at
# most, and a client that asks again with the ETag gets a 304 while nothing changed.
CACHE_CONTROL = "public, max-age=900"


async def read_mairies(context: Context) -> list[tuple[places.Mairie, date]]:
    """Each active mairie, in the order of the mairies, with its local day."""
    session = context.session
    sites = list(
        await session.scalars(
            select(Site).where(Site.active).options(selectinload(Site.stations)).order_by(Site.id)
        )
    )
    changed = await _last_changes(session, [site.id for site in sites])
    mairies = []
    for site in sites:
        today = local_today(site, context.now)
        last = today + timedelta(days=places.HORIZON_DAYS)
        calendar = await site_calendar(session, site, today, last)
        mairie = from_model(
            site,
            places.Mairie,
            walk_ins=site.walk_in_percent > 0,
            accessible=any(station.active and station.accessible for station in site.stations),
            updated=places.updated_on(changed.get(site.id), calendar),
            calendar=calendar,
        )
        mairies.append((mairie, today))
    return mairies


async def read_places(context: Context) -> list[dict[str, places.Value]]:
    """A row of the standard for each active mairie, in the order of the mairies."""
    services = places.services_of(service.code for service in await list_services(context.session))
    base_url = context.settings.base_url
    return [
        places.place(mairie, services, base_url, today)
        for mairie, today in await read_mairies(context)
    ]


async def read_structures(context: Context) -> list[dict[str, Any]]:
    """A data·inclusion structure for each active mairie, in the order of the mairies."""
    base_url = context.settings.base_url
    return [
        inclusion.structure(mairie, base_url, today)
        for mairie, today in await read_mairies(context)
    ]


async def read_services(context: Context) -> list[dict[str, Any]]:
    """A data·inclusion service for each active démarche of the catalog at each active
    mairie: by mairie, then in the catalog's order."""
    demarches = [
        inclusion.Demarche(item.code, item.name, item.description, item.documents)
        for item in await list_services(context.session)
    ]
    base_url = context.settings.base_url
    return [
        inclusion.service(mairie, demarche, base_url)
        for mairie, _ in await read_mairies(context)
        for demarche in demarches
    ]


async def _last_changes(session: AsyncSession, site_ids: list[int]) -> dict[int, datetime]:
    """When each site last had a change the rows tell (`places.PUBLISHED_CHANGES`)."""
    query = (
        select(AuditEvent.site_id, func.max(AuditEvent.at))
        .where(
            AuditEvent.site_id.in_(site_ids),
            AuditEvent.action.in_(places.PUBLISHED_CHANGES),
        )
        .group_by(AuditEvent.site_id)
    )
    return {site_id: at for site_id, at in await session.execute(query) if site_id}


def _cacheable(request: Request[Any, Any, Any], body: str, media_type: str) -> Response[str]:
    """The file with its ETag, or a 304 to a client that already holds it."""
    etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
    headers = {
        "ETag": etag,
        "Cache-Control": CACHE_CONTROL,
        "Access-Control-Allow-Origin": "*",
    }
    held = request.headers.get("if-none-match", "")
    if etag in {tag.strip().removeprefix("W/") for tag in held.split(",")} or held == "*":
        return Response("", status_code=304, headers=headers, media_type=media_type)
    return Response(body, headers=headers, media_type=media_type)


def _cacheable_json(request: Request[Any, Any, Any], rows: object) -> Response[str]:
    """`rows` as a compact JSON file, cacheable as `_cacheable` says."""
    body = json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
    return _cacheable(request, body, JSON_MEDIA_TYPE)


class OpenDataController(Controller):
    """Files described by their own schemas (the national standard's table schema,
    data·inclusion's models) rather than by the OpenAPI document (as `/metrics` is by
    Prometheus's format): they stay out of it."""

    path = "/open-data"
    include_in_schema = False

    @get("/lieux-mediation-numerique.csv", media_type=CSV_MEDIA_TYPE)
    async def places_csv(
        self, request: Request[Any, Any, Any], context: NamedDependency[Context]
    ) -> Response[str]:
        """One row per mairie, the standard's columns in its order, lists `|`-separated."""
        body = places.as_csv(await read_places(context))
        return _cacheable(request, body, CSV_MEDIA_TYPE)  # Litestar adds "; charset=utf-8"

    @get("/lieux-mediation-numerique.json", media_type=JSON_MEDIA_TYPE)
    async def places_json(
        self, request: Request[Any, Any, Any], context: NamedDependency[Context]
    ) -> Response[str]:
        """The same rows as a list of objects: the standard defines only the table, so each
        has the CSV's fields and values (lists `|`-separated), coordinates as numbers and
        null where nothing is known."""
        return _cacheable_json(request, await read_places(context))

    @get("/data-inclusion/structures.json", media_type=JSON_MEDIA_TYPE)
    async def inclusion_structures(
        self, request: Request[Any, Any, Any], context: NamedDependency[Context]
    ) -> Response[str]:
        """The mairies as data·inclusion structures (its schema v1): a list of objects,
        lists as arrays, null where nothing is known."""
        return _cacheable_json(request, await read_structures(context))

    @get("/data-inclusion/services.json", media_type=JSON_MEDIA_TYPE)
    async def inclusion_services(
        self, request: Request[Any, Any, Any], context: NamedDependency[Context]
    ) -> Response[str]:
        """The démarches of the catalog at each mairie as data·inclusion services, each
        with its structure's `id` in `structure_id`."""
        return _cacheable_json(request, await read_services(context))
