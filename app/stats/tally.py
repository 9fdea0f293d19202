"""The figures of one period added up as the SQL rows come, and read out as the API's
figures (rates, minutes, quantiles); the periods covering a range of days, and the range
one may ask for. Pure: no database here."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from fractions import Fraction
from typing import TypeVar

import msgspec

from app.errors import BadRequest
from app.shapes import from_model
from app.sites.service import EARLIEST_DAY, LATEST_DAY
from app.stats.schemas import (
    AppointmentFigures,
    Cancellations,
    EscalationFigures,
    Figures,
    NoShows,
    OfferFigures,
    RemoteFigures,
    Satisfaction,
    ServiceLevel,
    Waiting,
)
from app.stats.sql import By
from app.visits.models import OUTCOMES

MEDIAN, P90 = Fraction(1, 2), Fraction(9, 10)
MAX_DAYS = 400
CHANNELS = ("online", "phone", "counter", "partner")
Counts = TypeVar("Counts", bound=msgspec.Struct)


@dataclass
class Tally:
    """The additive part of a period's figures, and its quantiles once read."""

    start: date
    end: date
    booked: Counter[str] = field(default_factory=Counter)
    cancelled: int = 0
    called_off: int = 0
    missed: int = 0
    attended: int = 0
    tickets: int = 0
    walk_ins: int = 0
    served: int = 0
    ticket_no_shows: int = 0
    came_late: int = 0
    closed: int = 0
    called: int = 0
    waited: float = 0.0
    within: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    opened: int = 0
    answered: int = 0
    still_open: int = 0
    overdue: int = 0
    scores: Counter[int] = field(default_factory=Counter)
    remote_joined: int = 0
    remote_arrived: int = 0
    remote_not_arrived: int = 0
    remote_left: int = 0
    offers_made: int = 0
    offers_accepted: int = 0
    offers_expired: int = 0
    offers_declined: int = 0
    offers_withdrawn: int = 0
    wait_quantiles: dict[Fraction, float] = field(default_factory=dict)
    response_median: float | None = None

    def add(self, other: Tally) -> None:
        for item in fields(self):
            # The counts and sums (annotations are strings here); not the quantiles.
            if item.type in ("int", "float"):
                setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))
        self.booked.update(other.booked)
        self.outcomes.update(other.outcomes)
        self.scores.update(other.scores)

    def add_tickets(
        self,
        count: int,
        walk_ins: int,
        served: int,
        no_shows: int,
        late: int,
        closed: int,
        called: int,
        waited: float,
        within: int,
        *remote: int,
    ) -> None:
        """Add a row of the tickets' figures (`Query._tickets`), in its order: the remote
        ones last (joined, arrived, not arrived, left before arriving)."""
        self.tickets += count
        self.walk_ins += int(walk_ins)
        self.served += int(served)
        self.ticket_no_shows += int(no_shows)
        self.came_late += int(late)
        self.closed += int(closed)
        self.called += called
        self.waited += float(waited)
        self.within += int(within)
        self._add_counts("remote_", RemoteFigures, remote)

    def add_offers(
        self, made: int, accepted: int, expired: int, declined: int, withdrawn: int
    ) -> None:
        """Add a row of the offers' figures (`Query._offers`), in its order."""
        self._add_counts("offers_", OfferFigures, (made, accepted, expired, declined, withdrawn))

    def _add_counts(self, prefix: str, shape: type[msgspec.Struct], counts: Iterable[int]) -> None:
        """Add `counts`, in the order of the fields of `shape`, to the counts named after
        them with `prefix` (`remote_` + `joined`: `remote_joined`)."""
        for name, count in zip(shape.__struct_fields__, counts, strict=True):
            setattr(self, prefix + name, getattr(self, prefix + name) + int(count))

    def _counts(self, prefix: str, shape: type[Counts]) -> Counts:
        """The struct `shape` of the counts named after its fields with `prefix`."""
        return shape(**{name: getattr(self, prefix + name) for name in shape.__struct_fields__})

    def figures(self, target: int | None, goal: float | None) -> Figures:
        booked = sum(self.booked[c] for c in CHANNELS)
        answers = sum(self.scores.values())
        quantile = self.wait_quantiles
        # The counts of the same names (start, end, walk-ins, tickets…) are copied.
        return from_model(
            self,
            Figures,
            appointments=AppointmentFigures(
                **{channel: self.booked[channel] for channel in CHANNELS}, total=booked
            ),
            no_shows=NoShows(
                appointments=self.missed,
                tickets=self.ticket_no_shows,
                rate=rate(self.missed, self.missed + self.attended),
            ),
            cancellations=Cancellations(
                count=self.cancelled, rate=rate(self.cancelled, booked + self.cancelled)
            ),
            waiting_minutes=Waiting(
                mean=minutes(self.waited / self.called) if self.called else None,
                median=minutes(quantile[MEDIAN]) if MEDIAN in quantile else None,
                p90=minutes(quantile[P90]) if P90 in quantile else None,
            ),
            service_level=ServiceLevel(
                target_minutes=target,
                goal=goal,
                called=self.called,
                within=self.within,
                rate=rate(self.within, self.called),
            ),
            outcomes={outcome: self.outcomes[outcome] for outcome in OUTCOMES},
            escalations=EscalationFigures(
                opened=self.opened,
                answered=self.answered,
                open=self.still_open,
                overdue=self.overdue,
                median_response_days=round(self.response_median / 86400, 1)
                if self.response_median is not None
                else None,
            ),
            satisfaction=Satisfaction(
                answers=answers,
                mean=round(sum(s * n for s, n in self.scores.items()) / answers, 2)
                if answers
                else None,
                scores={str(score): self.scores[score] for score in range(1, 6)},
            ),
            remote=self._counts("remote_", RemoteFigures),
            offers=self._counts("offers_", OfferFigures),
        )


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def minutes(seconds: float) -> float:
    return round(seconds / 60, 1)


def periods(first: date, last: date, by: By) -> list[tuple[date, date]]:
    """The periods covering first..last, each cut to the range."""
    found = []
    day = first
    while day <= last:
        if by == "day":
            end = day
        elif by == "week":
            end = day + timedelta(days=6 - day.weekday())
        else:
            following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
            end = following - timedelta(days=1)
        end = min(end, last)
        found.append((day, end))
        day = end + timedelta(days=1)
    return found


def natural_start(day: date, by: By) -> date:
    """The day a period begins (a Monday, the 1st), as the database names it."""
    if by == "week":
        return day - timedelta(days=day.weekday())
    if by == "month":
        return day.replace(day=1)
    return day


def check_range(first: date, last: date) -> None:
    if not (EARLIEST_DAY <= first <= LATEST_DAY and EARLIEST_DAY <= last <= LATEST_DAY):
        raise BadRequest(f"Dates must lie between {EARLIEST_DAY} and {LATEST_DAY}.")
    if last < first:
        raise BadRequest("The range ends before it starts: check from and to.")
    if (last - first).days >= MAX_DAYS:
        raise BadRequest(f"At most {MAX_DAYS} days at a time.")
