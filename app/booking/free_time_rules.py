"""What a station leaves free on a day, from its site's open intervals, its outages and its
appointments: a pure function, the one the summary of free time is built with
(`app/booking/free_time.py`) and checked against.

The summary only narrows a search: a day it says cannot take a booking is skipped, any
other day is looked at by the slot engine itself (`app/booking/slots.py`). So every
figure errs on the generous side, never the other: open minutes are rounded up, booked
minutes down, the longest free run up; held offers are not counted (they lapse by
themselves, with no write to tell the summary).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from app.booking.slots import Booked
from app.sites.hours import Interval, OpenDay, merged


@dataclass(frozen=True, slots=True)
class StationDay:
    """One station on one day: minutes open (less its outages), minutes of the
    appointments starting that day, the longest free run, and when the last free run
    ends (a booking later today must end by then)."""

    open_minutes: int
    booked_minutes: int
    longest_minutes: int
    free_until_minutes: int  # when its last free run ends, in minutes from the day's start


def subtract(intervals: Sequence[Interval], holes: Iterable[Interval]) -> list[Interval]:
    """`intervals` (sorted, apart) less every instant of `holes`."""
    left: list[Interval] = []
    cuts = merged(hole for hole in holes if hole[0] < hole[1])
    for opens, closes in intervals:
        start = opens
        for cut_start, cut_end in cuts:
            if cut_end <= start or cut_start >= closes:
                continue
            if cut_start > start:
                left.append((start, cut_start))
            start = max(start, cut_end)
        if start < closes:
            left.append((start, closes))
    return left


def _minutes(spans: Iterable[Interval]) -> float:
    return sum((end - start).total_seconds() for start, end in spans) / 60


def station_days(
    days: Sequence[OpenDay],
    station_ids: Sequence[int],
    held: Sequence[Booked],
    outages: Sequence[Booked],
    bounds: Sequence[Interval],
) -> dict[tuple[int, date], StationDay]:
    """Each of `station_ids` on each of `days`. `held`: the appointments that hold a
    station (cancelled and called-off ones left out); `outages`: the stations' outages;
    `bounds[i]`: when `days[i]` starts and ends (a local day is not always 24 hours
    long)."""
    by_station: dict[int, list[Booked]] = {}
    for item in held:
        by_station.setdefault(item.station_id, []).append(item)
    out_by_station: dict[int, list[Interval]] = {}
    for outage in outages:
        out_by_station.setdefault(outage.station_id, []).append((outage.starts_at, outage.ends_at))
    found: dict[tuple[int, date], StationDay] = {}
    for day, (starts, ends) in zip(days, bounds, strict=True):
        for station in station_ids:
            opened = subtract(day.intervals, out_by_station.get(station, ()))
            mine = by_station.get(station, [])
            booked = sum(
                (item.ends_at - item.starts_at).total_seconds() / 60
                for item in mine
                if starts <= item.starts_at < ends
            )
            free = subtract(opened, ((item.starts_at, item.ends_at) for item in mine))
            longest = max(((end - start).total_seconds() / 60 for start, end in free), default=0)
            until = (free[-1][1] - starts).total_seconds() / 60 if free else 0
            found[station, day.day] = StationDay(
                open_minutes=math.ceil(_minutes(opened)),
                booked_minutes=math.floor(booked),
                longest_minutes=math.ceil(longest),
                free_until_minutes=math.ceil(until),
            )
    return found


def day_range(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
