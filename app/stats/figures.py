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
- a ticket taken from a phone (it has a travel time) counts among the remote joins on
  the day it was taken; among the arrivals once its holder arrived (its "arrived" event),
  the no-arrivals when it was closed unanswered ("not_arrived"), or left before arriving
  when cancelled with no arrival; one whose holder never came is neither a walk-in nor
  closed at closing time;
- an earlier slot offered counts on the day it was offered, with how it ended;
- escalations count with the day of their visit; their response delay runs from the
  visit to the department's answer;
- quantiles interpolate linearly between the closest ranks (the median of an even count
  is the mean of the two middle values).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Row,
    SQLColumnExpression,
    and_,
    case,
    exists,
    func,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import join as orm_join
from sqlalchemy.types import Date

from app.booking.models import Appointment, AppointmentStatus
from app.queue.models import Ticket, TicketEvent, TicketStatus
from app.sites.hours import local_instant
from app.sites.models import Service, Site, Station
from app.sites.service import site_calendar
from app.stats.schemas import (
    Figures,
    HourFigures,
    ServiceFigures,
    StationFigures,
    Stats,
    WeekdayFigures,
)
from app.stats.sql import By, Dialect, as_date, quantiles
from app.stats.tally import MEDIAN, P90, Tally, check_range, minutes, natural_start, periods, rate
from app.visits.models import Department, Escalation, EscalationStatus, FollowUpAnswer, Visit
from app.waitlist.models import Offer, OfferStatus

ATTENDED = (AppointmentStatus.CHECKED_IN, AppointmentStatus.SERVED)
OPEN = (EscalationStatus.RECEIVED, EscalationStatus.IN_PROGRESS)
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
ALL = "all"

ENDS = (OfferStatus.ACCEPTED, OfferStatus.EXPIRED, OfferStatus.DECLINED, OfferStatus.WITHDRAWN)


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
        await self._offers()
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

    def _in_range(
        self, site_id: SQLColumnExpression[int], day: SQLColumnExpression[date]
    ) -> list[SQLColumnExpression[bool]]:
        """Rows of the sites asked whose `day` lies in the range."""
        return [site_id.in_(self.site_ids), day >= self.first, day <= self.last]

    def _ticket_range(self) -> list[SQLColumnExpression[bool]]:
        return self._in_range(Ticket.site_id, Ticket.day)

    async def _tickets(self) -> None:
        t = Ticket

        def did(action: str) -> SQLColumnExpression[bool]:
            return exists().where(TicketEvent.ticket_id == t.id, TicketEvent.action == action)

        def counted(*where: SQLColumnExpression[bool]) -> SQLColumnExpression[Any]:
            return func.coalesce(func.sum(case((and_(*where), 1), else_=0)), 0)

        period = self._period(t.day)
        remote, arrived = t.travel_minutes.is_not(None), did("arrived")
        came = or_(~remote, arrived)  # a remote holder who never came is no visitor
        rows = await self.session.execute(
            select(
                period,
                func.count(),
                counted(t.appointment_id.is_(None), came),
                counted(t.status == TicketStatus.DONE),
                counted(t.status == TicketStatus.NO_SHOW),
                counted(t.late),
                counted(t.status == TicketStatus.CLOSED, came),
                func.count(t.first_called_at),
                func.coalesce(func.sum(self._wait()), 0),
                func.coalesce(func.sum(self._within()), 0),
                counted(remote),
                counted(remote, arrived),
                counted(remote, did("not_arrived")),
                counted(remote, t.status == TicketStatus.CANCELLED, ~arrived),
            )
            .join(Site, Site.id == t.site_id)
            .where(*self._ticket_range())
            .group_by(period)
        )
        for key, *values in rows:
            self._tally(key).add_tickets(*values)

    async def _offers(self) -> None:
        """Earlier slots offered, by the day they were offered, and how each ended."""
        o, period = Offer, self._period(Offer.day)
        ended = [func.coalesce(func.sum(case((o.status == s, 1), else_=0)), 0) for s in ENDS]
        rows = await self.session.execute(
            select(period, func.count(), *ended)
            .where(*self._in_range(o.site_id, o.day))
            .group_by(period)
        )
        for key, *values in rows:
            self._tally(key).add_offers(*values)

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
            .where(*self._in_range(v.site_id, v.day))
            .group_by(period, v.outcome)
        )
        for key, outcome, count in rows:
            self._tally(key).outcomes[outcome] += count

    def _escalation_range(self) -> list[SQLColumnExpression[bool]]:
        return [Escalation.site_id.in_(self.site_ids), *self._in_range(Visit.site_id, Visit.day)]

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

    async def _called_by(self, key: SQLColumnExpression[Any]) -> list[Row[Any, int, Any, Any]]:
        """For each value of `key`: the tickets called, their waits and those within the
        target, summed."""
        rows = await self.session.execute(
            select(key, func.count(), func.sum(self._wait()), func.sum(self._within()))
            .join(Site, Site.id == Ticket.site_id)
            .where(*self._ticket_range(), Ticket.first_called_at.is_not(None))
            .group_by(key)
            .order_by(key)
        )
        return list(rows)

    async def _by_hour(self) -> list[HourFigures]:
        rows = await self._called_by(self.sql.local_hour(Ticket.arrived_at, Site.timezone))
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
        rows = await self._called_by(Ticket.day)
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


class Comparison(Query):
    """The figures of each site over the whole range, side by side (all of Paris, one row
    per mairie): the queries of `Query` that join the sites (appointments and tickets),
    grouped by site rather than by period, with each site's wait quantiles and answers.
    Each site's service level is read against its own target."""

    def __init__(
        self, session: AsyncSession, sites: list[Site], first: date, last: date, now: datetime
    ) -> None:
        super().__init__(session, sites, first, last, "day", now)
        self.site_tallies = {site.id: Tally(first, last) for site in sites}

    def _period(self, day: SQLColumnExpression[Any]) -> SQLColumnExpression[Any]:
        return Site.id  # every query that calls it joins the sites

    def _tally(self, key: Any) -> Tally:
        return self.site_tallies[int(key)]

    async def _answers(self) -> None:
        rows = await self.session.execute(
            select(Ticket.site_id, FollowUpAnswer.score, func.count())
            .join(Ticket, Ticket.id == FollowUpAnswer.ticket_id)
            .where(FollowUpAnswer.site_id.in_(self.site_ids), *self._ticket_range())
            .group_by(Ticket.site_id, FollowUpAnswer.score)
        )
        for site_id, score, count in rows:
            self._tally(site_id).scores[int(score)] += count

    async def by_site(self) -> list[tuple[Site, Figures]]:
        await self._appointments()
        await self._tickets()
        await self._answers()
        where = [*self._ticket_range(), Ticket.first_called_at.is_not(None)]
        waits = await quantiles(self.session, self._wait(), Ticket.site_id, where, (MEDIAN, P90))
        found = []
        for site in self.sites:
            tally = self.site_tallies[site.id]
            tally.wait_quantiles = waits.get(site.id, {})
            goal = site.service_level_goal / 100
            found.append((site, tally.figures(site.service_level_minutes, goal)))
        return found


async def compare(
    session: AsyncSession, sites: list[Site], first: date, last: date, now: datetime
) -> list[tuple[Site, Figures]]:
    """Each of `sites` with its figures over first..last, in the order given."""
    return await Comparison(session, sites, first, last, now).by_site()
