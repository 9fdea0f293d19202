"""Administrators register webhook endpoints, list them with how their deliveries go, read
an endpoint's deliveries and delete endpoints. Each change is written with its audit
event in one transaction; deleting an endpoint stops its pending deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import msgspec
from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import events
from app.accounts.actors import Actor
from app.db import writing
from app.errors import BadRequest, Conflict, NotFound
from app.webhooks import rules, sealing
from app.webhooks.models import UNDONE, DeliveryStatus, WebhookDelivery, WebhookEndpoint
from app.webhooks.rules import EVENTS, MAX_SECRET, MAX_URL, MIN_SECRET, SECRET_PATTERN, EventName

ADMINISTRATORS: frozenset[str] = frozenset()  # an administrator may do anything, nobody else
MAX_ENDPOINTS = 50
MAX_LISTED_DELIVERIES = 500


class WebhookIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=MAX_URL,
            description="Where deliveries are POSTed: https (http only to a local receiver)",
            examples=["https://partenaire.example.org/guichet/webhooks"],
        ),
    ]
    secret: Annotated[
        str,
        msgspec.Meta(
            min_length=MIN_SECRET,
            max_length=MAX_SECRET,
            pattern=SECRET_PATTERN,
            description="Signs every delivery (X-Guichet-Signature): visible ASCII, at least "
            f"{MIN_SECRET} characters. Never shown again.",
        ),
    ]
    events: Annotated[
        list[EventName],
        msgspec.Meta(min_length=1, max_length=len(EVENTS), description="The events to receive"),
    ]


@dataclass
class Health:
    """How an endpoint's deliveries go: its last one received, its last refused attempt,
    how many wait (first attempt or next), how many of those were refused already, and
    how many were given up."""

    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    pending: int = 0
    retrying: int = 0
    failed: int = 0

    def count(
        self,
        status: str,
        count: int,
        delivered: datetime | None,
        refused: datetime | None,
        retried: int,
    ) -> None:
        """Add the deliveries of one status."""
        self.last_success_at = latest(self.last_success_at, delivered)
        self.last_failure_at = latest(self.last_failure_at, refused)
        if status in UNDONE:
            self.pending += count
            self.retrying += retried
        elif status == DeliveryStatus.FAILED:
            self.failed += count


def latest(one: datetime | None, other: datetime | None) -> datetime | None:
    return max(one, other) if one is not None and other is not None else one or other


def bad(field: str, detail: str) -> BadRequest:
    return BadRequest(detail, code="invalid", extra={"errors": [{"key": field, "message": detail}]})


async def endpoints_of(session: AsyncSession, actor: Actor) -> list[WebhookEndpoint]:
    """The endpoints not deleted, oldest first."""
    actor.authorize(roles=ADMINISTRATORS)
    query = select(WebhookEndpoint).where(WebhookEndpoint.deleted_at.is_(None))
    return list(await session.scalars(query.order_by(WebhookEndpoint.id)))


async def health_of(session: AsyncSession, endpoint_ids: Sequence[int]) -> dict[int, Health]:
    """Each endpoint's `Health`, read in one query."""
    if not endpoint_ids:
        return {}
    retried = case((WebhookDelivery.attempts > 0, 1), else_=0)
    rows = await session.execute(
        select(
            WebhookDelivery.endpoint_id,
            WebhookDelivery.status,
            func.count(),
            func.max(WebhookDelivery.delivered_at),
            func.max(WebhookDelivery.refused_at),
            func.sum(retried),
        )
        .where(WebhookDelivery.endpoint_id.in_(endpoint_ids))
        .group_by(WebhookDelivery.endpoint_id, WebhookDelivery.status)
    )
    found: dict[int, Health] = {}
    for endpoint_id, status, count, delivered, refused, retried in rows:
        health = found.setdefault(endpoint_id, Health())
        health.count(status, int(count), delivered, refused, int(retried or 0))
    return found


async def _audit(
    session: AsyncSession,
    actor: Actor,
    now: datetime,
    action: str,
    endpoint: WebhookEndpoint,
    **details: object,
) -> None:
    """The audit line of `action` done to `endpoint`, named by its host and its id."""
    target = f"webhook:{rules.host_of(endpoint.url)}"
    await events.administered(
        session, actor.agent_id, now, action, target, id=endpoint.id, **details
    )


async def create(
    session: AsyncSession,
    data: WebhookIn,
    *,
    actor: Actor,
    now: datetime,
    production: bool,
    service_key: str,
) -> WebhookEndpoint:
    """A new endpoint, told from now on of the events it chose; its secret kept sealed
    with the service's key."""
    actor.authorize(roles=ADMINISTRATORS)
    problem = rules.url_problem(data.url, production=production)
    if problem is not None:
        raise bad("url", problem)
    if data.secret != data.secret.strip():  # a pasted line's end would sign every body wrong
        raise bad("secret", "The secret must not begin or end with a space or a line break.")
    chosen = [name for name in EVENTS if name in data.events]  # in the catalog's order, once
    async with writing(session):
        active = await session.scalar(
            select(func.count(WebhookEndpoint.id)).where(WebhookEndpoint.deleted_at.is_(None))
        )
        if (active or 0) >= MAX_ENDPOINTS:
            raise Conflict(
                f"There are already {MAX_ENDPOINTS} webhook endpoints: delete one first.",
                code="too_many_webhooks",
            )
        endpoint = WebhookEndpoint(
            url=data.url,
            sealed_secret=sealing.seal(service_key, data.secret),
            events=chosen,
            created_at=now,
        )
        session.add(endpoint)
        await session.flush()
        await _audit(session, actor, now, "webhook.created", endpoint, events=chosen)
        return endpoint


async def endpoint_of(session: AsyncSession, actor: Actor, endpoint_id: int) -> WebhookEndpoint:
    actor.authorize(roles=ADMINISTRATORS)
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.deleted_at is not None:
        raise NotFound(f"No webhook endpoint has the id {endpoint_id}.")
    return endpoint


async def delete(session: AsyncSession, actor: Actor, endpoint_id: int, *, now: datetime) -> None:
    """The endpoint is told of nothing more: its pending deliveries are dropped and its
    secret is wiped. 404 for one deleted already."""
    actor.authorize(roles=ADMINISTRATORS)
    async with writing(session):
        endpoint = await session.get(WebhookEndpoint, endpoint_id, with_for_update=True)
        if endpoint is None or endpoint.deleted_at is not None:
            raise NotFound(f"No webhook endpoint has the id {endpoint_id}.")
        endpoint.deleted_at = now
        endpoint.sealed_secret = ""
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status.in_(UNDONE))
            .values(status=DeliveryStatus.CANCELLED, claimed_until=None, last_error="deleted")
        )
        await _audit(session, actor, now, "webhook.deleted", endpoint)


async def deliveries_of(
    session: AsyncSession,
    actor: Actor,
    endpoint_id: int,
    *,
    status: str | None = None,
    limit: int = 100,
) -> list[WebhookDelivery]:
    """An endpoint's latest deliveries, newest first, of one `status` if given."""
    await endpoint_of(session, actor, endpoint_id)
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    query = query.order_by(WebhookDelivery.id.desc()).limit(min(limit, MAX_LISTED_DELIVERIES))
    return list(await session.scalars(query))
