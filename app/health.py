"""Liveness and readiness probes for the load balancer."""

from __future__ import annotations

import asyncio
import logging

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec

from app.errors import RETRY_AFTER_OUTAGE_SECONDS, problem
from app.web.context import Context

log = logging.getLogger("guichet.health")
READY_TIMEOUT_SECONDS = 3.0


class Health(msgspec.Struct):
    status: str


class HealthController(Controller):
    path = "/health"
    tags = ["health"]
    include_in_schema = True

    @get("/live", summary="The process answers")
    async def live(self) -> Health:
        return Health(status="ok")

    @get(
        "/ready",
        summary="The process can serve: its database answers",
        responses={503: ResponseSpec(None, description="The database does not answer")},
    )
    async def ready(
        self, context: NamedDependency[Context]
    ) -> Response[Health] | Response[dict[str, object]]:
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                await context.db.ping()
        except Exception as exc:  # any failure of the database means "not ready"
            log.warning("not ready: database check failed (%s)", type(exc).__name__)
            return problem(
                503,
                "The database does not answer.",
                headers={"Retry-After": str(RETRY_AFTER_OUTAGE_SECONDS)},
            )
        return Response(Health(status="ok"))
