"""Tables of staff accounts: agents, their role and the sites they work at."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Column, ForeignKey, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, utcnow
from app.sites.models import Site

ROLES = ("reception", "facilitator", "manager", "admin")

agent_sites = Table(
    "agent_sites",
    Base.metadata,
    Column("agent_id", ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Agent(Base):
    """A member of staff. An admin works for every site; the others for theirs."""

    __tablename__ = "agents"
    __table_args__ = (
        CheckConstraint("role IN ('reception', 'facilitator', 'manager', 'admin')", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Wrong passwords since the last good one; from LOCK_AFTER on, the account is locked
    # until `locked_until`, for a delay that doubles with each further failure.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Tokens and sessions issued before this instant (a password reset, a role or site
    # change) are no longer accepted.
    tokens_valid_after: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    sites: Mapped[list[Site]] = relationship(secondary=agent_sites, order_by=Site.slug)

    @property
    def site_slugs(self) -> list[str]:
        return [site.slug for site in self.sites]

    def works_at(self, site_id: int) -> bool:
        return self.role == "admin" or any(site.id == site_id for site in self.sites)
