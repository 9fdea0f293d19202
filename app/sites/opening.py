"""When a mairie is open: at a moment, until when, when it opens next, and the rule that
follows, that no waiting estimate holds while it is closed. Pure functions of a calendar
and `now`, then the two readers that fetch the calendar (`open_day`, `opening_of`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.i18n import DEFAULT_LANGUAGE, language
from app.sites.hours import OpenDay, SiteCalendar, local_instant, public_holiday
from app.sites.models import Site
from app.sites.service import local_today, site_calendar, site_calendars

NEXT_OPENING_WITHIN_DAYS = 14  # how far ahead "when it opens next" is looked for

Estimate = TypeVar("Estimate")


# One day's opening ranges


def is_open(day: OpenDay, now: datetime) -> bool:
    """Whether `now` lies in one of the day's opening ranges (each includes its start and
    excludes its end)."""
    return any(start <= now < end for start, end in day.intervals)


def closing_time(day: OpenDay) -> datetime | None:
    """The end of the day's last opening range; None on a day the site stays closed."""
    return day.intervals[-1][1] if day.intervals else None


def has_closed(day: OpenDay, now: datetime) -> bool:
    """Closed now, and for the rest of the day."""
    return not is_open(day, now) and not any(start > now for start, _ in day.intervals)


# The day as the pages show it


@dataclass(frozen=True)
class Span:
    """An open interval of a day, in the site's local time."""

    opens: datetime
    closes: datetime


@dataclass(frozen=True)
class DaySpans:
    day: date
    spans: tuple[Span, ...]
    note: str
    note_lang: str  # a public holiday's name is the reader's; the mairie's reasons, French

    @property
    def closed(self) -> bool:
        return not self.spans


@dataclass(frozen=True)
class Today:
    """Today at the mairie: its hours, whether it is open now, and when it opens next."""

    day: DaySpans
    open_now: Span | None
    later_today: Span | None
    next_opening: datetime | None


def spans(day: OpenDay, tz: ZoneInfo) -> DaySpans:
    """`day` in the site's local time; a public holiday named in the reader's language."""
    holiday = public_holiday(day.day)
    note, note_lang = day.note, DEFAULT_LANGUAGE
    if holiday is not None and note == holiday:
        named = public_holiday(day.day, language.get())
        if named:
            note, note_lang = named, language.get()
    return DaySpans(
        day.day,
        tuple(Span(start.astimezone(tz), end.astimezone(tz)) for start, end in day.intervals),
        note,
        note_lang,
    )


def today_at(calendar: SiteCalendar, today: date, now: datetime) -> Today:
    """Whether the mairie is open at `now`, until when, or when it opens next (within
    `NEXT_OPENING_WITHIN_DAYS` of `today`; `calendar` covers those days)."""
    tz = calendar.timezone
    day = spans(calendar.day(today), tz)
    local_now = now.astimezone(tz)
    open_now = next((s for s in day.spans if s.opens <= local_now < s.closes), None)
    later = next((s for s in day.spans if s.opens > local_now), None)
    next_opening = None
    if open_now is None and later is None:
        last = today + timedelta(days=NEXT_OPENING_WITHIN_DAYS)
        for other in calendar.days(today + timedelta(days=1), last):
            if other.intervals:
                next_opening = other.intervals[0][0].astimezone(tz)
                break
    return Today(day, open_now, later, next_opening)


# Open or not, for the queue's usagers


@dataclass(frozen=True)
class Opening:
    """Whether a mairie is open at a moment, and if not, when it opens next (`opens`, in
    its local time: later `today`, or another day); None when not within the days the
    mairie page looks ahead. `until`: when the hours it was worked out from change the
    answer next (a range's end or start, or midnight; None: not worked out)."""

    open: bool
    opens: datetime | None = None
    today: bool = False
    until: datetime | None = field(default=None, compare=False)


OPEN = Opening(open=True)


def opening_at(calendar: SiteCalendar, today: date, now: datetime) -> Opening:
    """The `Opening` at `now` that the mairie's page states in words (`today_at`)."""
    found = today_at(calendar, today, now)
    midnight = local_instant(today + timedelta(days=1), time(0), calendar.timezone)
    if found.open_now is not None:
        return Opening(open=True, until=min(found.open_now.closes, midnight))
    if found.later_today is not None:
        opens = found.later_today.opens
        return Opening(open=False, opens=opens, today=True, until=min(opens, midnight))
    return Opening(open=False, opens=found.next_opening, until=midnight)


def estimate(opening: Opening, minutes: Estimate | None) -> Estimate | None:
    """The waiting estimate usagers are given: none while the mairie is closed (nobody is
    called then, so no wait can be told), the queue's own otherwise."""
    return minutes if opening.open else None


def read_in_same_minute(read_at: datetime, now: datetime) -> bool:
    """Whether an opening read at `read_at` still answers at `now`: within the same
    minute of the clock (hours and closures change on the minute; a manager's edit of
    the hours shows within a minute)."""
    start = read_at.replace(second=0, microsecond=0)
    return start <= now < start + timedelta(minutes=1) and read_at <= now


# Readers


async def open_day(session: AsyncSession, site: Site, now: datetime) -> OpenDay:
    """The site's opening intervals on its local day of `now`."""
    day = local_today(site, now)
    return (await site_calendar(session, site, day, day)).day(day)


async def opening_of(session: AsyncSession, site: Site, now: datetime) -> Opening:
    """Whether `site` is open at `now`, and when it opens next, as its page says it."""
    return (await openings_of(session, [site], now))[site.id]


async def openings_of(
    session: AsyncSession, sites: Sequence[Site], now: datetime
) -> dict[int, Opening]:
    """`opening_of` each of `sites` (by id), their calendars read all at once."""
    days = {site.id: local_today(site, now) for site in sites}
    if not days:
        return {}
    first = min(days.values())
    last = max(days.values()) + timedelta(days=NEXT_OPENING_WITHIN_DAYS)
    calendars = await site_calendars(session, sites, first, last)
    return {site_id: opening_at(calendars[site_id], day, now) for site_id, day in days.items()}
