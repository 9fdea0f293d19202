"""The appointments table, and the free time it leaves at each station (derived data)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, JSONValue, UTCDateTime, digest_of_token_column, one_of, utcnow
from app.partners.models import Partner
from app.residents.models import Resident
from app.sites.models import Service, Site, Station


class AppointmentStatus(StrEnum):
    """Where an appointment stands. `cancelled`: by the person (or their booking released by
    a manager); `called_off`: by the mairie (a closure, an outage, hours cut) when no other
    station could take it at the same time."""

    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    SERVED = "served"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    CALLED_OFF = "called_off"


# Statuses of an appointment that no longer holds its station.
RELEASED = (AppointmentStatus.CANCELLED, AppointmentStatus.CALLED_OFF)
# "partner": booked by a partner (a CCAS, a France Services…) for a person it refers.
CHANNELS = ("online", "phone", "counter", "partner")


def station_held_once(name: str, holding: str) -> ExcludeConstraint:
    """On PostgreSQL, the exclusion constraint `name`: no two rows of the table that hold
    their station (`holding`, an SQL condition) hold it at overlapping times, from
    `starts_at` to `ends_at`, the end excluded (one may start when another ends).
    Appointments keep it, and so do the slots held for an offer."""
    return ExcludeConstraint(
        ("station_id", "="),
        (text("tstzrange(starts_at, ends_at, '[)')"), "&&"),
        name=name,
        using="gist",
        where=text(holding),
    ).ddl_if(dialect="postgresql")


class Appointment(Base):
    """One station held for one person over an interval.

    On PostgreSQL an exclusion constraint forbids two appointments that are neither
    cancelled nor called off from holding one station at overlapping times.
    """

    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint("starts_at < ends_at", name="range"),
        CheckConstraint(one_of("status", AppointmentStatus), name="status"),
        CheckConstraint(one_of("channel", CHANNELS), name="channel"),
        CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name="contact"),
        Index("ix_appointments_site_id_starts_at", "site_id", "starts_at"),
        Index("ix_appointments_station_id_starts_at", "station_id", "starts_at"),
        Index("ix_appointments_email", "email"),
        Index("ix_appointments_phone", "phone"),
        Index("ix_appointments_email_key", "email_key"),
        Index("ix_appointments_client_network_starts_at", "client_network", "starts_at"),
        Index("ix_appointments_created_at", "created_at"),
        Index("ix_appointments_partner_id_starts_at", "partner_id", "starts_at"),
        Index("ix_appointments_resident_id_starts_at", "resident_id", "starts_at"),
        station_held_once("no_overlap", "status NOT IN ('cancelled', 'called_off')"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    token_digest: Mapped[str] = mapped_column(
        String(64), unique=True, default=digest_of_token_column
    )
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default=AppointmentStatus.BOOKED)
    channel: Mapped[str] = mapped_column(String(16), default="online")
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    phone: Mapped[str | None] = mapped_column(String(20), default=None)
    # The email as compared (`app.booking.contacts.email_key`), for the per-person limit.
    email_key: Mapped[str | None] = mapped_column(String(254), default=None)
    # Who booked online (`throttle.client_network`), for the per-address cap; none for staff.
    client_network: Mapped[str | None] = mapped_column(String(64), default=None)
    needs: Mapped[list[str]] = mapped_column(JSONValue, default=list)
    reminders_by_email: Mapped[bool] = mapped_column(default=False)
    reminders_by_sms: Mapped[bool] = mapped_column(default=False)
    sequence: Mapped[int] = mapped_column(default=0)
    booked_by_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), default=None
    )
    # The partner who referred the person and booked for them (`channel` "partner").
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey(Partner.id, ondelete="SET NULL"), default=None
    )
    # The resident signed in when it was booked (app/residents/): it shows in their space.
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey(Resident.id, ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When it was cancelled, or called off by the mairie.
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # The appointment the person took instead of this one, called off, from its private page.
    rebooked_as_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL"), default=None
    )
    # The language its messages and calendar file are written in: the one of the page it
    # was booked on, French when an agent booked it (`app.i18n.LANGUAGES`).
    language: Mapped[str] = mapped_column(String(8), default="fr", server_default="fr")

    site: Mapped[Site] = relationship()
    station: Mapped[Station] = relationship()
    service: Mapped[Service] = relationship()


class FreeTime(Base):
    """What one station of a site leaves free on one local day, for the search of the first
    free slot across sites (`app/booking/free_time.py`): open minutes (its site's hours,
    less its outages), minutes of the appointments starting that day, the longest free
    run, and when the last free run ends. Derived from the hours, closures, outages and
    appointments in the transaction that changes any of them; `guichet db
    check-free-time` rebuilds and compares."""

    __tablename__ = "free_time"
    __table_args__ = (Index("ix_free_time_site_id_day", "site_id", "day"),)

    station_id: Mapped[int] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    open_minutes: Mapped[int] = mapped_column()
    booked_minutes: Mapped[int] = mapped_column()
    longest_minutes: Mapped[int] = mapped_column()
    free_until_minutes: Mapped[int] = mapped_column()


class FreeTimeWindow(Base):
    """The days of a site that `free_time` covers, both included: a day outside them is
    looked at the slow way, all its bookings read."""

    __tablename__ = "free_time_windows"

    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    first: Mapped[date] = mapped_column()
    last: Mapped[date] = mapped_column()
