"""The audit log's table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JSONValue, UTCDateTime


class AuditEvent(Base):
    """One staff action that changed something, or one login attempt.

    It names the agent, the site and the thing acted on by their ids or readable
    references (`ticket:A042`, `appointment:PC-7KQ2M9`, `station:12`), never an
    usager's name, email or phone; `details` holds only such ids and settings.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_site_id_at", "site_id", "at"),
        Index("ix_audit_events_agent_id_at", "agent_id", "at"),
        Index("ix_audit_events_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), default=None
    )
    site_id: Mapped[int | None] = mapped_column(
        ForeignKey("sites.id", ondelete="SET NULL"), default=None
    )
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(80), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSONValue, default=dict)
    address: Mapped[str] = mapped_column(String(45), default="")
    request_id: Mapped[str] = mapped_column(String(64), default="")
