"""The tables of earlier slots: who waits for one (`Wish`), the slots held for them
(`Offer`), the marks each offer leaves on its person (`OfferMark`), and the days where
something freed a slot (`FreedDay`), for the offer engine.

The caps on offers hold in the data, whatever runs the engine and however often. A person
is known by their email and by their phone, as the booking limits know them: an offer
leaves a mark on each (a digest, not the address), and each mark takes one of three
numbered places of that key's day (a unique constraint), its hour (`made_at` to
`quiet_until`) overlapping no other mark of the key (an exclusion constraint on
PostgreSQL, a trigger on SQLite). Marks are kept two days, then deleted."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    DDL,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.booking.models import station_held_once
from app.db import Base, UTCDateTime, one_of, utcnow

OFFERS_PER_DAY = 3


class WishEnd(StrEnum):
    """Why a person waits no more for an earlier slot."""

    STOPPED = "stopped"  # they said so (their page, the API, the stop link)
    TAKEN = "taken"  # they took an offered slot
    GONE = "gone"  # their appointment was cancelled, called off or has passed


class OfferStatus(StrEnum):
    HELD = "held"  # kept for its person until `expires_at`
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"  # their appointment changed or went before they answered


class Wish(Base):
    """A person with an appointment asks for an earlier one (before `before`, if given).
    One per appointment; ended, it stays for the figures."""

    __tablename__ = "wishes"
    __table_args__ = (
        CheckConstraint(one_of("ended_why", WishEnd), name="ended_why"),
        Index("ix_wishes_site_id_ended_at", "site_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), unique=True
    )
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    before: Mapped[date | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    ended_why: Mapped[str | None] = mapped_column(String(16), default=None)


class Offer(Base):
    """A freed slot held for one waiting person until `expires_at`."""

    __tablename__ = "offers"
    __table_args__ = (
        CheckConstraint("starts_at < ends_at", name="range"),
        CheckConstraint("made_at < expires_at AND expires_at <= starts_at", name="hold"),
        CheckConstraint(one_of("status", OfferStatus), name="status"),
        Index("ix_offers_site_id_status", "site_id", "status"),
        Index("ix_offers_appointment_id", "appointment_id"),
        Index("ix_offers_wish_id_starts_at", "wish_id", "starts_at"),
        # One slot held for one person at a time; one offer held per wish.
        Index(
            "ix_offers_held_wish",
            "wish_id",
            unique=True,
            sqlite_where=text("status = 'held'"),
            postgresql_where=text("status = 'held'"),
        ),
        station_held_once("held_once", "status = 'held'"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    wish_id: Mapped[int] = mapped_column(ForeignKey("wishes.id", ondelete="CASCADE"))
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    day: Mapped[date] = mapped_column()  # the local day it was made
    made_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default=OfferStatus.HELD)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class OfferMark(Base):
    """An offer counted against one of its person's keys (`rules.person_keys`)."""

    __tablename__ = "offer_marks"
    __table_args__ = (
        CheckConstraint("made_at < quiet_until", name="quiet"),
        CheckConstraint(f"day_rank BETWEEN 1 AND {OFFERS_PER_DAY}", name="day_rank"),
        # At most three offers a day to one person, whatever runs the engine.
        UniqueConstraint("person", "day", "day_rank"),
        Index("ix_offer_marks_person_made_at", "person", "made_at"),
        Index("ix_offer_marks_offer_id", "offer_id"),
        # Never two within the hour.
        ExcludeConstraint(
            ("person", "="),
            (text("tstzrange(made_at, quiet_until, '[)')"), "&&"),
            name="hour_cap",
            using="gist",
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id", ondelete="CASCADE"))
    person: Mapped[str] = mapped_column(String(64))  # a key's digest
    day: Mapped[date] = mapped_column()  # the local day the offer was made
    day_rank: Mapped[int] = mapped_column()
    made_at: Mapped[datetime] = mapped_column(UTCDateTime)
    quiet_until: Mapped[datetime] = mapped_column(UTCDateTime)  # no other offer before


class FreedDay(Base):
    """A day of a mairie where a slot may have freed up (a cancellation, a move, an offer
    that expired): the offer engine looks there for the people waiting, then deletes it."""

    __tablename__ = "freed_days"
    __table_args__ = (UniqueConstraint("site_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column()
    freed_at: Mapped[datetime] = mapped_column(UTCDateTime)


# SQLite has no exclusion constraint: a trigger refuses a mark whose hour overlaps
# another's of the same key (instants are stored as comparable text there).
HOUR_CAP_TRIGGER = """
CREATE TRIGGER offer_marks_hour_cap BEFORE INSERT ON offer_marks
WHEN EXISTS (
    SELECT 1 FROM offer_marks
    WHERE person = NEW.person
      AND made_at < NEW.quiet_until AND quiet_until > NEW.made_at
)
BEGIN
    SELECT RAISE(ABORT, 'hour_cap');
END
"""
event.listen(
    OfferMark.__table__,
    "after_create",
    DDL(HOUR_CAP_TRIGGER).execute_if(dialect="sqlite"),  # type: ignore[no-untyped-call]
)
