"""Waiting estimates: a range (optimistic–pessimistic) from a plan of the calls to come.

Three plans of the same queue (`ordering.calling_plan`): the open stations calling in
turn, each busy for a service's usual time (the central plan: it gives the positions),
for a short one with every open station at work (the optimistic end), and for a long
one with only the stations seen at work (the pessimistic end). Appointments due in the
coming hour are in the usual plan, all of the day's in the pessimistic one: they take
stations at their time. A service's times are
robust statistics of its latest durations at the site: outliers cut, quantiles, never
less than a floor (half the catalog's duration), the catalog's duration standing in for
missing samples. Everything here takes `now`; the queue service gathers the inputs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.queue.ordering import (
    Call,
    Caller,
    Desk,
    Waiting,
    calling_plan,
    can_serve,
    positions,
)

SAMPLE_SIZE = 40  # the latest finished services of that service at that site
MIN_SAMPLES = 8  # fewer, and the catalog's duration fills in for the missing ones
FLOOR_SHARE = 0.5  # no service is expected to take less than half its catalog time
LOW_QUANTILE = 0.1
TYPICAL_QUANTILE = 0.5
HIGH_QUANTILE = 0.9
OUTLIER_FENCE = 1.5  # Tukey's: beyond 1.5 interquartile ranges from the quartiles
CALL_DELAY = timedelta(minutes=1)  # between a station's call and the next one it makes
STAFFED_WITHIN = timedelta(hours=1)  # a station seen at work since is taken as staffed
IDLE_GRACE = timedelta(minutes=10)  # a free station leaving someone waiting longer is not
COMING_WITHIN = timedelta(hours=1)  # the appointments the usual plan counts before they come
LATER_WITHIN = timedelta(hours=12)  # and the pessimistic plan: all of the day's
DEFAULT_MINUTES = 30  # a service missing from the catalog


@dataclass(frozen=True, slots=True)
class ServiceTimes:
    """How long one service takes at a site: short, usual, long."""

    low: timedelta
    typical: timedelta
    high: timedelta


def quantile(ordered: Sequence[float], share: float) -> float:
    """The `share` quantile of sorted values, interpolated (at least one value)."""
    position = share * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def without_outliers(values: Sequence[float]) -> list[float]:
    """Sorted values, less those beyond Tukey's fences (with four values or more)."""
    ordered = sorted(values)
    if len(ordered) < 4:
        return ordered
    first, third = quantile(ordered, 0.25), quantile(ordered, 0.75)
    fence = OUTLIER_FENCE * (third - first)
    return [v for v in ordered if first - fence <= v <= third + fence]


def service_times(recent_minutes: Sequence[float], default_minutes: float) -> ServiceTimes:
    """The times of a service from its latest durations in minutes (newest first), and
    its catalog duration for a site that has too few yet."""
    recent = [d for d in recent_minutes[:SAMPLE_SIZE] if d >= 0]
    samples = without_outliers(recent)
    samples = sorted(samples + [default_minutes] * max(0, MIN_SAMPLES - len(samples)))
    floor = default_minutes * FLOOR_SHARE

    def minutes(share: float) -> timedelta:
        return timedelta(minutes=max(floor, quantile(samples, share)))

    return ServiceTimes(minutes(LOW_QUANTILE), minutes(TYPICAL_QUANTILE), minutes(HIGH_QUANTILE))


@dataclass(frozen=True, slots=True)
class OpenStation:
    """A station in service now (not out of order). `last_seen`: its latest call or move
    of a ticket today, if any. `busy_since` and `busy_with` (a service id): the call or
    start of the ticket it has now, if any."""

    caller: Caller
    last_seen: datetime | None = None
    busy_since: datetime | None = None
    busy_with: int | None = None


def staffed(station: OpenStation, tickets: Sequence[Waiting], now: datetime) -> bool:
    """Whether someone is at `station`, as far as the queue can tell: busy, or seen at
    work within the hour, or at least not seen leaving waiting someone it could have
    called (a free station with an agent calls within minutes)."""
    if station.busy_since is not None:
        return True
    if station.last_seen is not None and now - station.last_seen <= STAFFED_WITHIN:
        return True
    since = station.last_seen or datetime.min.replace(tzinfo=now.tzinfo)
    return not any(
        now - max(ticket.arrived_at, since) > IDLE_GRACE
        for ticket in tickets
        if can_serve(station.caller, ticket)
    )


@dataclass(frozen=True, slots=True)
class Forecast:
    position: int
    minutes: tuple[int, int] | None


def _desks(
    stations: Sequence[OpenStation],
    times: Mapping[int, ServiceTimes],
    default: ServiceTimes,
    now: datetime,
    which: str,
) -> list[Desk]:
    desks = []
    for station in stations:
        free_at = now
        if station.busy_since is not None:
            took = getattr(times.get(station.busy_with or 0, default), which)
            free_at = max(now, station.busy_since + took)
        desks.append(Desk(station.caller, free_at))
    return desks


def forecast(
    tickets: Sequence[Waiting],
    stations: Sequence[OpenStation],
    times: Mapping[int, ServiceTimes],
    default: ServiceTimes,
    now: datetime,
    threshold: timedelta,
    expected: Sequence[Waiting] = (),
) -> dict[int, Forecast]:
    """Each waiting ticket's place and range of minutes until its call. The place counts
    everybody here who will be called before it, whatever their kind; the range is None
    when no open station can serve the ticket. `times` by service id; `expected` are
    the booked people due today who have not checked in yet: the usual plan counts those
    due within the hour, the pessimistic one all of them, the optimistic one none (they
    may not come)."""
    soon = [t for t in expected if t.due_at is not None and t.due_at <= now + COMING_WITHIN]
    at_work = [s for s in stations if staffed(s, tickets, now)] or list(stations)

    def plan(chosen: Sequence[OpenStation], which: str, coming: Sequence[Waiting]) -> list[Call]:
        took = {
            t.id: getattr(times.get(t.service, default), which) + CALL_DELAY
            for t in [*tickets, *coming]
        }
        desks = _desks(chosen, times, default, now, which)
        return calling_plan(tickets, desks, now, threshold, took, expected=coming)

    def at(calls: list[Call]) -> dict[int, datetime]:
        return {call.ticket.id: call.at for call in calls}

    usual = plan(stations, "typical", soon)
    central = at(usual)
    optimistic = at(plan(stations, "low", ()))
    pessimistic = at(plan(at_work, "high", expected))
    places = positions(tickets, usual, now, threshold)
    result = {}
    for ticket in tickets:
        if ticket.id not in central:
            result[ticket.id] = Forecast(places[ticket.id], None)
            continue
        waits = [
            (found[ticket.id] - now) / timedelta(minutes=1)
            for found in (optimistic, central, pessimistic)
            if ticket.id in found
        ]
        low = math.floor(min(waits))
        high = math.ceil(max(waits))
        result[ticket.id] = Forecast(places[ticket.id], (low, max(high, low + 1)))
    return result


# The estimate before these plans, kept for the lobby screens' "a newcomer waits…".

LOW_FACTOR = 0.8
HIGH_FACTOR = 1.25


def average_minutes(durations: Sequence[float], default: float) -> float:
    """A robust usual duration (the median, outliers cut) of the latest durations, never
    below half of `default`, which stands in while there are too few."""
    return service_times(durations, default).typical / timedelta(minutes=1)


def waiting_range(ahead: int, stations: int, average: float) -> tuple[int, int] | None:
    """Minutes until called, as (low, high): None when no station can serve the ticket.

    With `ahead` people before it and `stations` serving in parallel, the ticket waits
    for about `ahead // stations` full services, plus part of one being served now.
    """
    if stations < 1:
        return None
    rounds = ahead // stations
    low = math.floor(rounds * average * LOW_FACTOR)
    high = math.ceil((rounds + 1) * average * HIGH_FACTOR)
    return low, max(high, low + 1)
