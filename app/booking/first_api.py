"""The first free slot in any mairie for a démarche, through the API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter

from app.booking.first import FirstSlot, Order, first_slots
from app.booking.throttling import search_budget
from app.errors import BadRequest
from app.problems import problem_responses
from app.web.context import Context

MAX_LIMIT = 100


class FirstSlotOut(msgspec.Struct, kw_only=True):
    """A mairie's first free slot, in its time zone; `distance_km` when `near` was given
    (and the mairie is placed on the map)."""

    site: str
    site_name: str
    start: datetime
    end: datetime
    distance_km: float | msgspec.UnsetType = msgspec.UNSET


class FirstSlotsOut(msgspec.Struct, kw_only=True):
    service: str
    slots: list[FirstSlotOut]


def first_slot_out(item: FirstSlot) -> FirstSlotOut:
    return FirstSlotOut(
        site=item.site.slug,
        site_name=item.site.name,
        start=item.local_start,
        end=item.local_end,
        distance_km=msgspec.UNSET if item.distance_km is None else item.distance_km,
    )


class FirstSlotController(Controller):
    path = "/api/v1"
    tags = ["booking"]

    @get(
        "/availability/first",
        summary="The first free slot at each mairie for a service",
        description="One slot per active mairie able to take the service with these needs, "
        "the earliest within its booking horizon, in time order; with `near` (a mairie's "
        "slug, an arrondissement or a postcode), each with `distance_km`, and "
        "`order=distance` puts the nearest first.",
        responses=problem_responses(404),
        guards=[search_budget],
    )
    async def first(
        self,
        context: NamedDependency[Context],
        service_code: Annotated[str, QueryParameter(name="service", min_length=1, max_length=40)],
        needs: Annotated[str, QueryParameter(max_length=400)] = "",
        near: Annotated[str, QueryParameter(max_length=60)] = "",
        limit: Annotated[int | None, QueryParameter(ge=1, le=MAX_LIMIT)] = None,
        order: FromQuery[Order] = "time",
    ) -> FirstSlotsOut:
        if order == "distance" and not near.strip():
            raise BadRequest("`order=distance` needs `near`.", code="near_missing")
        found = await first_slots(
            context.session,
            service_code,
            tuple(needs.split(",")),
            context.now,
            near=near,
            order=order,
            limit=limit,
        )
        return FirstSlotsOut(service=service_code, slots=[first_slot_out(item) for item in found])
