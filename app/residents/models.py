"""Tables of the residents who sign in with the City's OpenID Connect provider: who they
are at that provider, and their sessions here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String, Text, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column

from app.accounts.session_store import SessionColumns, owner_column
from app.db import Base, UTCDateTime, utcnow


class Resident(Base):
    """A person known by their provider (`issuer`) and their identifier there (`subject`),
    with what the provider says of them at their last sign-in: contact details and whether
    the provider verified them."""

    __tablename__ = "residents"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    phone: Mapped[str | None] = mapped_column(String(32), default=None)
    phone_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str] = mapped_column(String(120), default="")
    # The contact details the resident saved in their space, to fill in their bookings
    # (none saved: the provider's); checked as a booking's are (`contacts.contact`).
    contact_name: Mapped[str | None] = mapped_column(String(120), default=None)
    contact_email: Mapped[str | None] = mapped_column(String(254), default=None)
    contact_phone: Mapped[str | None] = mapped_column(String(20), default=None)
    # How their new bookings remind them, until they choose otherwise on the booking's
    # summary.
    reminders_by_email: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    reminders_by_sms: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ResidentSession(SessionColumns, Base):
    """A resident's session, kept on the server so that signing out ends it at once. Found
    by the SHA-256 of the random id the cookie holds: the id itself is never stored."""

    __tablename__ = "resident_sessions"

    resident_id: Mapped[int] = owner_column("residents")
    # The ID token of the sign-in, for the provider's logout (`id_token_hint`): it goes
    # with the session.
    id_token: Mapped[str | None] = mapped_column(Text, default=None)
