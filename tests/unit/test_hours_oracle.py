"""An independent reference for the mairies' opening hours: the rules the City publishes
(the demo data's mairies file), written out by hand without the calendar's helpers, and
compared day by day with the calendars the app builds from the demo data."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from sqlalchemy import text

import app.models  # noqa: F401 (every table, for create_all)
from app.db import Base, Database
from app.sites.demo import load_demo, mairies
from app.sites.hours import SiteCalendar
from app.sites.service import list_sites, site_calendar
from tests.conftest import sqlalchemy_url

PARIS = ZoneInfo("Europe/Paris")
FIRST_DAY, LAST_DAY = date(2026, 1, 1), date(2027, 12, 31)

PUBLIC_HOLIDAYS = {
    date(2026, 1, 1): "Jour de l'an",
    date(2026, 4, 6): "Lundi de Pâques",
    date(2026, 5, 1): "Fête du Travail",
    date(2026, 5, 8): "Fête de la Victoire",
    date(2026, 5, 14): "Ascension",
    date(2026, 5, 25): "Lundi de Pentecôte",
    date(2026, 7, 14): "Fête nationale",
    date(2026, 8, 15): "Assomption",
    date(2026, 11, 1): "Toussaint",
    date(2026, 11, 11): "Armistice",
    date(2026, 12, 25): "Noël",
    date(2027, 1, 1): "Jour de l'an",
    date(2027, 3, 29): "Lundi de Pâques",
    date(2027, 5, 1): "Fête du Travail",
    date(2027, 5, 6): "Ascension",
    date(2027, 5, 8): "Fête de la Victoire",
    date(2027, 5, 17): "Lundi de Pentecôte",
    date(2027, 7, 14): "Fête nationale",
    date(2027, 8, 15): "Assomption",
    date(2027, 11, 1): "Toussaint",
    date(2027, 11, 11): "Armistice",
    date(2027, 12, 25): "Noël",
}

# Summer time (UTC+2) runs from the last Sunday of March to the last Sunday of October.
SUMMER_TIME = {
    2026: (date(2026, 3, 29), date(2026, 10, 25)),
    2027: (date(2027, 3, 28), date(2027, 10, 31)),
}

# The demo data is loaded as if on this day; the 20e then announces the cancellation of
# its late opening on the second Thursday of each of the next two months.
LOADED_ON = date(2026, 11, 26)
TWENTIETH_LATE_THURSDAYS_CANCELLED = {date(2026, 12, 10), date(2027, 1, 14)}

MONDAY, TUESDAY, THURSDAY, SATURDAY = 0, 1, 3, 5
MORNING_TO_FIVE = (time(8, 30), time(17, 0))
MORNING_TO_HALF_PAST_SEVEN = (time(8, 30), time(19, 30))
AFTERNOON_FROM_ONE = (time(13, 0), time(17, 0))

NINETEENTH_FIRST_TUESDAY = "Fermé jusqu'à 13 h le premier mardi du mois"
TWENTIETH_CANCELLATION = "Nocturne du jeudi annulée"


def published_hours(slug: str, day: date) -> list[tuple[time, time]]:
    """The hours of mairie `slug` on `day`, in Paris wall-clock time, as the City words them."""
    if day in PUBLIC_HOLIDAYS or day.weekday() >= SATURDAY:
        # Saturday mornings are for births and deaths only, not for these appointments.
        return []
    if slug == "paris-19" and day.weekday() == TUESDAY and 1 <= day.day <= 7:
        return [AFTERNOON_FROM_ONE]
    if day.weekday() == THURSDAY:
        if slug == "paris-20" and day in TWENTIETH_LATE_THURSDAYS_CANCELLED:
            return [MORNING_TO_FIVE]
        return [MORNING_TO_HALF_PAST_SEVEN]
    return [MORNING_TO_FIVE]


def published_note(slug: str, day: date) -> str:
    """Why `day` differs from the usual week at mairie `slug`, as the app says it."""
    if day in PUBLIC_HOLIDAYS:
        return PUBLIC_HOLIDAYS[day]
    if published_hours(slug, day) == [AFTERNOON_FROM_ONE]:
        return NINETEENTH_FIRST_TUESDAY
    if slug == "paris-20" and day in TWENTIETH_LATE_THURSDAYS_CANCELLED:
        return TWENTIETH_CANCELLATION
    return ""


def in_utc(day: date, at: time) -> datetime:
    """The instant of `at` on `day` in Paris, for daytime hours (after the 2-3 a.m. change)."""
    summer_starts, summer_ends = SUMMER_TIME[day.year]
    offset = timedelta(hours=2 if summer_starts <= day < summer_ends else 1)
    return (datetime.combine(day, at) - offset).replace(tzinfo=UTC)


def every_day(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


KNOWN_DATES = [
    ("paris-19", date(2027, 1, 5), [(time(13, 0), time(17, 0))]),
    ("paris-19", date(2026, 9, 1), [(time(13, 0), time(17, 0))]),
    ("paris-19", date(2027, 9, 7), [(time(13, 0), time(17, 0))]),
    ("paris-19", date(2026, 9, 8), [(time(8, 30), time(17, 0))]),
    ("paris-19", date(2027, 1, 12), [(time(8, 30), time(17, 0))]),
    ("paris-19", date(2027, 1, 7), [(time(8, 30), time(19, 30))]),
    ("paris-5", date(2027, 1, 5), [(time(8, 30), time(17, 0))]),
    ("paris-20", date(2026, 12, 10), [(time(8, 30), time(17, 0))]),
    ("paris-20", date(2026, 12, 17), [(time(8, 30), time(19, 30))]),
    ("paris-20", date(2027, 1, 14), [(time(8, 30), time(17, 0))]),
    ("paris-12", date(2026, 12, 10), [(time(8, 30), time(19, 30))]),
    ("paris-15", date(2027, 5, 6), []),
    ("paris-15", date(2027, 5, 7), [(time(8, 30), time(17, 0))]),
    ("paris-centre", date(2027, 3, 29), []),
    ("paris-centre", date(2027, 1, 9), []),
    ("paris-centre", date(2027, 1, 10), []),
    ("paris-19", date(2026, 7, 14), []),
]


@pytest.mark.parametrize(
    ("slug", "day", "hours"), KNOWN_DATES, ids=[f"{slug}-{day}" for slug, day, _ in KNOWN_DATES]
)
def test_the_reference_gives_the_published_hours_of_known_dates(
    slug: str, day: date, hours: list[tuple[time, time]]
) -> None:
    assert published_hours(slug, day) == hours


def test_the_reference_turns_paris_time_into_utc_on_both_sides_of_each_change() -> None:
    assert in_utc(date(2027, 3, 26), time(8, 30)) == datetime(2027, 3, 26, 7, 30, tzinfo=UTC)
    assert in_utc(date(2027, 3, 28), time(8, 30)) == datetime(2027, 3, 28, 6, 30, tzinfo=UTC)
    assert in_utc(date(2027, 10, 29), time(19, 30)) == datetime(2027, 10, 29, 17, 30, tzinfo=UTC)
    assert in_utc(date(2027, 10, 31), time(8, 30)) == datetime(2027, 10, 31, 7, 30, tzinfo=UTC)
    assert in_utc(date(2026, 3, 27), time(17, 0)) == datetime(2026, 3, 27, 16, 0, tzinfo=UTC)
    assert in_utc(date(2026, 3, 30), time(17, 0)) == datetime(2026, 3, 30, 15, 0, tzinfo=UTC)
    assert in_utc(date(2026, 10, 23), time(8, 30)) == datetime(2026, 10, 23, 6, 30, tzinfo=UTC)
    assert in_utc(date(2026, 10, 26), time(8, 30)) == datetime(2026, 10, 26, 7, 30, tzinfo=UTC)


def test_the_reference_lists_eleven_holidays_a_year_four_of_them_on_a_thursday() -> None:
    for year in (2026, 2027):
        assert sum(1 for day in PUBLIC_HOLIDAYS if day.year == year) == 11
    assert [day for day in PUBLIC_HOLIDAYS if day.weekday() == THURSDAY] == [
        date(2026, 1, 1),
        date(2026, 5, 14),
        date(2027, 5, 6),
        date(2027, 11, 11),
    ]


def test_the_reference_follows_the_mairies_file_the_app_ships() -> None:
    """When the City's file changes, this reference must be updated with it."""
    data = mairies()

    assert data["timezone"] == "Europe/Paris"
    assert data["default_hours"] == {
        "mon": [["08:30", "17:00"]],
        "tue": [["08:30", "17:00"]],
        "wed": [["08:30", "17:00"]],
        "thu": [["08:30", "19:30"]],
        "fri": [["08:30", "17:00"]],
        "sat": [],
        "sun": [],
    }
    assert "Public holidays (France, metropolitan): closed." in data["notes"]
    assert any("Saturday mornings" in note and "not for" in note for note in data["notes"])
    exceptions = {entry["slug"]: entry.get("exceptions", []) for entry in data["mairies"]}
    assert len(exceptions) == 17
    assert exceptions.pop("paris-19") == ["Closed until 13:00 on the first Tuesday of each month."]
    assert exceptions.pop("paris-20") == [
        "Some Thursday evening openings are cancelled on dates announced in advance."
    ]
    assert all(not rules for rules in exceptions.values())


async def _on_postgres_server(server: str, sql: str) -> None:
    connection = await asyncpg.connect(server)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture
def demo_url(backend: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty database of `backend`."""
    if backend == "sqlite":
        yield "sqlite+aiosqlite:///:memory:"
        return
    server: str = request.getfixturevalue("postgres_server")
    name = f"guichet_hours_{uuid.uuid4().hex[:10]}"
    asyncio.run(_on_postgres_server(server, f'CREATE DATABASE "{name}"'))
    try:
        yield sqlalchemy_url(name)
    finally:
        asyncio.run(_on_postgres_server(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def demo_calendars(url: str) -> dict[str, SiteCalendar]:
    """Each mairie's calendar from FIRST_DAY to LAST_DAY, as the app reads it after loading
    the demo data.

    The tables come from the models (all of them: loading the demo also fills the summary
    of free time), not the migrations: the module then needs only the app's package and
    the tests (which is all a mutation-testing copy holds).
    """
    db = Database(url)
    try:
        async with db.engine.begin() as connection:
            if not db.is_sqlite:  # the appointments' exclusion constraint, as the migrations
                await connection.execute(text("CREATE EXTENSION IF NOT EXISTS btree_gist"))
            await connection.run_sync(Base.metadata.create_all)
        async with db.writing() as session:
            await load_demo(session, today=LOADED_ON)
        async with db.session() as session:
            return {
                site.slug: await site_calendar(session, site, FIRST_DAY, LAST_DAY)
                for site in await list_sites(session)
            }
    finally:
        await db.dispose()


async def test_every_mairie_opens_exactly_as_published_on_every_day_of_2026_and_2027(
    demo_url: str,
) -> None:
    calendars = await demo_calendars(demo_url)
    assert len(calendars) == 17

    differences = []
    checked = 0
    for slug, calendar in calendars.items():
        for day, opening in zip(
            every_day(FIRST_DAY, LAST_DAY), calendar.days(FIRST_DAY, LAST_DAY), strict=True
        ):
            checked += 1
            expected = published_hours(slug, day)
            local = [
                (start.astimezone(PARIS), end.astimezone(PARIS)) for start, end in opening.intervals
            ]
            wall_clock = [(start.time(), end.time()) for start, end in local]
            local_days = {moment.date() for interval in local for moment in interval}
            instants = list(opening.intervals)
            expected_instants = [
                (in_utc(day, opens), in_utc(day, closes)) for opens, closes in expected
            ]
            in_utc_zone = all(moment.tzinfo is UTC for interval in instants for moment in interval)
            if (
                opening.day != day
                or wall_clock != expected
                or local_days - {day}
                or instants != expected_instants
                or not in_utc_zone
                or opening.note != published_note(slug, day)
            ):
                differences.append((slug, day, opening, expected))

    assert not differences, f"{len(differences)} days differ, the first: {differences[:3]}"
    assert checked == 17 * 730
