"""Lobby screens paired by a manager, and how many of them each instance holds for each
site, reported every few seconds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime


class Screen(Base):
    """A lobby screen a manager paired with a site. Its key is in the screen's address and
    is kept here only as a digest; a revoked screen keeps its row, for the record."""

    __tablename__ = "screens"
    __table_args__ = (Index("ix_screens_site_id_revoked_at", "site_id", "revoked_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(60))
    key_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class ScreenPresence(Base):
    """How many paired screens `instance` holds for a site; unpaired displays are not
    counted."""

    __tablename__ = "screen_presence"

    instance: Mapped[str] = mapped_column(String(32), primary_key=True)
    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    screens: Mapped[int] = mapped_column(Integer)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
