"""Tables of the sites domain: mairies, stations, hours, closures, services and needs (these
two with their names in English too, read in the language being rendered)."""

from __future__ import annotations

from copy import copy
from datetime import date, datetime, time
from enum import StrEnum
from typing import Generic, TypeVar, overload

from sqlalchemy import (
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import i18n
from app.db import Base, JSONValue, UTCDateTime, one_of

STATION_KINDS = ("standard", "double")
ENGLISH = "en"


def shown_in(language: str, english: str | list[str]) -> str:
    """The language a reader of `language` is shown a text in, given its `english`
    version: English when they read English and it has one, else French (the data's own,
    which every other language falls back to)."""
    return ENGLISH if language == ENGLISH and english else i18n.DEFAULT_LANGUAGE


Version = TypeVar("Version", str, list[str])


def in_language(language: str, french: Version, english: Version) -> Version:
    """The version of a text a reader of `language` is shown (`shown_in`)."""
    return english if shown_in(language, english) == ENGLISH else french


class Rendered(Generic[Version]):
    """A text column of a row read in the language being rendered (`app.i18n.language`):
    its English version (the column `<column>_en`) or the French one, as `in_language`
    picks; a copy, so that changing it changes nothing in the row."""

    def __init__(self, column: str) -> None:
        self.column = column

    @overload
    def __get__(self, row: None, owner: type[object]) -> Rendered[Version]: ...
    @overload
    def __get__(self, row: object, owner: type[object]) -> Version: ...
    def __get__(self, row: object | None, owner: type[object]) -> Rendered[Version] | Version:
        if row is None:
            return self
        french: Version = getattr(row, self.column)
        english: Version = getattr(row, f"{self.column}_en")
        return copy(in_language(i18n.language.get(), french, english))


class RenderedLanguage:
    """The language a `Rendered` column is read in: French when it has no English
    version."""

    def __init__(self, column: str) -> None:
        self.column = column

    @overload
    def __get__(self, row: None, owner: type[object]) -> RenderedLanguage: ...
    @overload
    def __get__(self, row: object, owner: type[object]) -> str: ...
    def __get__(self, row: object | None, owner: type[object]) -> RenderedLanguage | str:
        if row is None:
            return self
        english: str | list[str] = getattr(row, f"{self.column}_en")
        return shown_in(i18n.language.get(), english)


def sites_table(name: str, owner_id: str, owner_table: str) -> Table:
    """The table `name` of which sites each row of `owner_table` works at, a pair of ids
    per row (`owner_id` and `site_id`); a pair goes with either of its rows."""
    return Table(
        name,
        Base.metadata,
        Column(owner_id, ForeignKey(f"{owner_table}.id", ondelete="CASCADE"), primary_key=True),
        Column("site_id", ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True, index=True),
    )


class LateArrivalRule(StrEnum):
    """Where a late arrival's ticket goes in the queue."""

    WALK_IN = "walk_in"  # as a walk-in arriving now
    GRACE = "grace"  # at the appointment's time within the grace minutes, else as a walk-in


class Site(Base):
    """A mairie d'arrondissement, and its booking rules."""

    __tablename__ = "sites"
    __table_args__ = (
        CheckConstraint("walk_in_percent BETWEEN 0 AND 100", name="walk_in_percent"),
        CheckConstraint("booking_min_notice_minutes >= 0", name="min_notice"),
        CheckConstraint("booking_horizon_days BETWEEN 1 AND 366", name="horizon"),
        CheckConstraint("max_future_bookings_per_contact >= 1", name="max_future_bookings"),
        CheckConstraint("check_in_early_minutes BETWEEN 0 AND 240", name="check_in_early"),
        CheckConstraint("check_in_late_minutes BETWEEN 0 AND 240", name="check_in_late"),
        CheckConstraint("priority_after_minutes BETWEEN 1 AND 480", name="priority_after"),
        CheckConstraint("no_show_after_calls BETWEEN 1 AND 10", name="no_show_after_calls"),
        CheckConstraint("turn_near_position BETWEEN 0 AND 20", name="turn_near_position"),
        CheckConstraint("service_level_minutes BETWEEN 1 AND 240", name="service_level_minutes"),
        CheckConstraint("service_level_goal BETWEEN 1 AND 100", name="service_level_goal"),
        CheckConstraint(one_of("late_arrival_rule", LateArrivalRule), name="late_arrival_rule"),
        CheckConstraint("late_grace_minutes BETWEEN 0 AND 60", name="late_grace_minutes"),
        CheckConstraint(
            "late_check_in_limit_minutes BETWEEN 0 AND 240", name="late_check_in_limit_minutes"
        ),
        CheckConstraint("remote_per_hour BETWEEN 0 AND 200", name="remote_per_hour"),
        CheckConstraint("remote_head_start_minutes BETWEEN 0 AND 240", name="remote_head_start"),
        CheckConstraint("remote_rejoin_minutes BETWEEN 5 AND 60", name="remote_rejoin_minutes"),
        CheckConstraint("offer_hold_minutes BETWEEN 5 AND 120", name="offer_hold_minutes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")
    arrondissements: Mapped[list[int]] = mapped_column(JSONValue, default=list)
    # Where the mairie's entrance is (WGS 84), for its map link and "nearest first".
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    # How to come, in words: nearest metro and RER stations with their lines, buses.
    access: Mapped[str] = mapped_column(String(300), default="")
    active: Mapped[bool] = mapped_column(default=True)
    walk_in_percent: Mapped[int] = mapped_column(default=30, server_default="30")
    booking_min_notice_minutes: Mapped[int] = mapped_column(default=120, server_default="120")
    booking_horizon_days: Mapped[int] = mapped_column(default=60, server_default="60")
    max_future_bookings_per_contact: Mapped[int] = mapped_column(default=2, server_default="2")
    check_in_early_minutes: Mapped[int] = mapped_column(default=30, server_default="30")
    check_in_late_minutes: Mapped[int] = mapped_column(default=15, server_default="15")
    priority_after_minutes: Mapped[int] = mapped_column(default=30, server_default="30")
    no_show_after_calls: Mapped[int] = mapped_column(default=3, server_default="3")
    reminder_hours: Mapped[list[int]] = mapped_column(
        JSONValue, default=lambda: [24, 2], server_default="[24, 2]"
    )
    sms_quiet_from: Mapped[time] = mapped_column(default=time(20), server_default="20:00:00")
    sms_quiet_until: Mapped[time] = mapped_column(default=time(8), server_default="08:00:00")
    turn_near_position: Mapped[int] = mapped_column(default=3, server_default="3")
    service_level_minutes: Mapped[int] = mapped_column(default=15, server_default="15")
    # The share of people called within those minutes the site aims for, in percent.
    service_level_goal: Mapped[int] = mapped_column(default=80, server_default="80")
    # Someone checking in later than `check_in_late_minutes` after the start is late: placed
    # as a walk-in arriving now ("walk_in"), or ("grace") keeping the appointment's place for
    # `late_grace_minutes` more; refused past the appointment's end plus the limit.
    late_arrival_rule: Mapped[str] = mapped_column(
        String(16), default=LateArrivalRule.WALK_IN, server_default="walk_in"
    )
    late_grace_minutes: Mapped[int] = mapped_column(default=10, server_default="10")
    late_check_in_limit_minutes: Mapped[int] = mapped_column(default=30, server_default="30")
    # Where one agent does both jobs: facilitators may issue walk-in tickets too.
    facilitators_issue_tickets: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The queue from a phone (`app.queue.remote`): at most `remote_per_hour` tickets taken
    # from phones in any hour (0: none); on arrival a ticket counts as waiting since it was
    # taken, for at most `remote_head_start_minutes`; one passed over while its holder was
    # away keeps its turn `remote_rejoin_minutes`, then closes.
    remote_per_hour: Mapped[int] = mapped_column(default=20, server_default="20")
    remote_head_start_minutes: Mapped[int] = mapped_column(default=60, server_default="60")
    remote_rejoin_minutes: Mapped[int] = mapped_column(default=15, server_default="15")
    # Earlier slots (`app.waitlist`): how long a freed slot is held for the person it is
    # offered to, in the day (longer when it is offered at night: from the morning on).
    offer_hold_minutes: Mapped[int] = mapped_column(default=15, server_default="15")

    stations: Mapped[list[Station]] = relationship(
        back_populates="site", order_by="Station.position, Station.id"
    )
    weekly_hours: Mapped[list[WeeklyHours]] = relationship(
        order_by="WeeklyHours.weekday, WeeklyHours.nth_in_month, WeeklyHours.opens"
    )


class Station(Base):
    """A place where a facilitator helps one person at a time."""

    __tablename__ = "stations"
    __table_args__ = (
        CheckConstraint(one_of("kind", STATION_KINDS), name="kind"),
        UniqueConstraint("site_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(16), default="standard")
    accessible: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)

    site: Mapped[Site] = relationship(back_populates="stations")


class StationOutage(Base):
    """A station out of service between two instants (a broken screen, works): no booking
    is offered on it then, and nobody is called to it."""

    __tablename__ = "station_outages"
    __table_args__ = (
        CheckConstraint("starts_at < ends_at", name="range"),
        Index("ix_station_outages_station_id_ends_at", "station_id", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(200), default="")


class WeeklyHours(Base):
    """One opening range of a weekday; with `nth_in_month`, only on that occurrence.

    The rows of a weekday with `nth_in_month` set (1 to 5, or -1 for the last
    one of the month) replace that weekday's ordinary rows on the matching
    dates: the 19e opens at 13:00 on the first Tuesday of each month.
    """

    __tablename__ = "weekly_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint(
            "nth_in_month IS NULL OR nth_in_month IN (-1, 1, 2, 3, 4, 5)", name="nth_in_month"
        ),
        CheckConstraint("opens < closes", name="range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column()
    nth_in_month: Mapped[int | None] = mapped_column(default=None)
    opens: Mapped[time] = mapped_column()
    closes: Mapped[time] = mapped_column()
    note: Mapped[str] = mapped_column(String(200), default="")


class HoursException(Base):
    """The hours of one dated day, replacing the weekly pattern.

    Several rows for a day give several ranges; one row without times means
    closed all day. A row with times on a public holiday opens it.
    """

    __tablename__ = "hours_exceptions"
    __table_args__ = (
        CheckConstraint(
            "(opens IS NULL AND closes IS NULL) OR (opens IS NOT NULL AND closes IS NOT NULL "
            "AND opens < closes)",
            name="range",
        ),
        Index("ix_hours_exceptions_site_id_day", "site_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column()
    opens: Mapped[time | None] = mapped_column(default=None)
    closes: Mapped[time | None] = mapped_column(default=None)
    reason: Mapped[str] = mapped_column(String(200), default="")


class Closure(Base):
    """An exceptional closure between two instants (strike, election, works)."""

    __tablename__ = "closures"
    __table_args__ = (CheckConstraint("starts_at < ends_at", name="range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(200), default="")


class Service(Base):
    """A kind of help offered at the stations (a démarche)."""

    __tablename__ = "services"
    __table_args__ = (
        CheckConstraint(one_of("station_kind", STATION_KINDS), name="station_kind"),
        CheckConstraint("duration_minutes BETWEEN 5 AND 240", name="duration"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    duration_minutes: Mapped[int] = mapped_column()
    station_kind: Mapped[str] = mapped_column(String(16), default="standard")
    documents: Mapped[list[str]] = mapped_column(JSONValue, default=list)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    # What an English reader is shown; each left empty shows the French one.
    name_en: Mapped[str] = mapped_column(String(120), default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    documents_en: Mapped[list[str]] = mapped_column(JSONValue, default=list, server_default="[]")

    # The name, the description and the documents to bring in the language being
    # rendered, and the language each is in (all the documents are in the same one).
    label = Rendered[str]("name")
    label_lang = RenderedLanguage("name")
    about = Rendered[str]("description")
    about_lang = RenderedLanguage("description")
    to_bring = Rendered[list[str]]("documents")
    to_bring_lang = RenderedLanguage("documents")

    def name_in(self, language: str) -> str:
        return in_language(language, self.name, self.name_en)

    def description_in(self, language: str) -> str:
        return in_language(language, self.description, self.description_en)

    def documents_in(self, language: str) -> list[str]:
        return list(in_language(language, self.documents, self.documents_en))


class Need(Base):
    """A need an usager may declare, and what it changes: more time, another station."""

    __tablename__ = "needs"
    __table_args__ = (
        CheckConstraint(
            "station_kind IS NULL OR station_kind IN ('standard', 'double')", name="station_kind"
        ),
        CheckConstraint("extra_minutes BETWEEN 0 AND 120", name="extra_minutes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    extra_minutes: Mapped[int] = mapped_column(default=0)
    station_kind: Mapped[str | None] = mapped_column(String(16), default=None)
    requires_accessible: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    # What an English reader is shown; empty shows the French one.
    name_en: Mapped[str] = mapped_column(String(120), default="")

    # The need in words in the language being rendered, and the language that is.
    label = Rendered[str]("name")
    label_lang = RenderedLanguage("name")

    def name_in(self, language: str) -> str:
        return in_language(language, self.name, self.name_en)
