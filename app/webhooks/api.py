"""Administrators register webhook endpoints, list them with how their deliveries go, read
an endpoint's deliveries, and delete endpoints. A secret is never answered."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import msgspec
from litestar import delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter

from app.accounts.guards import Caller
from app.problems import problem_responses
from app.shapes import from_model
from app.web.api import AdministrationApi
from app.webhooks import commands
from app.webhooks.commands import Health, WebhookIn
from app.webhooks.models import UNDONE, WebhookDelivery, WebhookEndpoint

WebhookId = Annotated[
    int, PathParameter(ge=1, le=2**31 - 1, description="The webhook endpoint's id")
]
StatusFilter = Annotated[
    Literal["pending", "sending", "delivered", "failed", "cancelled"] | None,
    QueryParameter(description="Only the deliveries of this status"),
]
Limit = Annotated[
    int,
    QueryParameter(ge=1, le=commands.MAX_LISTED_DELIVERIES, description="How many, newest first"),
]


class WebhookOut(msgspec.Struct, kw_only=True):
    id: int
    url: str
    events: list[str]
    created_at: datetime


class WebhookListed(WebhookOut, kw_only=True):
    """An endpoint and how its deliveries go: the last one received, the last refused
    attempt, how many wait (`retrying`: refused at least once already) and how many
    were given up after their last attempt."""

    last_success_at: datetime | None
    last_failure_at: datetime | None
    pending: int
    retrying: int
    failed: int


class DeliveryOut(msgspec.Struct, kw_only=True):
    delivery_id: str
    event: str
    status: str
    attempts: int
    last_error: str
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None


def local(instant: datetime | None, zone: ZoneInfo) -> datetime | None:
    return instant.astimezone(zone) if instant is not None else None


def webhook_out(endpoint: WebhookEndpoint, zone: ZoneInfo) -> WebhookOut:
    return from_model(
        endpoint,
        WebhookOut,
        events=list(endpoint.events),
        created_at=endpoint.created_at.astimezone(zone),
    )


def webhook_listed(endpoint: WebhookEndpoint, health: Health, zone: ZoneInfo) -> WebhookListed:
    return WebhookListed(
        **msgspec.structs.asdict(webhook_out(endpoint, zone)),
        last_success_at=local(health.last_success_at, zone),
        last_failure_at=local(health.last_failure_at, zone),
        pending=health.pending,
        retrying=health.retrying,
        failed=health.failed,
    )


def delivery_out(delivery: WebhookDelivery, zone: ZoneInfo) -> DeliveryOut:
    waiting = delivery.status in UNDONE
    return from_model(
        delivery,
        DeliveryOut,
        created_at=delivery.created_at.astimezone(zone),
        last_attempt_at=local(delivery.last_attempt_at, zone),
        next_attempt_at=local(delivery.send_after, zone) if waiting else None,
        delivered_at=local(delivery.delivered_at, zone),
    )


class WebhooksAdminController(AdministrationApi):
    path = "/api/v1/admin/webhooks"

    @get("/", summary="The webhook endpoints, with how their deliveries go (administrator)")
    async def list_webhooks(self, caller: NamedDependency[Caller]) -> list[WebhookListed]:
        endpoints = await commands.endpoints_of(caller.session, caller.actor)
        health = await commands.health_of(caller.session, [e.id for e in endpoints])
        zone = caller.context.zone
        return [webhook_listed(e, health.get(e.id, Health()), zone) for e in endpoints]

    @post(
        "/",
        summary="Register a webhook endpoint (administrator)",
        description="Each event chosen is POSTed as JSON `{data, meta: {model, event, "
        "timestamp, delivery_id}}`, signed in `X-Guichet-Signature: sha256=<hex HMAC-SHA256 "
        "of the raw body with the secret>`. The secret is never shown again.",
        responses=problem_responses(409),
    )
    async def create_webhook(
        self, data: JSONBody[WebhookIn], caller: NamedDependency[Caller]
    ) -> WebhookOut:
        endpoint = await commands.create(
            caller.session,
            data,
            actor=caller.actor,
            now=caller.now,
            production=caller.settings.is_production,
            service_key=caller.settings.secret_key,
        )
        return webhook_out(endpoint, caller.context.zone)

    @get(
        "/{webhook_id:int}/deliveries",
        summary="An endpoint's latest deliveries, newest first (administrator)",
    )
    async def list_deliveries(
        self,
        webhook_id: WebhookId,
        caller: NamedDependency[Caller],
        status: StatusFilter = None,
        limit: Limit = 100,
    ) -> list[DeliveryOut]:
        found = await commands.deliveries_of(
            caller.session, caller.actor, webhook_id, status=status, limit=limit
        )
        return [delivery_out(delivery, caller.context.zone) for delivery in found]

    @delete(
        "/{webhook_id:int}",
        summary="Delete a webhook endpoint: nothing more is sent to it (administrator)",
    )
    async def delete_webhook(self, webhook_id: WebhookId, caller: NamedDependency[Caller]) -> None:
        await commands.delete(caller.session, caller.actor, webhook_id, now=caller.now)
