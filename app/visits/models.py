"""Tables of visits: what happened at the station, and requests sent on to expert
departments, with their history."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, JSONValue, UTCDateTime, one_of
from app.visits.activity_rules import (
    AGE_BANDS,
    AUTONOMY,
    MAX_MINUTES,
    REFERRALS,
    SOCIAL_STATUSES,
)

OUTCOMES = ("solved", "alone", "escalated", "unhelped", "unrecorded")
CHANNELS = ("online", "phone", "counter", "walk_in", "partner")


class EscalationStatus(StrEnum):
    """Where a request sent on to an expert department stands, from received to closed."""

    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    CLOSED = "closed"


ESCALATION_STATUSES = tuple(EscalationStatus)


class Visit(Base):
    """What a facilitator recorded when a ticket was finished."""

    __tablename__ = "visits"
    __table_args__ = (
        CheckConstraint(one_of("outcome", OUTCOMES), name="outcome"),
        CheckConstraint(one_of("channel", CHANNELS), name="channel"),
        Index("ix_visits_site_id_day", "site_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    day: Mapped[date] = mapped_column()
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"), default=None)
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), default=None
    )
    channel: Mapped[str] = mapped_column(String(16))
    services: Mapped[list[str]] = mapped_column(JSONValue, default=list)
    outcome: Mapped[str] = mapped_column(String(16), default="unrecorded")
    note: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Activity(Base):
    """What La Coop de la médiation numérique records of a finished visit (its activity
    record): the themes, the length, the equipment, how autonomous the person was, where
    they were referred, whether the help was given under an Aidants Connect mandate (never
    the mandate), and an anonymous age band and social status. No personal data: it stays
    when the person's data is erased."""

    __tablename__ = "activities"
    __table_args__ = (
        CheckConstraint(f"minutes BETWEEN 1 AND {MAX_MINUTES}", name="minutes"),
        CheckConstraint(one_of("autonomy", AUTONOMY), name="autonomy"),
        CheckConstraint(one_of("referral", REFERRALS), name="referral"),
        CheckConstraint(one_of("age_band", AGE_BANDS), name="age_band"),
        CheckConstraint(one_of("social_status", SOCIAL_STATUSES), name="social_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), unique=True)
    themes: Mapped[list[str]] = mapped_column(JSONValue)
    minutes: Mapped[int] = mapped_column()
    equipment: Mapped[list[str]] = mapped_column(JSONValue)
    autonomy: Mapped[str] = mapped_column(String(32))
    referral: Mapped[str | None] = mapped_column(String(40), default=None)
    aidants_connect: Mapped[bool] = mapped_column(default=False)
    age_band: Mapped[str] = mapped_column(String(32))
    social_status: Mapped[str] = mapped_column(String(16))


class Department(Base):
    """An expert department requests are sent on to (CAF, housing, taxes…).

    With an `email`, each request sent on to it is emailed there with a private link to a
    page where the department answers and moves the request forward. With a `partner_id`,
    it is a partner's account (a CCAS, a France Services): its requests are also listed on
    the partner's page, where the partner moves them forward the same way.
    """

    __tablename__ = "departments"
    __table_args__ = (CheckConstraint("answer_days BETWEEN 1 AND 365", name="answer_days"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    answer_days: Mapped[int] = mapped_column(default=15, server_default="15")
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partners.id", ondelete="SET NULL"), default=None, index=True
    )


class Escalation(Base):
    """A request sent on to an expert department after a visit, followed to its answer."""

    __tablename__ = "escalations"
    __table_args__ = (
        CheckConstraint(one_of("status", ESCALATION_STATUSES), name="status"),
        Index("ix_escalations_site_id_status", "site_id", "status"),
        Index("ix_escalations_site_id_created_at", "site_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    status: Mapped[str] = mapped_column(String(16), default=EscalationStatus.RECEIVED)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # The SHA-256 of the department's private link (`app.db.token_digest`); the token itself
    # is only in the email that carries it. None when the department had no email.
    department_token_digest: Mapped[str | None] = mapped_column(
        String(64), unique=True, default=None
    )

    department: Mapped[Department] = relationship()
    events: Mapped[list[EscalationEvent]] = relationship(
        order_by="EscalationEvent.at, EscalationEvent.id"
    )


class EscalationEvent(Base):
    """One step of an escalation: who moved it, to what, when, and what the usager was told."""

    __tablename__ = "escalation_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), default=None
    )
    message: Mapped[str] = mapped_column(Text, default="")
    # Moved by the department itself, through its private link (then no agent).
    by_department: Mapped[bool] = mapped_column(default=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class FollowUpAnswer(Base):
    """An usager's answer to the follow-up's question: how satisfied, and a word."""

    __tablename__ = "follow_up_answers"
    __table_args__ = (CheckConstraint("score BETWEEN 1 AND 5", name="score"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    score: Mapped[int] = mapped_column()
    comment: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)
