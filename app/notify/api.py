"""Managers' view of the outbox: messages given up on, and a way to try them again."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter
from sqlalchemy import select

from app.accounts.guards import Caller
from app.db import writing
from app.errors import NotFound
from app.notify.models import MessageStatus, OutboxMessage
from app.shapes import from_model
from app.web.api import Limit, SiteQuery, StaffApi, managed_site, managed_sites

Status = Literal["pending", "sending", "sent", "failed", "cancelled"]


class OutboxOut(msgspec.Struct, kw_only=True):
    id: int
    site: str
    kind: str
    channel: str
    status: str
    attempts: int
    last_error: str
    recipient: str
    send_after: datetime
    created_at: datetime
    sent_at: datetime | None


def masked(recipient: str) -> str:
    """Enough to recognise an address or a number, not to use it."""
    if "@" in recipient:
        name, _, domain = recipient.partition("@")
        return f"{name[:1]}***@{domain}"
    return f"{recipient[:4]}******{recipient[-2:]}" if len(recipient) > 6 else "***"


def retriable(message: OutboxMessage) -> bool:
    """Whether a message may be tried again: one given up on whose content is still there.
    A cancelled one was dropped on purpose (no longer true, erased on request), and one
    whose content was purged has nothing left to say; both are answered as they are."""
    return message.status == MessageStatus.FAILED and message.purged_at is None


def outbox_out(message: OutboxMessage, slug: str) -> OutboxOut:
    return from_model(message, OutboxOut, site=slug, recipient=masked(message.recipient))


class OutboxController(StaffApi):
    path = "/api/v1/admin/outbox"
    tags = ["admin"]

    @get("/", summary="Messages of the outbox, by status (failed: given up on)")
    async def list_messages(
        self,
        caller: NamedDependency[Caller],
        status: Annotated[Status, QueryParameter()] = "failed",
        site: SiteQuery = None,
        limit: Limit = 100,
    ) -> list[OutboxOut]:
        sites = await managed_sites(caller, site)
        messages = await caller.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == status, OutboxMessage.site_id.in_(sites))
            .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
            .limit(limit)
        )
        return [outbox_out(message, sites[message.site_id].slug) for message in messages]

    @post("/{message_id:int}/retry", status_code=200, summary="Try a message again")
    async def retry(
        self,
        message_id: Annotated[int, PathParameter(ge=1, le=2**31 - 1)],
        caller: NamedDependency[Caller],
    ) -> OutboxOut:
        async with writing(caller.session) as session:
            # Under the row's lock: a retry sent twice at once (a double click, two
            # managers) waits for the first, then finds the message no longer failed,
            # where both would set it pending, the second after a dispatcher had claimed
            # (or sent) it, and it would go out twice.
            message = await session.get(
                OutboxMessage, message_id, with_for_update=True, populate_existing=True
            )
            if message is None:
                raise NotFound(f"No message has the id {message_id}.")
            site = await managed_site(caller, message.site_id)
            if retriable(message):
                message.status = MessageStatus.PENDING
                message.attempts = 0
                message.last_error = ""
                message.send_after = caller.now
            return outbox_out(message, site.slug)
