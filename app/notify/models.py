"""The outbox, the answers to follow-up questions, and the record of periodic sweeps."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JSONValue, UTCDateTime, one_of


class MessageStatus(StrEnum):
    """Where an outbox message stands: waiting its time, being sent, sent, given up, dropped."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class OutboxMessage(Base):
    """One message to one usager, written in the same transaction as its cause."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(one_of("status", MessageStatus), name="status"),
        CheckConstraint("channel IN ('email', 'sms')", name="channel"),
        Index("ix_outbox_status_send_after", "status", "send_after"),
        Index("ix_outbox_appointment_id", "appointment_id"),
        Index("ix_outbox_ticket_id", "ticket_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"), default=None)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), default=None)
    kind: Mapped[str] = mapped_column(String(30))
    channel: Mapped[str] = mapped_column(String(10))
    recipient: Mapped[str] = mapped_column(String(254))
    data: Mapped[dict[str, Any]] = mapped_column(JSONValue, default=dict)
    send_after: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default=MessageStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(String(200), default="")
    claimed_by: Mapped[str] = mapped_column(String(32), default="")
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class SweepRun(Base):
    """That a periodic sweep ran for a period: the first instance to insert it runs it."""

    __tablename__ = "sweep_runs"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    period: Mapped[str] = mapped_column(String(20), primary_key=True)
    instance: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
