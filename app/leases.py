"""Leases on the rows an instance sends: the messages of the outbox
(`app.notify.dispatcher`) and the webhook deliveries (`app.webhooks.deliver`).

Both kinds of row wait as `pending` until `send_after`, are `sending` while an instance
holds them until `claimed_until`, and count their `attempts`; the rules of taking,
giving up and recording live here once, so that the two senders cannot drift apart.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_

from app.notify.models import MessageStatus, OutboxMessage
from app.webhooks.models import DeliveryStatus, WebhookDelivery

# A row that can be claimed.
Leased = OutboxMessage | WebhookDelivery


def statuses(model: type[Leased]) -> type[MessageStatus] | type[DeliveryStatus]:
    """The statuses of `model`'s rows: each kind has its own, sharing `pending`, `sending`
    and `failed`."""
    return MessageStatus if model is OutboxMessage else DeliveryStatus


def due(model: type[Leased], now: datetime) -> ColumnElement[bool]:
    """The rows to claim at `now`: those whose time has come, and those whose holder's
    lease ran out (an instance that died, or was cut off, before recording a result)."""
    status = statuses(model)
    return or_(
        and_(model.status == status.PENDING, model.send_after <= now),
        and_(model.status == status.SENDING, model.claimed_until < now),
    )


def held_by(model: type[Leased], instance: str) -> ColumnElement[bool]:
    """The rows `instance` still holds: only these take its results, so a row another
    instance took over, or one dropped meanwhile, keeps what happened to it."""
    return and_(model.status == statuses(model).SENDING, model.claimed_by == instance)


def gave_up(row: Leased, attempts: int, log: logging.Logger, what: str) -> bool:
    """Whether `row` is given up: its lease ran out after its last allowed attempt, with no
    result ever recorded, so it fails for good rather than being claimed again. The log
    names it by `what` and its id only."""
    status = statuses(type(row))
    if row.status != status.SENDING or row.attempts < attempts:
        return False
    log.warning("%s %s given up: no result after %d attempts", what, row.id, row.attempts)
    end(row, status.FAILED, f"gave up: no result after {row.attempts} attempts")
    return True


def take(row: Leased, instance: str, until: datetime) -> None:
    """Claim `row` for `instance` until `until`, as one more attempt."""
    row.status = statuses(type(row)).SENDING
    row.claimed_by = instance
    row.claimed_until = until
    row.attempts += 1


def end(row: Leased, status: str, error: str) -> None:
    """Leave `row` with `status` for good, saying why, without a holder."""
    row.status = status
    row.claimed_until = None
    row.last_error = error


def result(status: str, error: str, retry_at: datetime | None) -> dict[str, object]:
    """What recording an attempt's result writes to its row: its status and why, no
    holder any more, and when it is tried again if it is."""
    values: dict[str, object] = {"status": status, "last_error": error, "claimed_until": None}
    if retry_at is not None:
        values["send_after"] = retry_at
    return values
