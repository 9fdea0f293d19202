"""Tables of the partners who refer people: their accounts, the mairies their key books
at, and the sessions of their page."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime
from app.sites.models import Site

partner_sites = Table(
    "partner_sites",
    Base.metadata,
    Column("partner_id", ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True, index=True),
)


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


class PartnerSession(Base):
    """A session of the partners' page, opened with the key: found by the SHA-256 of the
    random id its cookie holds (the id itself is never stored); it ends at logout, when the
    key is revoked, when idle too long or too old."""

    __tablename__ = "partner_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), index=True
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
