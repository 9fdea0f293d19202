"""The endpoints administrators register, and the deliveries to them: an outbox of its
own, each row the frozen bytes of one event for one endpoint."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JSONValue, UTCDateTime, one_of


class DeliveryStatus(StrEnum):
    """Where a delivery stands: waiting its time (first or next attempt), being sent,
    received (a 2xx), given up after its last attempt, or dropped with its endpoint."""

    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


# Not done yet: what deleting an endpoint stops.
UNDONE = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)


class WebhookEndpoint(Base):
    """An address told of the events it chose. Its secret signs each delivery, so it is
    kept sealed (`app.webhooks.sealing`: encrypted, since a digest could not sign); it is
    never shown after it is given, and it is wiped when the endpoint is deleted
    (`deleted_at`; deleted endpoints stay for the history of their deliveries)."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_deleted_at", "deleted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    sealed_secret: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(JSONValue, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class WebhookDelivery(Base):
    """One event for one endpoint: `body` is the exact bytes signed and sent on every
    attempt, `delivery_id` (in its `meta`) the same on each."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(one_of("status", DeliveryStatus), name="status"),
        Index("ix_webhook_deliveries_status_send_after", "status", "send_after"),
        Index("ix_webhook_deliveries_endpoint_id_status", "endpoint_id", "status"),
        Index("ix_webhook_deliveries_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(36), unique=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"))
    event: Mapped[str] = mapped_column(String(40))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    send_after: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str] = mapped_column(String(32), default="")
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_error: Mapped[str] = mapped_column(String(200), default="")
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # When an attempt was last refused (kept once it is delivered, for the endpoint's health).
    refused_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
