"""The figures that steer the service, computed by SQL from the raw records (appointments,
tickets, visits, escalations, answers) on either database, for one site or all of Paris,
by day, week or month of the sites' own calendar.

Definitions (also in docs/decisions/0006-figures.md):
- an appointment counts on the local day it starts; a ticket on the day it was issued;
- waiting time runs from arrival, or from the booked start for someone who came early,
  to the first call; it is counted for every ticket that was called;
- the service level is the share of called tickets called within the site's target;
- a no-show is a booked appointment nobody checked in for, or a called ticket that did not
  answer; the appointments' no-show rate is over those whose outcome is known;
- an appointment called off by the mairie (closure, outage) is counted apart: neither
  among the appointments, nor the cancellations by usagers, nor the no-shows;
- a late arrival (checked in past the site's tolerance) counts as came late, never as a
  no-show; a closed ticket is one still waiting when the mairie closed;
- escalations count with the day of their visit; their response delay runs from the
  visit to the department's answer;
- quantiles interpolate linearly between the closest ranks (the median of an even count
  is the mean of the two middle values).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import SQLColumnExpression, and_, case, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import join as orm_join
from sqlalchemy.types import Date

from app.booking.models import Appointment, AppointmentStatus
from app.errors import BadRequest
from app.queue.models import Ticket, TicketStatus
from app.sites.hours import local_instant
from app.sites.models import Service, Site, Station
from app.sites.service import EARLIEST_DAY, LATEST_DAY, site_calendar
from app.stats.sql import By, Dialect, as_date, quantiles
from app.visits.models import (
    OUTCOMES,
    Department,
    Escalation,
    EscalationStatus,
    FollowUpAnswer,
    Visit,
)

MEDIAN, P90 = Fraction(1, 2), Fraction(9, 10)
MAX_DAYS = 400
CHANNELS = ("online", "phone", "counter")
ATTENDED = (AppointmentStatus.CHECKED_IN, AppointmentStatus.SERVED)
OPEN = (EscalationStatus.RECEIVED, EscalationStatus.IN_PROGRESS)
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
ALL = "all"


# What the API returns.


class AppointmentFigures(msgspec.Struct, kw_only=True):
    online: int
    phone: int
    counter: int
    total: int


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


# Accumulating, per period.


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
    wait_quantiles: dict[Fraction, float] = field(default_factory=dict)
    response_median: float | None = None

    def add(self, other: Tally) -> None:
        for name in (
            "cancelled",
            "called_off",
            "missed",
            "attended",
            "tickets",
            "walk_ins",
            "served",
            "ticket_no_shows",
            "came_late",
            "closed",
            "called",
            "waited",
            "within",
            "opened",
            "answered",
            "still_open",
            "overdue",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.booked.update(other.booked)
        self.outcomes.update(other.outcomes)
        self.scores.update(other.scores)

    def figures(self, target: int | None, goal: float | None) -> Figures:
        booked = sum(self.booked[c] for c in CHANNELS)
        answers = sum(self.scores.values())
        quantile = self.wait_quantiles
        return Figures(
            start=self.start,
            end=self.end,
            appointments=AppointmentFigures(
                online=self.booked["online"],
                phone=self.booked["phone"],
                counter=self.booked["counter"],
                total=booked,
            ),
            walk_ins=self.walk_ins,
            tickets=self.tickets,
            served=self.served,
            came_late=self.came_late,
            closed=self.closed,
            no_shows=NoShows(
                appointments=self.missed,
                tickets=self.ticket_no_shows,
                rate=rate(self.missed, self.missed + self.attended),
            ),
            cancellations=Cancellations(
                count=self.cancelled, rate=rate(self.cancelled, booked + self.cancelled)
            ),
            called_off=self.called_off,
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


class Query:
    """The figures of some sites over a range of local days."""

    def __init__(
        self,
        session: AsyncSession,
        sites: list[Site],
        first: date,
        last: date,
        by: By,
        now: datetime,
    ) -> None:
        check_range(first, last)
        self.session = session
        self.sites = sites
        self.site_ids = [site.id for site in sites]
        self.first, self.last, self.by, self.now = first, last, by, now
        self.sql = Dialect(session.get_bind().dialect.name)
        self.tallies = {
            natural_start(start, by): Tally(start, end) for start, end in periods(first, last, by)
        }

    def _period(self, day: SQLColumnExpression[Any]) -> SQLColumnExpression[Any]:
        return type_coerce(self.sql.period(day, self.by), Date)

    def _tally(self, key: Any) -> Tally:
        return self.tallies[as_date(key)]

    async def run(self) -> Stats:
        await self._appointments()
        await self._tickets()
        await self._visits()
        await self._escalations()
        await self._answers()
        total = Tally(self.first, self.last)
        for tally in self.tallies.values():
            total.add(tally)
        waits = await self._wait_quantiles()
        responses = await self._response_medians()
        for key, values in waits.items():
            (total if key == ALL else self._tally(key)).wait_quantiles = values
        for key, value in responses.items():
            (total if key == ALL else self._tally(key)).response_median = value
        targets = {site.service_level_minutes for site in self.sites}
        target = targets.pop() if len(targets) == 1 else None
        goals = {site.service_level_goal for site in self.sites}
        goal = goals.pop() / 100 if len(goals) == 1 else None
        return Stats(
            site=self.sites[0].slug if len(self.sites) == 1 else None,
            first=self.first,
            last=self.last,
            by=self.by,
            periods=[tally.figures(target, goal) for tally in self.tallies.values()],
            total=total.figures(target, goal),
            by_hour=await self._by_hour(),
            by_weekday=await self._by_weekday(),
            services=await self._services(),
            stations=await self._stations(),
        )

    # Appointments, by the local day they start.

    async def _appointments(self) -> None:
        a = Appointment
        local = type_coerce(self.sql.local_date(a.starts_at, Site.timezone), Date)
        period = self._period(local)
        zones = {ZoneInfo(site.timezone) for site in self.sites}
        midnight = datetime.min.time()
        starts = min(local_instant(self.first, midnight, zone) for zone in zones)
        ends = max(local_instant(self.last + timedelta(1), midnight, zone) for zone in zones)
        where = [a.site_id.in_(self.site_ids), a.starts_at >= starts, a.starts_at < ends]
        if len(zones) > 1:  # the instants bound the days of one zone only
            where += [local >= self.first, local <= self.last]
        rows = await self.session.execute(
            select(period, a.channel, a.status, func.count())
            .join(Site, Site.id == a.site_id)
            .where(*where)
            .group_by(period, a.channel, a.status)
        )
        for key, channel, status, count in rows:
            tally = self._tally(key)
            if status == AppointmentStatus.CANCELLED:
                tally.cancelled += count
                continue
            if status == AppointmentStatus.CALLED_OFF:
                tally.called_off += count
                continue
            tally.booked[channel] += count
            if status == AppointmentStatus.NO_SHOW:
                tally.missed += count
            elif status in ATTENDED:
                tally.attended += count

    # Tickets, by the day they were issued.

    def _wait(self) -> SQLColumnExpression[Any]:
        """Whole seconds from arrival (or the booked start, if later) to the first call."""
        t = Ticket
        start = case((t.due_at > t.arrived_at, t.due_at), else_=t.arrived_at)
        raw = func.round(self.sql.seconds(t.first_called_at, start))
        return case((raw < 0, 0), else_=raw)

    def _within(self) -> SQLColumnExpression[Any]:
        wait = self._wait()
        return case(
            (
                and_(
                    Ticket.first_called_at.is_not(None),
                    wait <= Site.service_level_minutes * 60,
                ),
                1,
            ),
            else_=0,
        )

    def _ticket_range(self) -> list[SQLColumnExpression[bool]]:
        return [
            Ticket.site_id.in_(self.site_ids),
            Ticket.day >= self.first,
            Ticket.day <= self.last,
        ]

    async def _tickets(self) -> None:
        t = Ticket
        period = self._period(t.day)
        rows = await self.session.execute(
            select(
                period,
                func.count(),
                func.sum(case((t.appointment_id.is_(None), 1), else_=0)),
                func.sum(case((t.status == TicketStatus.DONE, 1), else_=0)),
                func.sum(case((t.status == TicketStatus.NO_SHOW, 1), else_=0)),
                func.sum(case((t.late, 1), else_=0)),
                func.sum(case((t.status == TicketStatus.CLOSED, 1), else_=0)),
                func.count(t.first_called_at),
                func.sum(self._wait()),
                func.sum(self._within()),
            )
            .join(Site, Site.id == t.site_id)
            .where(*self._ticket_range())
            .group_by(period)
        )
        for key, count, walk_ins, served, no_shows, late, closed, called, waited, within in rows:
            tally = self._tally(key)
            tally.tickets += count
            tally.walk_ins += int(walk_ins or 0)
            tally.served += int(served or 0)
            tally.ticket_no_shows += int(no_shows or 0)
            tally.came_late += int(late or 0)
            tally.closed += int(closed or 0)
            tally.called += called
            tally.waited += float(waited or 0)
            tally.within += int(within or 0)

    async def _wait_quantiles(self) -> dict[Hashable, dict[Fraction, float]]:
        where = [*self._ticket_range(), Ticket.first_called_at.is_not(None)]
        by_period = await quantiles(
            self.session, self._wait(), self._period(Ticket.day), where, (MEDIAN, P90)
        )
        overall = await quantiles(self.session, self._wait(), None, where, (MEDIAN, P90))
        return {**by_period, **overall}

    # Visits, escalations and answers.

    async def _visits(self) -> None:
        v = Visit
        period = self._period(v.day)
        rows = await self.session.execute(
            select(period, v.outcome, func.count())
            .where(v.site_id.in_(self.site_ids), v.day >= self.first, v.day <= self.last)
            .group_by(period, v.outcome)
        )
        for key, outcome, count in rows:
            self._tally(key).outcomes[outcome] += count

    def _escalation_range(self) -> list[SQLColumnExpression[bool]]:
        return [
            Escalation.site_id.in_(self.site_ids),
            Visit.site_id.in_(self.site_ids),
            Visit.day >= self.first,
            Visit.day <= self.last,
        ]

    async def _escalations(self) -> None:
        e = Escalation
        period = self._period(Visit.day)
        waiting = self.sql.seconds(self.sql.instant(self.now), e.created_at)
        still_open = e.status.in_(OPEN)
        rows = await self.session.execute(
            select(
                period,
                func.count(),
                func.sum(case((e.answered_at.is_not(None), 1), else_=0)),
                func.sum(case((still_open, 1), else_=0)),
                func.sum(
                    case((and_(still_open, waiting > Department.answer_days * 86400), 1), else_=0)
                ),
            )
            .join(Visit, Visit.id == e.visit_id)
            .join(Department, Department.id == e.department_id)
            .where(*self._escalation_range())
            .group_by(period)
        )
        for key, opened, answered, still, overdue in rows:
            tally = self._tally(key)
            tally.opened += opened
            tally.answered += int(answered or 0)
            tally.still_open += int(still or 0)
            tally.overdue += int(overdue or 0)

    async def _response_medians(self) -> dict[Hashable, float]:
        e = Escalation
        delay = self.sql.seconds(e.answered_at, e.created_at)
        where = [*self._escalation_range(), e.answered_at.is_not(None)]
        join = orm_join(e, Visit, Visit.id == e.visit_id)
        found: dict[Hashable, float] = {}
        for key in (self._period(Visit.day), None):
            values = await quantiles(self.session, delay, key, where, (MEDIAN,), join=join)
            found.update({k: v[MEDIAN] for k, v in values.items()})
        return found

    async def _answers(self) -> None:
        period = self._period(Ticket.day)
        rows = await self.session.execute(
            select(period, FollowUpAnswer.score, func.count())
            .join(Ticket, Ticket.id == FollowUpAnswer.ticket_id)
            .where(FollowUpAnswer.site_id.in_(self.site_ids), *self._ticket_range())
            .group_by(period, FollowUpAnswer.score)
        )
        for key, score, count in rows:
            self._tally(key).scores[int(score)] += count

    # Over the whole range: the day, the week, services and stations.

    async def _by_hour(self) -> list[HourFigures]:
        hour = self.sql.local_hour(Ticket.arrived_at, Site.timezone)
        rows = await self.session.execute(
            select(hour, func.count(), func.sum(self._wait()), func.sum(self._within()))
            .join(Site, Site.id == Ticket.site_id)
            .where(*self._ticket_range(), Ticket.first_called_at.is_not(None))
            .group_by(hour)
            .order_by(hour)
        )
        return [
            HourFigures(
                hour=int(h),
                called=count,
                mean_wait_minutes=minutes(float(waited) / count),
                service_level=rate(int(within), count),
            )
            for h, count, waited, within in rows
        ]

    async def _by_weekday(self) -> list[WeekdayFigures]:
        rows = await self.session.execute(
            select(Ticket.day, func.count(), func.sum(self._wait()), func.sum(self._within()))
            .join(Site, Site.id == Ticket.site_id)
            .where(*self._ticket_range(), Ticket.first_called_at.is_not(None))
            .group_by(Ticket.day)
        )
        called: Counter[int] = Counter()
        waited: dict[int, float] = defaultdict(float)
        within: Counter[int] = Counter()
        for day, count, wait, inside in rows:
            weekday = as_date(day).weekday()
            called[weekday] += count
            waited[weekday] += float(wait)
            within[weekday] += int(inside)
        return [
            WeekdayFigures(
                weekday=weekday + 1,
                name=WEEKDAYS[weekday],
                called=called[weekday],
                mean_wait_minutes=minutes(waited[weekday] / called[weekday]),
                service_level=rate(within[weekday], called[weekday]),
            )
            for weekday in sorted(called)
        ]

    def _service_time(self) -> SQLColumnExpression[Any]:
        return func.round(self.sql.seconds(Ticket.finished_at, Ticket.started_at))

    def _served(self) -> list[SQLColumnExpression[bool]]:
        return [
            *self._ticket_range(),
            Ticket.status == TicketStatus.DONE,
            Ticket.started_at.is_not(None),
            Ticket.finished_at.is_not(None),
        ]

    async def _services(self) -> list[ServiceFigures]:
        rows = await self.session.execute(
            select(
                Service.id, Service.code, Service.name, func.count(), func.sum(self._service_time())
            )
            .join(Service, Service.id == Ticket.service_id)
            .where(*self._served())
            .group_by(Service.id, Service.code, Service.name)
            .order_by(Service.name)
        )
        found = list(rows)
        medians = await quantiles(
            self.session, self._service_time(), Ticket.service_id, self._served(), (MEDIAN,)
        )
        return [
            ServiceFigures(
                code=code,
                name=name,
                visits=count,
                mean_minutes=minutes(float(total) / count),
                median_minutes=minutes(medians[service_id][MEDIAN]),
            )
            for service_id, code, name, count, total in found
        ]

    async def _stations(self) -> list[StationFigures]:
        busy = dict(
            (station_id, (count, float(total or 0)))
            for station_id, count, total in await self.session.execute(
                select(Ticket.station_id, func.count(), func.sum(self._service_time()))
                .where(*self._served())
                .group_by(Ticket.station_id)
            )
        )
        found = []
        for site in self.sites:
            calendar = await site_calendar(self.session, site, self.first, self.last)
            open_seconds = sum(
                (end - start).total_seconds()
                for day in calendar.days(self.first, self.last)
                for start, end in day.intervals
            )
            stations = await self.session.scalars(
                select(Station)
                .where(Station.site_id == site.id)
                .order_by(Station.position, Station.id)
            )
            for station in stations:
                count, seconds = busy.get(station.id, (0, 0.0))
                if not station.active and not count:
                    continue
                found.append(
                    StationFigures(
                        site=site.slug,
                        id=station.id,
                        name=station.name,
                        visits=count,
                        busy_minutes=minutes(seconds),
                        open_minutes=minutes(open_seconds),
                        occupancy=round(seconds / open_seconds, 4) if open_seconds else None,
                    )
                )
        return found


async def figures(
    session: AsyncSession, sites: list[Site], first: date, last: date, by: By, now: datetime
) -> Stats:
    return await Query(session, sites, first, last, by, now).run()
