"""The summary of free time (`app/booking/free_time.py`) on both databases: it agrees with
the data after every change made through the API, it moves on with the days, the command
line checks and repairs it, and the first free slot across mairies read through it is the
one each mairie's own slot engine gives (`oracle`)."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import delete, event, select
from sqlalchemy.util import await_only

from app.booking import free_time
from app.booking.finders import slot_finder
from app.booking.first import first_slots
from app.booking.first_plan import earliest
from app.booking.free_time_rules import StationDay
from app.booking.models import FreeTime, FreeTimeWindow
from app.booking.queries import get_needs, get_service, requirement_of
from app.config import Settings
from app.db import Database
from app.sites.models import Site
from app.sites.service import list_sites, local_today
from tests.conftest import DEMO_DAY, Clock, Staff, make_settings
from tests.integration.test_schema_and_cli import guichet

pytestmark = pytest.mark.usefixtures("monday_morning")

ADMIN = "/api/v1/admin/sites"
THURSDAY, FRIDAY = date(2026, 12, 3), date(2026, 12, 4)
EMPTY_THURSDAY = StationDay(660, 0, 660, 1170)  # 08:30-19:30
EMPTY_FRIDAY = StationDay(510, 0, 510, 1020)  # 08:30-17:00
CLOSED = StationDay(0, 0, 0, 0)


@pytest.fixture
def settings(database_url: str) -> Settings:
    """These tests book and search more than a person could in a minute."""
    return make_settings(
        database_url, booking_requests_per_minute=100_000, availability_requests_per_minute=100_000
    )


@pytest.fixture
def monday_morning(clock: Clock) -> None:
    clock.set("2026-11-30 08:00")


@pytest.fixture
async def manager(staff: Staff) -> dict[str, str]:
    return await staff.headers("manager", "paris-15", "paris-7", "paris-19")


class People:
    """People booking, cancelling and moving appointments through the public API."""

    def __init__(self, client: AsyncTestClient[object]) -> None:
        self.client = client
        self.count = 0

    async def offered(self, slug: str, day: date, service: str = "caf") -> list[str]:
        params = {"service": service, "from": day.isoformat(), "to": day.isoformat()}
        response = await self.client.get(f"/api/v1/sites/{slug}/availability", params=params)
        assert response.status_code == 200, response.text
        return [str(slot["start"]) for slot in response.json()["slots"]]

    async def book(self, slug: str, start: str, service: str = "caf") -> dict[str, Any]:
        self.count += 1
        name, email = f"Usager {self.count}", f"usager{self.count}@example.org"
        body = {"site": slug, "service": service, "start": start, "name": name, "email": email}
        response = await self.client.post("/api/v1/appointments", json=body)
        assert response.status_code == 201, response.text
        booked: dict[str, Any] = response.json()
        return booked

    async def cancel(self, token: str) -> None:
        response = await self.client.post(f"/api/v1/appointments/{token}/cancel")
        assert response.status_code == 200, response.text

    async def reschedule(self, token: str, start: str) -> dict[str, Any]:
        response = await self.client.post(
            f"/api/v1/appointments/{token}/reschedule", json={"start": start}
        )
        assert response.status_code == 200, response.text
        return dict(response.json())


@pytest.fixture
def people(client: AsyncTestClient[object]) -> People:
    return People(client)


async def station_ids(client: AsyncTestClient[object], headers: dict[str, str]) -> dict[str, int]:
    response = await client.get(f"{ADMIN}/paris-15/stations", headers=headers)
    return {station["name"]: station["id"] for station in response.json() if station["active"]}


def local(day: date, clock: str) -> str:
    return f"{day.isoformat()}T{clock}:00+01:00"


# What the tests compare


async def differences(db: Database) -> list[free_time.Difference]:
    """What `check` finds."""
    async with db.session() as session:
        return await free_time.check(session)


async def rows_of(
    db: Database, slug: str, day: date | None = None
) -> dict[tuple[int, date], StationDay]:
    """The summary's rows of a mairie (of one day), by station and day."""
    query = select(FreeTime).join(Site, Site.id == FreeTime.site_id).where(Site.slug == slug)
    if day is not None:
        query = query.where(FreeTime.day == day)
    async with db.session() as session:
        return {
            (row.station_id, row.day): StationDay(
                row.open_minutes, row.booked_minutes, row.longest_minutes, row.free_until_minutes
            )
            for row in await session.scalars(query)
        }


async def oracle(db: Database, service: str, needs: str, now: datetime) -> dict[str, datetime]:
    """Each active mairie's first slot as it was found before the summary: its own slot
    engine from its today to its booking horizon, asked day by day."""
    found = {}
    async with db.session() as session:
        need = requirement_of(
            await get_service(session, service), await get_needs(session, tuple(needs.split(",")))
        )
        for site in await list_sites(session):
            zone = ZoneInfo(site.timezone)
            last = (now + timedelta(days=site.booking_horizon_days)).astimezone(zone).date()
            finder = await slot_finder(session, site, need, local_today(site, now), last, now)
            if (slot := earliest(finder)) is not None:
                found[site.slug] = slot.start
    return found


async def agree(db: Database, client: Any, now: datetime, service: str, needs: str) -> None:
    """`first_slots`, and the API (`client`: a test client or an instance's) with and
    without `near`, `order` and `limit`, give each mairie's own first slot, no other."""
    expected = await oracle(db, service, needs, now)
    async with db.session() as session:
        found = await first_slots(session, service, tuple(needs.split(",")), now)
    assert {item.site.slug: item.slot.start for item in found} == expected

    async def api(**params: str) -> list[tuple[str, datetime]]:
        query = {"service": service, "needs": needs, **params}
        response = await client.get("/api/v1/availability/first", params=query)
        assert response.status_code == 200, response.text
        return [(i["site"], datetime.fromisoformat(i["start"])) for i in response.json()["slots"]]

    by_time = await api()
    by_distance = await api(near="75015", order="distance")
    assert dict(by_time) == dict(by_distance) == expected
    assert [start for _, start in by_time] == sorted(expected.values())
    for limit in (1, 3, 5):
        assert await api(limit=str(limit)) == by_time[:limit]
        assert await api(near="75015", order="distance", limit=str(limit)) == by_distance[:limit]
    assert await api(near="paris-19", limit="2") == (await api(near="paris-19"))[:2]


# The demo, and each change made through the API


async def test_the_demos_summary_agrees_and_every_active_mairie_has_a_window(db: Database) -> None:
    query = select(Site.slug, FreeTimeWindow.first, FreeTimeWindow.last).join(
        FreeTimeWindow, FreeTimeWindow.site_id == Site.id
    )
    async with db.session() as session:
        windows = {slug: (first, last) for slug, first, last in await session.execute(query)}
        active = set(await session.scalars(select(Site.slug).where(Site.active)))

    assert await differences(db) == []
    assert windows.keys() == active
    assert set(windows.values()) == {(DEMO_DAY, DEMO_DAY + timedelta(days=60))}
    assert len(await rows_of(db, "paris-15")) == 6 * 61


async def test_checking_the_summary_is_not_deprecated(db: Database) -> None:
    async with db.session() as session:
        assert await free_time.check(session) == []


async def test_a_booking_a_cancellation_and_a_move_each_keep_their_days(
    db: Database, people: People
) -> None:
    booked = await people.book("paris-15", local(THURSDAY, "10:00"))
    station = booked["station"]["id"]
    after_booking = await rows_of(db, "paris-15", THURSDAY)
    assert await differences(db) == []

    await people.cancel(booked["token"])
    after_cancelling = await rows_of(db, "paris-15", THURSDAY)
    assert await differences(db) == []

    again = await people.book("paris-15", local(THURSDAY, "10:00"))
    moved = await people.reschedule(again["token"], local(FRIDAY, "16:30"))
    thursday = await rows_of(db, "paris-15", THURSDAY)
    friday = await rows_of(db, "paris-15", FRIDAY)

    assert after_booking[station, THURSDAY] == StationDay(660, 30, 540, 1170)
    assert {row for key, row in after_booking.items() if key[0] != station} == {EMPTY_THURSDAY}
    assert set(after_cancelling.values()) == {EMPTY_THURSDAY}
    assert set(thursday.values()) == {EMPTY_THURSDAY}
    assert friday[moved["station"]["id"], FRIDAY] == StationDay(510, 30, 480, 990)
    assert await differences(db) == []


async def test_a_weekdays_new_hours_reach_every_one_of_those_days(
    db: Database, client: AsyncTestClient[object], manager: dict[str, str]
) -> None:
    response = await client.put(
        f"{ADMIN}/paris-15/hours/thu",
        json={"ranges": [{"opens": "09:00", "closes": "12:00"}]},
        headers=manager,
    )
    rows = await rows_of(db, "paris-15")

    assert response.status_code == 200, response.text
    thursdays = {row for (_, day), row in rows.items() if day.weekday() == 3}
    assert thursdays == {StationDay(180, 0, 180, 720)}
    fridays = {row for (_, day), row in rows.items() if day.weekday() == 4}
    assert fridays == {EMPTY_FRIDAY, CLOSED}  # Christmas is a Friday
    assert await differences(db) == []


async def test_a_dated_exception_closes_its_day_and_its_removal_reopens_it(
    db: Database, client: AsyncTestClient[object], manager: dict[str, str]
) -> None:
    path = f"{ADMIN}/paris-15/hours-exceptions/{FRIDAY.isoformat()}"
    closed = await client.put(path, json={"reason": "Inventaire"}, headers=manager)
    while_closed = await rows_of(db, "paris-15", FRIDAY)
    assert await differences(db) == []
    short = await client.put(
        path, json={"ranges": [{"opens": "10:00", "closes": "11:00"}]}, headers=manager
    )
    while_short = await rows_of(db, "paris-15", FRIDAY)
    assert await differences(db) == []
    reopened = await client.delete(path, headers=manager)

    assert (closed.status_code, short.status_code, reopened.status_code) == (200, 200, 204)
    assert set(while_closed.values()) == {CLOSED}
    assert set(while_short.values()) == {StationDay(60, 0, 60, 660)}
    assert set((await rows_of(db, "paris-15", FRIDAY)).values()) == {EMPTY_FRIDAY}
    assert len(while_closed) == 6
    assert await differences(db) == []


async def test_a_closure_empties_its_day_and_its_removal_gives_it_back(
    db: Database, client: AsyncTestClient[object], manager: dict[str, str]
) -> None:
    day = date(2026, 12, 10)
    added = await client.post(
        f"{ADMIN}/paris-15/closures",
        json={"starts_at": local(day, "08:00"), "ends_at": local(day, "20:00"), "reason": "Vote"},
        headers=manager,
    )
    while_closed = await rows_of(db, "paris-15", day)
    assert await differences(db) == []
    removed = await client.delete(
        f"{ADMIN}/paris-15/closures/{added.json()['closure']['id']}", headers=manager
    )

    assert (added.status_code, removed.status_code) == (201, 204)
    assert set(while_closed.values()) == {CLOSED}
    assert set((await rows_of(db, "paris-15", day)).values()) == {EMPTY_THURSDAY}
    assert await differences(db) == []


async def test_an_outage_takes_its_stations_time_and_its_end_gives_it_back(
    db: Database, client: AsyncTestClient[object], manager: dict[str, str]
) -> None:
    poste_2 = (await station_ids(client, manager))["Poste 2"]
    added = await client.post(
        f"{ADMIN}/paris-15/outages",
        json={
            "station_id": poste_2,
            "starts_at": local(FRIDAY, "08:00"),
            "ends_at": local(FRIDAY, "12:00"),
            "reason": "Écran cassé",
        },
        headers=manager,
    )
    during = await rows_of(db, "paris-15", FRIDAY)
    assert await differences(db) == []
    ended = await client.delete(
        f"{ADMIN}/paris-15/outages/{added.json()['outage']['id']}", headers=manager
    )

    assert (added.status_code, ended.status_code) == (201, 204)
    assert during[poste_2, FRIDAY] == StationDay(300, 0, 300, 1020)
    assert {row for (station, _), row in during.items() if station != poste_2} == {EMPTY_FRIDAY}
    assert set((await rows_of(db, "paris-15", FRIDAY)).values()) == {EMPTY_FRIDAY}
    assert await differences(db) == []


async def test_a_new_station_gets_every_day_of_the_window_and_loses_them_when_taken_away(
    db: Database, client: AsyncTestClient[object], manager: dict[str, str], people: People
) -> None:
    added = await client.post(
        f"{ADMIN}/paris-15/stations", json={"name": "Poste 7", "kind": "double"}, headers=manager
    )
    new = added.json()["id"]
    with_it = await rows_of(db, "paris-15")
    assert await differences(db) == []
    await people.book("paris-15", local(FRIDAY, "09:15"), service="logement")
    taken = await client.patch(
        f"{ADMIN}/paris-15/stations/{new}", json={"active": False}, headers=manager
    )
    without = await rows_of(db, "paris-15")

    assert (added.status_code, taken.status_code) == (201, 200)
    assert len([key for key in with_it if key[0] == new]) == 61
    assert with_it[new, FRIDAY] == EMPTY_FRIDAY
    assert [key for key in without if key[0] == new] == []
    assert len(without) == 6 * 61
    assert await differences(db) == []


# Windows move on with the days; the command line checks and repairs


async def test_rolling_on_a_later_day_drops_past_days_and_adds_new_ones(
    db: Database, people: People
) -> None:
    await people.book("paris-15", local(date(2026, 12, 11), "10:00"))
    later = datetime.fromisoformat("2026-12-10T08:00:00+01:00")
    async with db.writing() as session:
        worked = await free_time.roll(session, later)
    rows = await rows_of(db, "paris-15")
    async with db.session() as session:
        windows = set(await session.execute(select(FreeTimeWindow.first, FreeTimeWindow.last)))

    assert worked == 17 * 14  # 2027-01-26 to 2027-02-08 at each mairie
    assert windows == {(date(2026, 12, 10), date(2027, 2, 8))}
    assert min(day for _, day in rows) == date(2026, 12, 10)
    assert max(day for _, day in rows) == date(2027, 2, 8)
    assert rows[next(iter(rows))[0], date(2027, 2, 8)] == EMPTY_FRIDAY
    assert len(rows) == 6 * 61
    assert await differences(db) == []


async def test_a_check_reads_one_snapshot_while_another_instance_rolls_the_days_on(
    db: Database,
) -> None:
    """The hourly roll of another instance commits after the check has read the windows
    and before it reads the rows: the check still compares what one moment held."""
    later = datetime.fromisoformat("2026-12-10T08:00:00+01:00")
    rolled: list[int] = []

    def roll_in_between(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if rolled or "FROM free_time_windows" not in statement:
            return
        rolled.append(-1)  # the roll's own statements pass through here too
        rolled[0] = await_only(free_time.roll_all(db, later))

    event.listen(db.engine.sync_engine, "after_cursor_execute", roll_in_between)
    try:
        found = await differences(db)
    finally:
        event.remove(db.engine.sync_engine, "after_cursor_execute", roll_in_between)

    assert rolled == [17 * 14], "the roll ran while the check read"
    assert found == []
    assert await differences(db) == []


async def test_the_command_line_names_a_wrong_row_repairs_it_and_then_agrees(
    db: Database, database_url: str
) -> None:
    async with db.writing() as session:
        row = await session.scalar(
            select(FreeTime)
            .join(Site, Site.id == FreeTime.site_id)
            .where(Site.slug == "paris-15", FreeTime.day == THURSDAY)
            .limit(1)
        )
        assert row is not None
        row.booked_minutes += 100
    await db.dispose()

    found = guichet("db", "check-free-time", database_url=database_url)
    repaired = guichet("db", "check-free-time", "--repair", database_url=database_url)
    again = guichet("db", "check-free-time", database_url=database_url)

    assert found.returncode != 0
    assert "paris-15" in found.stdout
    assert THURSDAY.isoformat() in found.stdout
    assert "differs on 1 rows" in found.stderr
    assert repaired.returncode == 0, repaired.stderr
    assert again.returncode == 0, again.stderr
    assert "agrees" in again.stdout
    assert await differences(db) == []


# The oracle: the first slots read through the summary are each mairie's own first slots


@pytest.mark.parametrize(
    "when",
    ["2026-11-20 08:00", "2026-11-30 08:00", "2026-11-30 16:50", "2027-01-20 10:00", "2027-02-01"],
)
async def test_the_first_slots_agree_before_inside_across_and_after_the_window(
    db: Database, client: AsyncTestClient[object], clock: Clock, when: str
) -> None:
    clock.set(when)

    for service, needs in (
        ("caf", ""),
        ("caf", "accompagnement-long,fauteuil"),
        ("logement", "fauteuil"),
    ):
        await agree(db, client, clock(), service, needs)


async def test_the_first_slots_agree_after_many_bookings_moves_and_cancellations(
    db: Database, client: AsyncTestClient[object], clock: Clock, people: People
) -> None:
    chance = random.Random(20261130)
    sites = ["paris-15", "paris-7", "paris-19", "paris-20"]
    days = [date(2026, 11, 30) + timedelta(days=n) for n in range(10)]
    held: list[tuple[str, str, str]] = []  # token, site, service
    for _ in range(60):
        move = chance.random()
        if held and move < 0.2:
            token, _, _ = held.pop(chance.randrange(len(held)))
            await people.cancel(token)
        elif held and move < 0.4:
            token, slug, service = chance.choice(held)
            starts = await people.offered(slug, chance.choice(days), service)
            if starts:
                await people.reschedule(token, chance.choice(starts))
        else:
            slug, service = chance.choice(sites), chance.choice(["caf", "caf", "logement"])
            starts = await people.offered(slug, chance.choice(days[:4]), service)
            if starts:
                booked = await people.book(slug, chance.choice(starts[:6]), service)
                held.append((booked["token"], slug, service))

    assert len(held) >= 12
    assert await differences(db) == []
    for service, needs in (("caf", ""), ("logement", ""), ("caf", "accompagnement-long")):
        await agree(db, client, clock(), service, needs)
    clock.set("2026-11-30 15:30")
    await agree(db, client, clock(), "caf", "")


async def test_the_first_slots_agree_when_a_day_is_booked_up_to_its_walk_in_share(
    db: Database, client: AsyncTestClient[object], clock: Clock, people: People
) -> None:
    tuesday = date(2026, 12, 1)
    while starts := await people.offered("paris-7", tuesday):
        await people.book("paris-7", starts[0])
    rows = await rows_of(db, "paris-7", tuesday)

    assert max(row.longest_minutes for row in rows.values()) >= 30  # free runs are left
    assert await differences(db) == []
    await agree(db, client, clock(), "caf", "")
    await agree(db, client, clock(), "dansmarue", "")


async def test_the_first_slots_agree_without_a_window_or_with_one_that_starts_later(
    db: Database, client: AsyncTestClient[object], clock: Clock, people: People
) -> None:
    async with db.writing() as session:
        ids = dict((await session.execute(select(Site.slug, Site.id))).all())
        await session.execute(
            delete(FreeTimeWindow).where(
                FreeTimeWindow.site_id.in_([ids["paris-7"], ids["paris-12"]])
            )
        )
        window = await session.get_one(FreeTimeWindow, ids["paris-19"])
        window.first, window.last = date(2026, 12, 2), date(2026, 12, 20)
    # Bookings on days the summary no longer covers, and on days it does.
    for slug in ("paris-7", "paris-19", "paris-19"):
        for day in (date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2)):
            starts = await people.offered(slug, day)
            for start in starts[:4]:
                await people.book(slug, start)

    assert await differences(db) == []
    await agree(db, client, clock(), "caf", "")
    await agree(db, client, clock(), "logement", "")


async def test_a_late_afternoon_does_not_hide_the_days_after_two_days_that_look_free(
    db: Database, client: AsyncTestClient[object], clock: Clock, manager: dict[str, str]
) -> None:
    """Late on Monday the summary offers Monday, Tuesday and Wednesday; nothing fits before
    Monday's close, and the free half hour of the other two is off the grid."""
    stations = await station_ids(client, manager)
    for day in (date(2026, 12, 1), date(2026, 12, 2)):
        short = await client.put(
            f"{ADMIN}/paris-15/hours-exceptions/{day.isoformat()}",
            json={"ranges": [{"opens": "08:30", "closes": "09:15"}], "reason": "Formation"},
            headers=manager,
        )
        assert short.status_code == 200, short.text
        for station in stations.values():
            outage = {
                "station_id": station,
                "starts_at": local(day, "08:30"),
                "ends_at": local(day, "08:45"),
            }
            added = await client.post(f"{ADMIN}/paris-15/outages", json=outage, headers=manager)
            assert added.status_code == 201, added.text
    clock.set("2026-11-30 14:50")

    assert await differences(db) == []
    await agree(db, client, clock(), "caf", "")
