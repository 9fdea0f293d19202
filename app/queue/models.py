"""Tables of the queue: tickets, their history, the day's counters and each site's seq."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, JSONValue, UTCDateTime, digest_of_token_column, one_of
from app.sites.models import STATION_KINDS, Service, Site, Station


class TicketStatus(StrEnum):
    """Where a ticket stands. `remote`: taken from a phone, its holder not there yet (never
    called); `closed`: still waiting when the mairie closed, or a remote ticket whose
    holder never came."""

    REMOTE = "remote"
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    DONE = "done"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    CLOSED = "closed"


class Ticket(Base):
    """A place in a site's queue for one day."""

    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("site_id", "day", "number"),
        UniqueConstraint("appointment_id"),
        CheckConstraint(one_of("status", TicketStatus), name="status"),
        CheckConstraint(one_of("station_kind", STATION_KINDS), name="station_kind"),
        Index("ix_tickets_site_id_day_status", "site_id", "day", "status"),
        Index("ix_tickets_site_id_service_id_finished_at", "site_id", "service_id", "finished_at"),
        Index("ix_tickets_phone_status", "phone", "status"),
        Index("ix_tickets_client_network_day", "client_network", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    day: Mapped[date] = mapped_column()
    number: Mapped[str] = mapped_column(String(8))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    token_digest: Mapped[str] = mapped_column(
        String(64), unique=True, default=digest_of_token_column
    )
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    needs: Mapped[list[str]] = mapped_column(JSONValue, default=list)
    station_kind: Mapped[str] = mapped_column(String(16), default="standard")
    requires_accessible: Mapped[bool] = mapped_column(default=False)
    priority: Mapped[bool] = mapped_column(default=False)
    phone: Mapped[str | None] = mapped_column(String(20), default=None)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"), default=None)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # An appointment checked in after its tolerance: placed by the site's rule, served,
    # counted as came late (never as a no-show).
    late: Mapped[bool] = mapped_column(default=False, server_default=false())
    status: Mapped[str] = mapped_column(String(16), default=TicketStatus.WAITING)
    arrived_at: Mapped[datetime] = mapped_column(UTCDateTime)
    called_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    first_called_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    call_count: Mapped[int] = mapped_column(default=0)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"), default=None)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The language of the texts and emails to its holder (`app.i18n.LANGUAGES`): French
    # unless its holder took it, or booked the appointment it follows, in another.
    language: Mapped[str] = mapped_column(String(8), default="fr", server_default="fr")
    # A ticket taken from a phone (`app.queue.remote`): how long its holder said they need
    # to come, when its number was confirmed (the first text's link, or arriving), when it
    # was passed over because its holder was not there yet, when they were told to leave
    # home, and when they came (its `arrived_at` is its place in the queue).
    travel_minutes: Mapped[int | None] = mapped_column(default=None)
    # Who took it from a phone (`app.throttle.client_network`), for the cap.
    client_network: Mapped[str | None] = mapped_column(String(64), default=None)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    leave_told_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    came_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Wrong arrival codes given for it: past a few, only reception checks its holder in.
    arrival_misses: Mapped[int] = mapped_column(default=0, server_default="0")

    service: Mapped[Service] = relationship()
    station: Mapped[Station | None] = relationship()
    # Loaded only where asked (`queries.locked` and `queries.reload`, which give a ticket
    # its site, as `queries.shown` does to a new one; `queries.site_of_ticket` reads it);
    # reading it elsewhere is an error. Not named `site`: code that takes an appointment
    # or a ticket looks for an appointment's `site`.
    site_row: Mapped[Site] = relationship(lazy="raise", viewonly=True)


class TicketEvent(Base):
    """Who changed a ticket, how, when, and the site's seq that change took."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_site_id_seq", "site_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(20))
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), default=None
    )
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"), default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Why staff did what the rules would refuse (a ticket issued while the mairie is closed).
    reason: Mapped[str | None] = mapped_column(String(200), default=None)


class QueueCounter(Base):
    """The last number issued in a queue group, per site and local day."""

    __tablename__ = "queue_counters"

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    letter: Mapped[str] = mapped_column(String(1), primary_key=True)
    last: Mapped[int] = mapped_column()


class QueueState(Base):
    """Each site's queue seq: one more for every change, so that screens see gaps."""

    __tablename__ = "queue_states"

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)


class ReceivedText(Base):
    """A text the SMS gateway forwarded, by the gateway's id, so that a replayed or
    re-sent one is taken once; forgotten a day later (the webhook refuses texts older
    than a few minutes anyway)."""

    __tablename__ = "received_texts"

    message_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
