"""The slot engine against a brute-force reference that looks at every minute of every
station: open or not, closed, out of service, booked; then the service's grid, the
booking window and the walk-in share, as DESIGN.md states them.

The reference uses none of the engine's helpers (nor the calendar's): it reads plain
data and works in whole minutes counted from a fixed UTC origin. Its rules:

- A day's open minutes are those inside its wall-clock ranges (a time in the missing
  spring hour read with the winter offset, a time in the repeated autumn hour taken the
  first time) and outside every closure. The openings are the starts of the runs of open
  minutes: two ranges that touch make one run, a closure splits one.
- A start is on the grid when it is a whole number of service durations after a run's
  opening and the whole length (with the needs' extra time) ends by the run's close.
- The booking window holds both its ends: now + notice <= start <= now + horizon.
- A station is free when no appointment and no outage holds it in any minute of
  [start, start + length): an appointment ending at the start, or beginning at the end,
  leaves it free.
- The day's room is (open station-minutes - out-of-service station-minutes), times
  (1 - share), minus the minutes of the appointments starting that (local) day; a start
  is offered only while the room is at least the length. Exact arithmetic: a share is a
  whole percentage, as a site stores it.
- check() refuses, in this order: too soon, too late, closed (no such day or closed all
  day, or outside its open runs), off grid (inside a run, not on its grid), no station of
  the site suits, taken, walk-in share.
- Free stations are listed best first: a station another kind of person needs (double,
  accessible) after the plain ones, then by position, then by id.

Two engine bugs the reference found have their examples at the end: the walk-in share
computed in floats refusing a room of exactly the length, and overlapping outages of
one station taken out of capacity twice.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import TypeVar
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.booking.slots import Booked, Policy, Refusal, Requirement, Slot, SlotFinder, StationInfo
from app.sites.hours import OpenDay

PARIS = ZoneInfo("Europe/Paris")
MINUTE = timedelta(minutes=1)
DAY_MINUTES = 24 * 60


def wall(day: date, minute_of_day: int) -> datetime:
    """A wall-clock minute of `day` in Paris as a UTC instant (fold 0: a time in the
    spring gap has the winter offset, a repeated autumn time is its first occurrence)."""
    hour, minute = divmod(minute_of_day, 60)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS).astimezone(UTC)


@dataclass(frozen=True)
class Place:
    id: int
    kind: str
    accessible: bool
    position: int


@dataclass(frozen=True)
class Span:
    """An appointment or an outage: a station held from `starts` to `ends`."""

    station: int
    starts: datetime
    ends: datetime


@dataclass(frozen=True)
class NeedPart:
    extra_minutes: int
    double: bool
    accessible: bool


@dataclass(frozen=True)
class World:
    """A site over a few consecutive days, in plain data."""

    hours: tuple[tuple[date, tuple[tuple[int, int], ...]], ...]  # wall-clock minutes
    closures: tuple[tuple[datetime, datetime], ...]
    stations: tuple[Place, ...]
    bookings: tuple[Span, ...]
    outages: tuple[Span, ...]
    duration: int  # the service's, the grid's step
    service_double: bool
    needs: tuple[NeedPart, ...]
    percent: int  # kept for walk-ins
    notice: timedelta
    horizon: timedelta
    now: datetime
    # Appointments cancelled or called off: stored in the database, holding nothing.
    released: tuple[Span, ...] = ()

    @property
    def days(self) -> list[date]:
        return [day for day, _ in self.hours]

    @property
    def length(self) -> int:
        return self.duration + sum(need.extra_minutes for need in self.needs)

    @property
    def double(self) -> bool:
        return self.service_double or any(need.double for need in self.needs)

    @property
    def accessible(self) -> bool:
        return any(need.accessible for need in self.needs)


def bits(first: int, last: int) -> int:
    """The minutes from `first` to `last` (excluded) as a bit set."""
    return ((1 << (last - first)) - 1) << first if last > first else 0


class Reference:
    """Free slots worked out minute by minute."""

    def __init__(self, world: World) -> None:
        self.world = world
        days = world.days
        self.origin = datetime.combine(days[0] - timedelta(days=2), time(0), UTC)
        self.size = (len(days) + 4) * DAY_MINUTES
        self.midnights = {day: self.index(wall(day, 0)) for day in days}
        self.midnights[days[-1] + timedelta(days=1)] = self.index(
            wall(days[-1] + timedelta(days=1), 0)
        )
        self.open: dict[date, int] = {}
        for day, ranges in world.hours:
            minutes = 0
            for opens, closes in ranges:
                minutes |= bits(self.index(wall(day, opens)), self.index(wall(day, closes)))
            for starts, ends in world.closures:
                minutes &= ~bits(self.index(starts), self.index(ends))
            self.open[day] = minutes
        self.busy = {place.id: 0 for place in world.stations}
        self.out = {place.id: 0 for place in world.stations}
        for span in world.bookings:
            self.busy[span.station] |= bits(self.index(span.starts), self.index(span.ends))
        for span in world.outages:
            held = bits(self.index(span.starts), self.index(span.ends))
            self.busy[span.station] |= held
            self.out[span.station] |= held
        need_double, need_accessible = world.double, world.accessible
        suitable = [
            place
            for place in world.stations
            if (place.kind == "double" or not need_double)
            and (place.accessible or not need_accessible)
        ]
        self.suitable = sorted(
            suitable,
            key=lambda place: (
                place.kind == "double" and not need_double,
                place.accessible and not need_accessible,
                place.position,
                place.id,
            ),
        )
        self.earliest = world.now + world.notice
        self.latest = world.now + world.horizon
        self._runs: dict[date, list[tuple[int, int]]] = {}
        self._grid: dict[date, list[int]] = {}

    def index(self, instant: datetime) -> int:
        """Whole minutes since the origin, kept inside the studied span."""
        minutes = (instant - self.origin) // MINUTE
        return max(0, min(self.size, minutes))

    def at(self, minute: int) -> datetime:
        return self.origin + minute * MINUTE

    def day_of(self, minute: int) -> date | None:
        for day in self.world.days:
            if self.midnights[day] <= minute < self.midnights[day + timedelta(days=1)]:
                return day
        return None

    def runs(self, day: date) -> list[tuple[int, int]]:
        """The day's open minutes as runs (first, after last)."""
        if day not in self._runs:
            text = format(self.open[day], "b")[::-1]
            self._runs[day] = [(match.start(), match.end()) for match in re.finditer("1+", text)]
        return self._runs[day]

    def grid(self, day: date) -> list[int]:
        if day not in self._grid:
            starts = []
            length, step = self.world.length, self.world.duration
            for first, after in self.runs(day):
                start = first
                while start + length <= after:
                    starts.append(start)
                    start += step
            self._grid[day] = starts
        return self._grid[day]

    def free(self, minute: int) -> tuple[int, ...]:
        held = bits(minute, minute + self.world.length)
        return tuple(place.id for place in self.suitable if not self.busy[place.id] & held)

    def open_station_minutes(self, day: date) -> int:
        return self.open[day].bit_count() * len(self.world.stations)

    def out_station_minutes(self, day: date) -> int:
        return sum((self.open[day] & out).bit_count() for out in self.out.values())

    def capacity(self, day: date) -> Fraction:
        usable = self.open_station_minutes(day) - self.out_station_minutes(day)
        return Fraction(usable * (100 - self.world.percent), 100)

    def booked_minutes(self, day: date) -> int:
        first, after = self.midnights[day], self.midnights[day + timedelta(days=1)]
        return sum(
            (span.ends - span.starts) // MINUTE
            for span in self.world.bookings
            if first <= (span.starts - self.origin) // MINUTE < after
        )

    def room(self, day: date) -> Fraction:
        return self.capacity(day) - self.booked_minutes(day)

    def slot(self, minute: int) -> Slot:
        start = self.at(minute)
        return Slot(start, start + self.world.length * MINUTE, self.free(minute))

    def slots(self) -> list[Slot]:
        found = []
        for day in self.world.days:
            if self.room(day) < self.world.length:
                continue
            for minute in self.grid(day):
                if self.earliest <= self.at(minute) <= self.latest and self.free(minute):
                    found.append(self.slot(minute))
        return found

    def check(self, start: datetime) -> Slot | Refusal:
        if start < self.earliest:
            return Refusal.TOO_SOON
        if start > self.latest:
            return Refusal.TOO_LATE
        minute = (start - self.origin) // MINUTE
        day = self.day_of(minute)
        if day is None or not self.open[day]:
            return Refusal.CLOSED
        if self.at(minute) != start or minute not in self.grid(day):
            inside = any(first <= minute < after for first, after in self.runs(day))
            return Refusal.OFF_GRID if inside else Refusal.CLOSED
        if not self.suitable:
            return Refusal.NO_STATION
        if not self.free(minute):
            return Refusal.TAKEN
        if self.room(day) < self.world.length:
            return Refusal.WALK_IN_SHARE
        return self.slot(minute)


def open_days(world: World) -> list[OpenDay]:
    """The engine's input: each day's open runs as UTC intervals."""
    reference = Reference(world)
    return [
        OpenDay(
            day,
            tuple(
                (reference.at(first), reference.at(after)) for first, after in reference.runs(day)
            ),
        )
        for day in world.days
    ]


def engine(world: World) -> SlotFinder:
    return SlotFinder(
        days=open_days(world),
        stations=[StationInfo(p.id, p.kind, p.accessible, p.position) for p in world.stations],
        booked=[Booked(span.station, span.starts, span.ends) for span in world.bookings],
        need=Requirement(
            grid_minutes=world.duration,
            length_minutes=world.length,
            kind="double" if world.double else "standard",
            accessible=world.accessible,
        ),
        policy=Policy(
            min_notice=world.notice, horizon=world.horizon, walk_in_share=world.percent / 100
        ),
        now=world.now,
        timezone=PARIS,
        outages=[Booked(span.station, span.starts, span.ends) for span in world.outages],
    )


# Generated worlds. Strategies are built once: building them in each draw is what
# would make the property slow.

SPRING_FORWARD = (date(2026, 3, 29), date(2027, 3, 28))
FALL_BACK = (date(2026, 10, 25), date(2027, 10, 31))
ORDINARY = (date(2026, 12, 1), date(2027, 1, 12), date(2027, 6, 17))
BASES = st.sampled_from(SPRING_FORWARD + FALL_BACK + ORDINARY)
SHAPES = st.sampled_from(["closed", "one", "one", "two", "two"])
NIGHT_FIVES, DAY_FIVES = st.integers(0, 5 * 12), st.integers(6 * 12, 21 * 12)
NIGHT_POINTS = st.lists(st.integers(0, 7 * 12), min_size=4, max_size=4)
DAY_POINTS = st.lists(st.integers(6 * 12, 23 * 12), min_size=4, max_size=4)
RANGE_FIVES = st.integers(1, 9 * 12)
OFFSET_FIVES = st.integers(-12, 60)
NUDGES = st.sampled_from([0, 0, 0, -1, 1])
CLOSURE_LENGTHS = st.sampled_from([1, 15, 30, 60, 90, 240])
BOOKING_LENGTHS = st.sampled_from([1, 15, 29, 30, 31, 45, 60, 90])
OUTAGE_LENGTHS = st.sampled_from([15, 30, 60, 180, 600])
RELEASED_LENGTHS = st.sampled_from([30, 60])
KINDS = st.sampled_from(["standard", "standard", "double"])
RARELY = st.sampled_from([False, False, False, False, True])
EXTRAS = st.sampled_from([0, 0, 10, 15, 30])
DURATIONS = st.sampled_from([15, 20, 30, 45, 60])
PERCENTS = st.sampled_from([0, 0, 30, 30, 25, 50, 100]) | st.integers(0, 100)
NOTICES = st.sampled_from([0, 60, 120]) | st.integers(0, 2 * DAY_MINUTES)
HORIZONS = st.sampled_from([60 * DAY_MINUTES]) | st.integers(0, 3 * DAY_MINUTES)
HORIZON_DAYS = st.sampled_from([1, 2, 3, 60])
SECONDS = st.sampled_from([0, 0, 0, 30])
SPARES = st.sampled_from([-1, 0, 1])
WINDOWS = st.sampled_from(["earliest", "latest", "wide"])
WINDOW_STEPS = st.integers(0, 16)

Hours = list[tuple[date, tuple[tuple[int, int], ...]]]
T = TypeVar("T")


def pick(draw: st.DrawFn, items: Sequence[T]) -> T:
    return items[draw(st.integers(0, len(items) - 1))]


def day_ranges(draw: st.DrawFn, dst: bool) -> tuple[tuple[int, int], ...]:
    """Closed, one range, or a morning and an afternoon (perhaps touching), on 5 minutes;
    around the night's change of hour on a DST day, now and then."""
    shape = draw(SHAPES)
    if shape == "closed":
        return ()
    night = dst and draw(st.booleans())
    if shape == "one":
        opens = draw(NIGHT_FIVES if night else DAY_FIVES) * 5
        closes = min(opens + draw(RANGE_FIVES) * 5, DAY_MINUTES - 5)
        return ((opens, closes),) if opens < closes else ()
    points = sorted(draw(NIGHT_POINTS if night else DAY_POINTS))
    morning, afternoon = (points[0] * 5, points[1] * 5), (points[2] * 5, points[3] * 5)
    return tuple(r for r in (morning, afternoon) if r[0] < r[1])


def edges(hours: Hours) -> list[datetime]:
    """Instants worth putting an edge on: midnights (the last day's end too), openings,
    closings."""
    instants = [wall(day, minute) for day, ranges in hours for minute in (0, *sum(ranges, ()))]
    return [*instants, wall(hours[-1][0] + timedelta(days=1), 0)]


def span(
    draw: st.DrawFn, instants: list[datetime], lengths: st.SearchStrategy[int]
) -> tuple[datetime, datetime]:
    """From near an edge (on it, on five minutes after or before it, or a minute off)."""
    offset = draw(OFFSET_FIVES) * 5 + draw(NUDGES)
    starts = pick(draw, instants) + offset * MINUTE
    return starts, starts + draw(lengths) * MINUTE


def without_overlaps(items: list[Span]) -> list[Span]:
    """One at a time per station: what the database allows appointments."""
    kept: list[Span] = []
    for item in items:
        if not any(
            other.station == item.station and other.starts < item.ends and item.starts < other.ends
            for other in kept
        ):
            kept.append(item)
    return kept


@st.composite
def worlds(draw: st.DrawFn, *, database: bool = False) -> World:
    """1-3 days (a DST Sunday among them most of the time), 1-5 stations, hours, closures,
    outages, appointments (edges on openings, closings and each other), needs, a share,
    and a booking window falling anywhere around the days. With `database`, the shapes
    the tables allow: one appointment per station at a time, a horizon in whole days."""
    base = draw(BASES)
    count = draw(st.integers(1, 3))
    first = base - timedelta(days=draw(st.integers(0, count - 1)))
    days = [first + timedelta(days=n) for n in range(count)]
    dst = set(SPRING_FORWARD + FALL_BACK)
    hours = [(day, day_ranges(draw, day in dst)) for day in days]
    instants = edges(hours)
    closures = tuple(span(draw, instants, CLOSURE_LENGTHS) for _ in range(draw(st.integers(0, 2))))
    ids = draw(st.lists(st.integers(1, 9), min_size=1, max_size=5, unique=True))
    stations = tuple(
        Place(number, draw(KINDS), draw(st.booleans()), draw(st.integers(0, 3))) for number in ids
    )
    bookings = [
        Span(pick(draw, ids), *span(draw, instants, BOOKING_LENGTHS))
        for _ in range(draw(st.integers(0, 10)))
    ]
    outages = [
        Span(pick(draw, ids), *span(draw, instants, OUTAGE_LENGTHS))
        for _ in range(draw(st.integers(0, 3)))
    ]
    if database:
        bookings = without_overlaps(bookings)
    needs = tuple(
        NeedPart(draw(EXTRAS), draw(RARELY), draw(RARELY)) for _ in range(draw(st.integers(0, 2)))
    )
    notice = draw(NOTICES) * MINUTE
    horizon = timedelta(days=draw(HORIZON_DAYS)) if database else draw(HORIZONS) * MINUTE
    # The window's earliest or latest end falls near an edge of the days (where it cuts
    # the offer), or the whole of the days lies inside it.
    duration = draw(DURATIONS)
    steps = draw(WINDOW_STEPS) * duration + draw(NUDGES)
    target = pick(draw, instants) + steps * MINUTE
    window = draw(WINDOWS)
    if window == "earliest":
        now = target - notice
    elif window == "latest":
        now = target - horizon
    else:
        now, horizon = wall(days[0], 0) - timedelta(days=1), timedelta(days=60)
    now += draw(SECONDS) * timedelta(seconds=1)
    world = World(
        hours=tuple(hours),
        closures=closures,
        stations=stations,
        bookings=tuple(bookings),
        outages=tuple(outages),
        duration=duration,
        service_double=draw(RARELY),
        needs=needs,
        percent=draw(PERCENTS),
        notice=notice,
        horizon=horizon,
        now=now,
    )
    opened = [day for day, ranges in hours if ranges]
    if opened and draw(st.booleans()):
        world = fill_to_the_share(world, pick(draw, opened), draw(SPARES))
    if database:
        released = [
            Span(pick(draw, ids), *span(draw, instants, RELEASED_LENGTHS))
            for _ in range(draw(st.integers(0, 2)))
        ]
        world = dataclasses.replace(world, released=tuple(released))
    return world


def fill_to_the_share(world: World, day: date, spare: int) -> World:
    """More appointments on `day`, where stations are free (first outside the opening
    hours), so that the day's room ends `spare` minutes away from the booking's length:
    the walk-in share then binds exactly (0), just (-1), or just not (1)."""
    reference = Reference(world)
    wanted = int(reference.room(day)) - world.length - spare
    if wanted <= 0:
        return world
    first, after = reference.midnights[day], reference.midnights[day + timedelta(days=1)]
    added: list[Span] = []
    for prefer_closed in (True, False):
        for place in world.stations:
            taken = reference.busy[place.id] | sum(
                bits(reference.index(s.starts), reference.index(s.ends))
                for s in added
                if s.station == place.id
            )
            minute = first
            while minute < after and wanted > 0:
                usable = not taken >> minute & 1
                if prefer_closed:
                    usable = usable and not reference.open[day] >> minute & 1
                if not usable:
                    minute += 1
                    continue
                end = minute
                while end < after and end - minute < wanted:
                    if taken >> end & 1 or (prefer_closed and reference.open[day] >> end & 1):
                        break
                    end += 1
                added.append(Span(place.id, reference.at(minute), reference.at(end)))
                taken |= bits(minute, end)
                wanted -= end - minute
                minute = end
    return dataclasses.replace(world, bookings=world.bookings + tuple(added))


def hhmm(text: str) -> int:
    hour, minute = map(int, text.split(":"))
    return hour * 60 + minute


SATURDAY, SUNDAY, MONDAY = date(2026, 10, 24), date(2026, 10, 25), date(2026, 10, 26)


def local(day: date, text: str) -> datetime:
    return wall(day, hhmm(text))


# A weekend around the autumn change and a Monday, by hand: a Sunday night open across
# the repeated hour, a closure splitting Monday morning, an outage, appointments on the
# edges, cancelled ones where others hold the station.
AUTUMN_WEEKEND = World(
    hours=(
        (SATURDAY, ((hhmm("09:00"), hhmm("12:30")),)),
        (SUNDAY, ((hhmm("01:00"), hhmm("04:00")),)),
        (MONDAY, ((hhmm("08:30"), hhmm("12:30")), (hhmm("13:30"), hhmm("17:00")))),
    ),
    closures=((local(MONDAY, "10:00"), local(MONDAY, "11:00")),),
    stations=(
        Place(1, "standard", False, 1),
        Place(2, "standard", True, 2),
        Place(3, "double", True, 3),
    ),
    bookings=(
        Span(1, local(SATURDAY, "09:00"), local(SATURDAY, "10:00")),
        Span(3, local(SUNDAY, "02:30"), local(SUNDAY, "03:00")),  # the first 02:30
        Span(2, local(MONDAY, "08:30"), local(MONDAY, "09:00")),
        Span(2, local(MONDAY, "11:00"), local(MONDAY, "11:31")),
        Span(3, local(MONDAY, "16:30"), local(MONDAY, "17:00")),
    ),
    outages=(Span(1, local(MONDAY, "13:30"), local(MONDAY, "15:00")),),
    duration=30,
    service_double=False,
    needs=(),
    percent=30,
    notice=timedelta(hours=2),
    horizon=timedelta(days=60),
    now=local(date(2026, 10, 23), "14:00"),
    released=(Span(2, local(MONDAY, "08:30"), local(MONDAY, "09:00")),),
)
# The same for a wheelchair user needing long help (a double station, 15 minutes more),
# three days ahead at most (to Monday 13:00: the night gave an hour back), and Monday
# booked until its room is exactly that booking's length.
AUTUMN_WEEKEND_FULL = fill_to_the_share(
    dataclasses.replace(
        AUTUMN_WEEKEND,
        needs=(NeedPart(15, True, True),),
        horizon=timedelta(days=3),
        now=local(date(2026, 10, 23), "14:00"),
    ),
    MONDAY,
    0,
)


def starts_to_ask(world: World, reference: Reference, extra: list[int]) -> Iterator[datetime]:
    """Every grid start of every day, each opening and closing and a minute either side,
    and some other instants."""
    for day in world.days:
        for minute in reference.grid(day):
            yield reference.at(minute)
        for first, after in reference.runs(day):
            for minute in (first - 1, first, first + 1, after - 1, after, after + 1):
                yield reference.at(minute)
    first = reference.midnights[world.days[0]]
    for offset in extra:
        yield reference.at(first + offset)
    yield reference.at(first + 600) + timedelta(seconds=30)


@settings(max_examples=200, deadline=None)
@example(world=AUTUMN_WEEKEND, others=[])
@example(world=AUTUMN_WEEKEND_FULL, others=[])
@given(world=worlds(), others=st.lists(st.integers(-60, 3 * DAY_MINUTES + 60), max_size=20))
def test_the_engine_offers_exactly_the_free_slots_the_reference_finds_minute_by_minute(
    world: World, others: list[int]
) -> None:
    finder, reference = engine(world), Reference(world)

    assert finder.slots() == reference.slots()
    for start in starts_to_ask(world, reference, others):
        assert finder.check(start) == reference.check(start), start
    for day in world.days:
        assert finder.booked_minutes(day) == reference.booked_minutes(day)
        assert finder.online_capacity(day) == pytest.approx(float(reference.capacity(day)))


@settings(max_examples=40, deadline=None)
@given(world=worlds())
def test_booking_the_offered_slots_one_after_another_never_overlaps_nor_passes_the_share(
    world: World,
) -> None:
    booked = list(world.bookings)
    for slot in engine(world).slots():
        now = dataclasses.replace(world, bookings=tuple(booked))
        outcome = engine(now).check(slot.start)
        assert outcome == Reference(now).check(slot.start)
        if isinstance(outcome, Slot):
            booked.append(Span(outcome.station_ids[0], outcome.start, outcome.end))
    final = Reference(dataclasses.replace(world, bookings=tuple(booked)))

    added = booked[len(world.bookings) :]
    for item in added:
        for other in booked:
            if other is not item and other.station == item.station:
                assert other.ends <= item.starts or item.ends <= other.starts
    for day in {final.day_of(final.index(item.starts)) for item in added}:
        assert day is not None
        assert final.booked_minutes(day) <= final.capacity(day)


# Bugs the reference found, as examples with counted answers.

TUESDAY = date(2026, 12, 1)


def tuesday(hhmm: str) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return wall(TUESDAY, hour * 60 + minute)


def a_tuesday(
    opens: str,
    closes: str,
    stations: int,
    percent: int,
    bookings: tuple[Span, ...] = (),
    outages: tuple[Span, ...] = (),
) -> World:
    return World(
        hours=((TUESDAY, ((wall_minutes(opens), wall_minutes(closes)),)),),
        closures=(),
        stations=tuple(Place(n, "standard", False, n) for n in range(1, stations + 1)),
        bookings=bookings,
        outages=outages,
        duration=30,
        service_double=False,
        needs=(),
        percent=percent,
        notice=timedelta(hours=2),
        horizon=timedelta(days=60),
        now=tuesday("06:00"),
    )


def wall_minutes(hhmm: str) -> int:
    hour, minute = map(int, hhmm.split(":"))
    return hour * 60 + minute


def test_the_last_minutes_of_online_capacity_are_offered_whatever_the_share() -> None:
    # A Saturday-like morning: 3 stations x 4 h = 720 station-minutes, 30 % kept for
    # walk-ins: 504 minutes online; 474 booked leave exactly one 30-minute slot.
    world = a_tuesday(
        "08:30",
        "12:30",
        stations=3,
        percent=30,
        bookings=(
            Span(1, tuesday("08:30"), tuesday("12:30")),
            Span(2, tuesday("08:30"), tuesday("12:24")),
        ),
    )

    finder = engine(world)

    assert finder.check(tuesday("12:00")) == Slot(tuesday("12:00"), tuesday("12:30"), (3,))
    assert [slot.start for slot in finder.slots()][-1] == tuesday("12:00")


def test_two_overlapping_outages_of_one_station_take_its_time_out_of_capacity_once() -> None:
    # 2 stations x 8.5 h = 1020 station-minutes; station 1 out 09:00-13:00 (240 minutes,
    # declared as two overlapping outages); half kept for walk-ins: (1020 - 240) / 2 = 390.
    world = a_tuesday(
        "08:30",
        "17:00",
        stations=2,
        percent=50,
        bookings=(Span(2, tuesday("08:30"), tuesday("14:30")),),
        outages=(
            Span(1, tuesday("09:00"), tuesday("12:00")),
            Span(1, tuesday("10:00"), tuesday("13:00")),
        ),
    )

    finder = engine(world)

    assert finder.online_capacity(TUESDAY) == 390
    # 360 minutes booked: room for exactly one more half hour.
    assert finder.check(tuesday("16:30")) == Slot(tuesday("16:30"), tuesday("17:00"), (1, 2))


def test_overlapping_outages_of_two_stations_each_take_their_own_time_out_of_capacity() -> None:
    # 2 stations x 8.5 h = 1020 station-minutes; station 1 out 09:00-12:00 and station 2
    # 10:00-13:00, overlapping in time but not the same station: 180 + 180 out, and half
    # kept for walk-ins: (1020 - 360) / 2 = 330.
    world = a_tuesday(
        "08:30",
        "17:00",
        stations=2,
        percent=50,
        outages=(
            Span(1, tuesday("09:00"), tuesday("12:00")),
            Span(2, tuesday("10:00"), tuesday("13:00")),
        ),
    )

    assert engine(world).online_capacity(TUESDAY) == 330
