"""Free slots: a pure function of a site's open days, stations, appointments and
booking rules, with `now` passed in. All instants are UTC."""

from __future__ import annotations

import bisect
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from app.sites.hours import OpenDay, local_instant


@dataclass(frozen=True, slots=True)
class StationInfo:
    id: int
    kind: str
    accessible: bool
    position: int = 0


@dataclass(frozen=True, slots=True)
class Requirement:
    """What one booking needs: a grid step (the service's duration), a length (with the
    needs' extra time), a station kind and, perhaps, an accessible station."""

    grid_minutes: int
    length_minutes: int
    kind: str = "standard"
    accessible: bool = False

    @property
    def grid(self) -> timedelta:
        return timedelta(minutes=self.grid_minutes)

    @property
    def length(self) -> timedelta:
        return timedelta(minutes=self.length_minutes)


@dataclass(frozen=True, slots=True)
class NeedEffect:
    extra_minutes: int = 0
    station_kind: str | None = None
    requires_accessible: bool = False


def requirement(
    duration_minutes: int, station_kind: str, needs: Iterable[NeedEffect] = ()
) -> Requirement:
    """The requirement of a service with these needs."""
    needs = list(needs)
    wants_double = station_kind == "double" or any(n.station_kind == "double" for n in needs)
    return Requirement(
        grid_minutes=duration_minutes,
        length_minutes=duration_minutes + sum(n.extra_minutes for n in needs),
        kind="double" if wants_double else "standard",
        accessible=any(n.requires_accessible for n in needs),
    )


@dataclass(frozen=True, slots=True)
class Booked:
    """An appointment that holds a station (cancelled ones are left out by the caller)."""

    station_id: int
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class Policy:
    """A site's booking rules."""

    min_notice: timedelta = timedelta(hours=2)
    horizon: timedelta = timedelta(days=60)
    walk_in_share: float = 0.30


class Rules(Protocol):
    """What the slot engine reads of a site itself (a `Site`, or a lighter row)."""

    @property
    def id(self) -> int: ...
    @property
    def timezone(self) -> str: ...
    @property
    def booking_min_notice_minutes(self) -> int: ...
    @property
    def booking_horizon_days(self) -> int: ...
    @property
    def walk_in_percent(self) -> int: ...


def policy(site: Rules) -> Policy:
    return Policy(
        min_notice=timedelta(minutes=site.booking_min_notice_minutes),
        horizon=timedelta(days=site.booking_horizon_days),
        walk_in_share=site.walk_in_percent / 100,
    )


@dataclass(frozen=True, slots=True)
class Slot:
    """An offered slot, and the free suitable stations at that time, best first."""

    start: datetime
    end: datetime
    station_ids: tuple[int, ...]


class Refusal(enum.Enum):
    TOO_SOON = "too_soon"
    TOO_LATE = "too_late"
    CLOSED = "closed"
    OFF_GRID = "off_grid"
    NO_STATION = "no_station"
    TAKEN = "taken"
    WALK_IN_SHARE = "walk_in_share"


def suits(station: StationInfo, need: Requirement) -> bool:
    """A double station may take a standard booking; a standard one never a double one."""
    if need.kind == "double" and station.kind != "double":
        return False
    return station.accessible or not need.accessible


def _preference(station: StationInfo, need: Requirement) -> tuple[bool, bool, int, int]:
    """Keep double and accessible stations for the people who need them."""
    return (
        station.kind != need.kind,
        station.accessible and not need.accessible,
        station.position,
        station.id,
    )


@dataclass
class _Busy:
    """One station's taken intervals, merged and sorted, for fast overlap checks."""

    starts: list[datetime] = field(default_factory=list)
    ends: list[datetime] = field(default_factory=list)

    @classmethod
    def of(cls, intervals: list[tuple[datetime, datetime]]) -> _Busy:
        busy = cls()
        for start, end in sorted(intervals):
            if busy.ends and start < busy.ends[-1]:
                busy.ends[-1] = max(busy.ends[-1], end)
            else:
                busy.starts.append(start)
                busy.ends.append(end)
        return busy

    def overlaps(self, start: datetime, end: datetime) -> bool:
        index = bisect.bisect_right(self.ends, start)
        return index < len(self.starts) and self.starts[index] < end


@dataclass
class SlotFinder:
    """Answers availability questions for one site, one requirement, one moment."""

    days: Sequence[OpenDay]
    stations: Sequence[StationInfo]
    booked: Sequence[Booked]
    need: Requirement
    policy: Policy
    now: datetime
    timezone: ZoneInfo
    # Stations out of service: busy like a booking, but not counted as booked time; their
    # open minutes are taken out of the day's capacity instead.
    outages: Sequence[Booked] = ()

    def __post_init__(self) -> None:
        per_station: dict[int, list[tuple[datetime, datetime]]] = {}
        for outage in self.outages:
            per_station.setdefault(outage.station_id, []).append((outage.starts_at, outage.ends_at))
        booked_minutes: dict[date, float] = {}
        days = sorted(day.day for day in self.days)
        midnights = [local_instant(day, time(0), self.timezone) for day in days]
        next_midnights = [
            local_instant(day + timedelta(days=1), time(0), self.timezone) for day in days
        ]
        for item in self.booked:
            per_station.setdefault(item.station_id, []).append((item.starts_at, item.ends_at))
            index = bisect.bisect_right(midnights, item.starts_at) - 1
            if index < 0 or item.starts_at >= next_midnights[index]:
                continue
            day = days[index]
            minutes = (item.ends_at - item.starts_at).total_seconds() / 60
            booked_minutes[day] = booked_minutes.get(day, 0.0) + minutes
        self._busy = {station: _Busy.of(items) for station, items in per_station.items()}
        self._booked_minutes = booked_minutes
        self._candidates = sorted(
            (station for station in self.stations if suits(station, self.need)),
            key=lambda station: _preference(station, self.need),
        )
        self._candidate_busy = [
            (station.id, self._busy.get(station.id)) for station in self._candidates
        ]
        self._length = self.need.length
        self._grid = self.need.grid
        self._earliest = self.now + self.policy.min_notice
        self._latest = self.now + self.policy.horizon
        self._open_minutes = {
            day.day: sum((end - start).total_seconds() for start, end in day.intervals) / 60
            for day in self.days
        }
        present = {station.id for station in self.stations}
        out_of_service: dict[int, list[tuple[datetime, datetime]]] = {}
        for outage in self.outages:
            if outage.station_id in present:
                spans = out_of_service.setdefault(outage.station_id, [])
                spans.append((outage.starts_at, outage.ends_at))
        # A station's overlapping outages take its time out of the day once.
        merged = [_Busy.of(spans) for spans in out_of_service.values()]
        out_spans = [span for busy in merged for span in zip(busy.starts, busy.ends, strict=True)]
        self._out_minutes = {
            day.day: sum(_overlap_minutes(day.intervals, start, end) for start, end in out_spans)
            for day in self.days
        }

    def online_capacity(self, day: date) -> float:
        """Station minutes of `day` that bookings may take; the rest is kept for walk-ins."""
        station_minutes = self._open_minutes.get(day, 0.0) * len(self.stations)
        station_minutes -= self._out_minutes.get(day, 0.0)
        # Rounded off the float's last bits: 720 minutes with 30 % kept are 504, not
        # 503.99999999999994, and a room of exactly the length is offered.
        return round(station_minutes * (1 - self.policy.walk_in_share), 6)

    def booked_minutes(self, day: date) -> float:
        return self._booked_minutes.get(day, 0.0)

    def grid(self, day: OpenDay) -> list[datetime]:
        """Every start the grid offers on `day`, taken or not: from each opening, one
        step of the service's duration at a time, while the booking still fits."""
        starts = []
        length, step = self._length, self._grid
        for opens, closes in day.intervals:
            start = opens
            while start + length <= closes:
                starts.append(start)
                start += step
        return starts

    def slots(self) -> list[Slot]:
        """The free slots, ordered by start."""
        found = []
        for day in self.days:
            room = self.online_capacity(day.day) - self.booked_minutes(day.day)
            if room < self.need.length_minutes:
                continue
            for start in self.grid(day):
                if self._earliest <= start <= self._latest:
                    slot = self._slot_at(start)
                    if slot is not None:
                        found.append(slot)
        return found

    def check(self, start: datetime) -> Slot | Refusal:
        """The slot at `start`, or why it cannot be booked."""
        if start < self._earliest:
            return Refusal.TOO_SOON
        if start > self._latest:
            return Refusal.TOO_LATE
        local_day = start.astimezone(self.timezone).date()
        day = next((d for d in self.days if d.day == local_day), None)
        if day is None or not day.is_open:
            return Refusal.CLOSED
        if start not in self.grid(day):
            inside = any(opens <= start < closes for opens, closes in day.intervals)
            return Refusal.OFF_GRID if inside else Refusal.CLOSED
        if not self._candidates:
            return Refusal.NO_STATION
        slot = self._slot_at(start)
        if slot is None:
            return Refusal.TAKEN
        room = self.online_capacity(day.day) - self.booked_minutes(day.day)
        if room < self.need.length_minutes:
            return Refusal.WALK_IN_SHARE
        return slot

    def _slot_at(self, start: datetime) -> Slot | None:
        end = start + self._length
        free = tuple(
            station_id
            for station_id, busy in self._candidate_busy
            if busy is None or not busy.overlaps(start, end)
        )
        return Slot(start, end, free) if free else None


def _overlap_minutes(
    intervals: Iterable[tuple[datetime, datetime]], start: datetime, end: datetime
) -> float:
    seconds = sum(
        max(0.0, (min(closes, end) - max(opens, start)).total_seconds())
        for opens, closes in intervals
    )
    return seconds / 60


def free_stations(
    stations: Sequence[StationInfo],
    need: Requirement,
    held: Sequence[Booked],
    start: datetime,
    end: datetime,
) -> list[int]:
    """The stations suited to `need` that nothing in `held` (appointments, outages) takes
    between `start` and `end`, best first: where an appointment can go at the same time."""
    taken = {item.station_id for item in held if item.starts_at < end and start < item.ends_at}
    suited = [s for s in stations if suits(s, need) and s.id not in taken]
    return [s.id for s in sorted(suited, key=lambda station: _preference(station, need))]


@dataclass(frozen=True, slots=True)
class Holding:
    """A booked appointment as the rules see it: where, when, and what it needs."""

    id: int
    station_id: int
    starts_at: datetime
    ends_at: datetime
    need: Requirement


def rehome(
    holdings: Sequence[Holding],
    days: Sequence[OpenDay],
    stations: Sequence[StationInfo],
    taken: Mapping[int, Booked],
    outages: Sequence[Booked],
    timezone: ZoneInfo,
) -> dict[int, int | None]:
    """Where each of `holdings` the site can no longer honour as booked may go at the same
    time: the best suitable station free then, or None when there is none (the site is
    closed then, or every suitable station is taken or out of service). Those still fine
    where they are are left out.

    `stations` are the site's active ones; `taken` holds every appointment holding a
    station in the period, by id, `holdings` among them. Earlier appointments are placed
    first, each placement taking its station for the later ones.
    """
    open_days = {day.day: day for day in days}
    by_id = {station.id: station for station in stations}
    held = dict(taken)
    placed: dict[int, int | None] = {}
    for item in sorted(holdings, key=lambda holding: (holding.starts_at, holding.id)):
        day = open_days.get(item.starts_at.astimezone(timezone).date())
        is_open = day is not None and any(
            opens <= item.starts_at and item.ends_at <= closes for opens, closes in day.intervals
        )
        station = by_id.get(item.station_id)
        station_out = any(
            outage.station_id == item.station_id
            and outage.starts_at < item.ends_at
            and item.starts_at < outage.ends_at
            for outage in outages
        )
        if is_open and station is not None and suits(station, item.need) and not station_out:
            continue
        if not is_open:
            placed[item.id] = None
            continue
        others = [booked for key, booked in held.items() if key != item.id]
        free = free_stations(stations, item.need, [*others, *outages], item.starts_at, item.ends_at)
        placed[item.id] = free[0] if free else None
        if free:
            held[item.id] = Booked(free[0], item.starts_at, item.ends_at)
    return placed


def nearest(slots: Sequence[Slot], target: datetime, count: int = 3) -> list[Slot]:
    """The `count` slots closest in time to `target`, in order of start."""
    closest = sorted(slots, key=lambda slot: (abs(slot.start - target), slot.start))[:count]
    return sorted(closest, key=lambda slot: slot.start)
