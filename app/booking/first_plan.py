"""Where to look for each mairie's first free slot, and the looking, for many mairies at
once (`app/booking/first.py` orders them and decides when to stop).

Each mairie's days from today to its booking horizon fall into up to three parts: days
before its summary's window and days after it, read the slow way (a whole range at
once), and the days inside it, of which only those the summary offers (`candidates`) are
read, one per round, a few fetched at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.booking.finders import Days, read, slot_finders
from app.booking.models import FreeTime, FreeTimeWindow
from app.booking.slots import Refusal, Requirement, Slot, SlotFinder
from app.sites.hours import local_instant
from app.sites.models import Site, Station

# Candidate days fetched for a mairie at a time: most mairies take the first.
PER_FETCH = 3
# The days looked at first in the summary (then the rest of the window, if need be).
FIRST_SPAN_DAYS = 7
ONE_DAY = timedelta(days=1)
# Refusals after which no later start of the same day (or of any day) can be booked.
DAY_FULL = (Refusal.WALK_IN_SHARE,)
SITE_DONE = (Refusal.TOO_LATE, Refusal.NO_STATION)


@dataclass(frozen=True, slots=True)
class Place:
    """What the search reads of every active mairie before choosing where to look: where
    it is, its time zone and booking rules (a few columns: a network has thousands)."""

    id: int
    slug: str
    latitude: float | None
    longitude: float | None
    timezone: str
    booking_horizon_days: int
    booking_min_notice_minutes: int
    walk_in_percent: int
    window_first: date | None  # its summary's window, if it has one
    window_last: date | None


async def places(session: AsyncSession, *where: ColumnElement[bool]) -> list[Place]:
    """The active mairies (those of `where` among them), by id."""
    query = (
        select(
            Site.id,
            Site.slug,
            Site.latitude,
            Site.longitude,
            Site.timezone,
            Site.booking_horizon_days,
            Site.booking_min_notice_minutes,
            Site.walk_in_percent,
            FreeTimeWindow.first,
            FreeTimeWindow.last,
        )
        .outerjoin(FreeTimeWindow, FreeTimeWindow.site_id == Site.id)
        .where(Site.active, *where)
        .order_by(Site.id)
    )
    # (Typed for ten columns and any more: there are no more.)
    return [Place(*row[:10]) for row in await read(session, query)]


@dataclass
class Plan:
    """Where one mairie's first free slot may be, in the order to look."""

    place: Place
    before: Days | None  # days before the summary's window
    inside: Days | None  # the days the summary covers
    after: Days | None  # days after it
    today: date | None = None  # the first day a slot may start on
    earliest_minute: float = 0  # and from when, in minutes from that day's start
    candidates: list[date] = field(default_factory=list)
    fetched_to: date | None = None  # the last day the summary has been read to
    asked_to: date | None = None  # the last day of the summary's current reading
    exhausted: bool = False  # the summary has no more days to offer
    stage: str = "before"

    @property
    def wants_fetch(self) -> bool:
        return self.stage in ("before", "middle") and not self.candidates and not self.exhausted

    @property
    def earliest_start(self) -> datetime:
        """No slot of this mairie starts before this instant."""
        day = self._first_day()
        zone = ZoneInfo(self.place.timezone)
        if day is None:
            return datetime.max.replace(tzinfo=ZoneInfo("UTC"))
        return local_instant(day, time(0), zone)

    def _first_day(self) -> date | None:
        if self.stage == "before" and self.before:
            return self.before[0]
        if self.stage in ("before", "middle") and self.candidates:
            return self.candidates[0]
        if self.stage != "done" and self.after:
            return self.after[0]
        return None

    def next_days(self) -> Days | None:
        """The days to read next, or None when there is nothing left to look at."""
        if self.stage == "before":
            self.stage = "middle"
            if self.before:
                return self.before
        if self.stage == "middle":
            if self.candidates:
                day = self.candidates.pop(0)
                return day, day
            self.stage = "after"
        if self.stage == "after":
            self.stage = "done"
            return self.after
        return None


def _plan(place: Place, now: datetime) -> Plan:
    zone = ZoneInfo(place.timezone)
    window = None
    if place.window_first is not None and place.window_last is not None:
        window = place.window_first, place.window_last
    # No slot starts before the notice the mairie asks: late in the day, today is out.
    earliest = now + timedelta(minutes=place.booking_min_notice_minutes)
    today = earliest.astimezone(zone).date()
    minute = (earliest - local_instant(today, time(0), zone)).total_seconds() / 60
    last = (now + timedelta(days=place.booking_horizon_days)).astimezone(zone).date()
    if window is None or window[1] < today or window[0] > last:
        return Plan(place, (today, last), None, None, exhausted=True)
    first, end = max(today, window[0]), min(last, window[1])
    return Plan(
        place,
        (today, first - timedelta(days=1)) if today < first else None,
        (first, end),
        (end + timedelta(days=1), last) if end < last else None,
        today=today,
        earliest_minute=minute,
    )


async def plans(
    session: AsyncSession, found: Sequence[Place], need: Requirement, now: datetime
) -> list[Plan]:
    """A plan for each mairie, its first candidate days fetched; mairies with nothing to
    look at are left out."""
    if not found:
        return []
    made = [_plan(place, now) for place in found]
    await fetch(session, made, need)
    return [plan for plan in made if plan.before or plan.candidates or plan.after]


async def fetch(session: AsyncSession, wanting: Sequence[Plan], need: Requirement) -> None:
    """The next candidate days of each of `wanting`: first among its next week's days
    (most mairies have one there), then, for those with none, among the rest of its
    window; one query each time for all of them."""
    pending = [plan for plan in wanting if plan.wants_fetch and plan.inside is not None]
    span: int | None = FIRST_SPAN_DAYS
    while pending:
        await _fetch_span(session, pending, need, span)
        pending = [plan for plan in pending if plan.wants_fetch]
        span = None


async def _fetch_span(
    session: AsyncSession, plans: Sequence[Plan], need: Requirement, span: int | None
) -> None:
    """Up to `PER_FETCH` candidate days of each of `plans` among its next `span` days (or
    the rest of its window): days where a suitable station has a free run as long as the
    booking and the day has room for it beside the walk-ins' share (integer arithmetic on
    generous figures: a day the slot engine would offer is never left out)."""
    asks: dict[tuple[date, date], list[Plan]] = {}
    for plan in plans:
        assert plan.inside is not None
        start = plan.inside[0] if plan.fetched_to is None else plan.fetched_to + ONE_DAY
        end = plan.inside[1] if span is None else min(plan.inside[1], start + span * ONE_DAY)
        plan.asked_to = end
        asks.setdefault((start, end), []).append(plan)
    ids = [plan.place.id for plan in plans]
    suited: ColumnElement[bool] = Station.active.expression
    if need.kind == "double":
        suited = and_(suited, Station.kind == "double")
    if need.accessible:
        suited = and_(suited, Station.accessible)
    length = need.length_minutes
    # Grouped by day (the longest run of a suitable station long enough); the room beside
    # the walk-ins' share, each mairie's own, and the first days, are taken here.
    query = (
        select(
            FreeTime.site_id,
            FreeTime.day,
            func.max(case((suited, FreeTime.free_until_minutes), else_=0)),
            func.sum(FreeTime.open_minutes),
            func.sum(FreeTime.booked_minutes),
        )
        .join(Station, Station.id == FreeTime.station_id)
        .where(
            Station.active,
            Station.site_id.in_(ids),  # so that the join reads these mairies' rows only
            or_(
                *(
                    and_(
                        FreeTime.site_id.in_([plan.place.id for plan in asked]),
                        FreeTime.day >= start,
                        FreeTime.day <= end,
                    )
                    for (start, end), asked in asks.items()
                )
            ),
        )
        .group_by(FreeTime.site_id, FreeTime.day)
        .having(func.max(case((suited, FreeTime.longest_minutes), else_=0)) >= length)
    )
    by_site = {plan.place.id: plan for plan in plans}
    given: dict[int, list[date]] = {}
    for site_id, day, until, open_minutes, booked_minutes in sorted(
        (tuple(row) for row in await read(session, query)), key=lambda row: (row[0], row[1])
    ):
        plan = by_site[site_id]
        days = given.setdefault(site_id, [])
        if len(days) == PER_FETCH:
            continue
        if open_minutes * (100 - plan.place.walk_in_percent) < (booked_minutes + length) * 100:
            continue
        days.append(day)
        if day != plan.today or until >= plan.earliest_minute + length:
            plan.candidates.append(day)
    for plan in plans:
        days = sorted(given.get(plan.place.id, []))
        plan.candidates.sort()
        assert plan.inside is not None
        assert plan.asked_to is not None
        # Where the summary was read to is known from what it gave (all of its next
        # days when it gave as many as asked), not from what was left once today was
        # held against the notice.
        plan.fetched_to = days[-1] if len(days) == PER_FETCH else plan.asked_to
        plan.exhausted = plan.fetched_to >= plan.inside[1]


def earliest(finder: SlotFinder) -> Slot | None:
    """The first slot `finder` offers, looking day by day and stopping there: the first
    of `finder.slots()`, without working out the others."""
    for day in finder.days:
        for start in finder.grid(day):
            outcome = finder.check(start)
            if isinstance(outcome, Slot):
                return outcome
            if outcome in SITE_DONE:
                return None
            if outcome in DAY_FULL:
                break
    return None


async def run(
    session: AsyncSession, taken: Sequence[Plan], need: Requirement, now: datetime
) -> list[tuple[int, Slot]]:
    """Look for the first free slot of each of `taken`, a round at a time (each mairie's
    next days, all mairies read together), until each has one or nothing left: each
    mairie's id and slot."""
    active = list(taken)
    found = []
    while active:
        await fetch(session, [plan for plan in active if plan.wants_fetch], need)
        asked = {}
        for plan in active:
            days = plan.next_days()
            if days is not None:
                asked[plan.place.id] = plan.place, days
        finders = await slot_finders(session, asked, need, now)
        still = []
        for plan in active:
            finder = finders.get(plan.place.id)
            if finder is None:
                continue
            slot = earliest(finder)
            if slot is not None:
                found.append((plan.place.id, slot))
            else:
                still.append(plan)
        active = still
    return found
