"""Tables of staff accounts: agents, their role and the sites they work at."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.actors import Role
from app.accounts.session_store import SessionColumns, owner_column
from app.db import Base, UTCDateTime, utcnow
from app.sites.models import Site, sites_table

ROLES = tuple(role.value for role in Role)

agent_sites = sites_table("agent_sites", "agent_id", "agents")


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
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Wrong passwords since the last good one, from any address (for managers to see).
    # `locked_until` is no longer set: failures slow down the address that makes them
    # (see `LoginThrottle`) and never lock the account for everyone.
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Tokens and sessions issued before this instant (a password reset, a role or site
    # change) are no longer accepted.
    tokens_valid_after: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    sites: Mapped[list[Site]] = relationship(secondary=agent_sites, order_by=Site.slug)

    @property
    def site_slugs(self) -> list[str]:
        return [site.slug for site in self.sites]

    def works_at(self, site_id: int) -> bool:
        return self.role == Role.ADMIN or any(site.id == site_id for site in self.sites)


class SessionRow(SessionColumns, Base):
    """A console session, kept on the server so that logging out, a password change or a
    deactivation ends it at once. Found by the SHA-256 of the random id the cookie holds:
    the id itself is never stored."""

    __tablename__ = "staff_sessions"

    agent_id: Mapped[int] = owner_column("agents")


class LoginThrottle(Base):
    """Wrong passwords counted for one key: an (account, address) pair or an address.
    Keys are keyed digests, so the table holds no email typed and no address; `agent_id`
    (on the pairs of an existing account) lets a manager's unlock clear them all."""

    __tablename__ = "login_throttles"
    __table_args__ = (Index("ix_login_throttles_last_failure_at", "last_failure_at"),)

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), index=True, default=None
    )
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
