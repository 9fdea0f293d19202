"""Tables of the partners who refer people: their accounts, the mairies their key books
at, and the sessions of their page."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.session_store import SessionColumns, owner_column
from app.db import Base, UTCDateTime
from app.sites.models import Site, sites_table

partner_sites = sites_table("partner_sites", "partner_id", "partners")


class Partner(Base):
    """A CCAS, a France Services, an association: it books for the people it refers, at
    its mairies, with its key. The key is kept as `key_digest` only (`app.partners.rules`),
    found by its public `key_lookup`; a revoked partner keeps its row, for the record and
    the figures."""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254))
    key_lookup: Mapped[str] = mapped_column(String(16), unique=True)
    key_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    sites: Mapped[list[Site]] = relationship(secondary=partner_sites, order_by=Site.slug)

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def site_slugs(self) -> list[str]:
        return [site.slug for site in self.sites]


class PartnerSession(SessionColumns, Base):
    """A session of the partners' page, opened with the key: found by the SHA-256 of the
    random id its cookie holds (the id itself is never stored); it ends at logout, when the
    key is revoked, when idle too long or too old."""

    __tablename__ = "partner_sessions"

    partner_id: Mapped[int] = owner_column("partners")
