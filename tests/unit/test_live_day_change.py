"""At a mairie's midnight its screens are told the new day, whose calls are not yet any:
the minute task marks, by the clock alone, the sites whose day turned, and a newcomer is
never shown a state of the day before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from app.live.feeds import Connection, SiteFeed
from app.live.hub import Hub
from app.queue.views import DisplayState
from app.sites.opening import Opening

PARIS = ZoneInfo("Europe/Paris")
BEFORE = datetime(2026, 12, 1, 23, 59, 50, tzinfo=PARIS).astimezone(UTC)
AFTER = datetime(2026, 12, 2, 0, 0, 5, tzinfo=PARIS).astimezone(UTC)
CLOSED = Opening(open=False)


def state(seq: int) -> DisplayState:
    return DisplayState(
        seq=seq, called=[], waiting_count=0, waiting_by_service={}, eta_minutes=None
    )


def shown_on(day: datetime, timezone: ZoneInfo = PARIS) -> SiteFeed:
    """A site's feed with one display, last sent the state of `day`'s local date."""
    feed = SiteFeed(site_id=1, slug="paris-15", timezone=timezone)
    feed.displays.add(Connection(None, "192.0.2.1"))  # type: ignore[arg-type]
    feed.day = feed.local_day(day)
    return feed


class ClockHub(Hub):
    def __init__(self, *feeds: SiteFeed) -> None:  # no channels, no database: no read
        self.feeds = {n: feed for n, feed in enumerate(feeds)}
        self.arrival = None


async def test_the_sites_whose_day_turned_are_marked_by_the_clock_alone() -> None:
    turned = shown_on(BEFORE)
    today = shown_on(AFTER)
    # 00:00 in Paris is still the day before in Martinique: its day has not turned.
    elsewhere = shown_on(BEFORE, ZoneInfo("America/Martinique"))
    for feed in (turned, today, elsewhere):  # read this minute already: no read is due
        feed.opening = (AFTER, CLOSED)

    await ClockHub(turned, today, elsewhere)._turn(AFTER)

    assert turned.dirty.is_set()
    assert not today.dirty.is_set()
    assert not elsewhere.dirty.is_set()


async def test_a_site_without_displays_is_not_marked() -> None:
    phones_only = shown_on(BEFORE)
    phones_only.displays.clear()

    await ClockHub(phones_only)._turn(AFTER)

    assert not phones_only.dirty.is_set()


def test_a_newcomer_is_not_shown_a_state_read_before_midnight() -> None:
    feed = shown_on(BEFORE)
    feed.remember(state(4), BEFORE)
    feed.opening = (AFTER, CLOSED)  # the opening read in the new day's first minute

    assert feed.recent_state(BEFORE + timedelta(seconds=5)) is None  # another minute
    assert feed.recent_state(AFTER) is None  # fifteen seconds later, but the day before

    feed.remember(state(4), AFTER)
    assert feed.recent_state(AFTER) == state(4)
