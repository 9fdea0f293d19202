"""What the figures API returns: the figures of each period and of the whole range, and
those over the whole range by hour, weekday, service and station (see `figures`)."""

from __future__ import annotations

from datetime import date

import msgspec

from app.stats.sql import By


class AppointmentFigures(msgspec.Struct, kw_only=True):
    online: int
    phone: int
    counter: int
    total: int
    partner: int = 0  # booked by a partner who referred the person


class ReferralFigures(msgspec.Struct, kw_only=True):
    """A partner's referrals over the period: booked, and what became of them."""

    partner: str
    booked: int
    honoured: int
    missed: int
    cancelled: int


class NoShows(msgspec.Struct, kw_only=True):
    appointments: int
    tickets: int
    rate: float | None


class Cancellations(msgspec.Struct, kw_only=True):
    count: int
    rate: float | None


class Waiting(msgspec.Struct, kw_only=True):
    mean: float | None
    median: float | None
    p90: float | None


class ServiceLevel(msgspec.Struct, kw_only=True):
    target_minutes: int | None
    goal: float | None
    called: int
    within: int
    rate: float | None


class EscalationFigures(msgspec.Struct, kw_only=True):
    opened: int
    answered: int
    open: int
    overdue: int
    median_response_days: float | None


class Satisfaction(msgspec.Struct, kw_only=True):
    answers: int
    mean: float | None
    scores: dict[str, int]


class RemoteFigures(msgspec.Struct, kw_only=True):
    """Tickets taken from a phone: joined, then arrived at the mairie, closed unanswered
    (not arrived in time), or left before arriving."""

    joined: int
    arrived: int
    not_arrived: int
    left: int


class OfferFigures(msgspec.Struct, kw_only=True):
    """Earlier slots held for people waiting for one: offered, then taken, lapsed
    unanswered, left to the next person, or withdrawn (the person's appointment changed or
    went, they stopped asking, or the mairie could no longer give the slot)."""

    made: int
    accepted: int
    expired: int
    declined: int
    withdrawn: int = 0


class Figures(msgspec.Struct, kw_only=True):
    start: date
    end: date
    appointments: AppointmentFigures
    walk_ins: int
    tickets: int
    served: int
    came_late: int
    closed: int
    no_shows: NoShows
    cancellations: Cancellations
    called_off: int  # by the mairie (a closure, an outage): neither cancelled nor missed
    waiting_minutes: Waiting
    service_level: ServiceLevel
    outcomes: dict[str, int]
    escalations: EscalationFigures
    satisfaction: Satisfaction
    remote: RemoteFigures | None = None  # always given by this server; optional for clients
    offers: OfferFigures | None = None  # idem


class HourFigures(msgspec.Struct, kw_only=True):
    hour: int
    called: int
    mean_wait_minutes: float | None
    service_level: float | None


class WeekdayFigures(msgspec.Struct, kw_only=True):
    weekday: int
    name: str
    called: int
    mean_wait_minutes: float | None
    service_level: float | None


class ServiceFigures(msgspec.Struct, kw_only=True):
    code: str
    name: str
    visits: int
    mean_minutes: float | None
    median_minutes: float | None


class StationFigures(msgspec.Struct, kw_only=True):
    site: str
    id: int
    name: str
    visits: int
    busy_minutes: float
    open_minutes: float
    occupancy: float | None


class Stats(msgspec.Struct, kw_only=True):
    site: str | None
    first: date = msgspec.field(name="from")
    last: date = msgspec.field(name="to")
    by: By
    periods: list[Figures]
    total: Figures
    by_hour: list[HourFigures]
    by_weekday: list[WeekdayFigures]
    services: list[ServiceFigures]
    stations: list[StationFigures]
    # The finished visits' activity records (La Coop de la médiation numérique's values):
    # how many for each autonomy and each theme (a visit counts once for each of its themes).
    autonomy: dict[str, int] = msgspec.field(default_factory=dict)
    themes: dict[str, int] = msgspec.field(default_factory=dict)
    # The appointments partners booked for the people they referred, partner by partner.
    referrals: list[ReferralFigures] = msgspec.field(default_factory=list)
