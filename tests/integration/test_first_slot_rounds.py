"""The first free slot across mairies when the mairies of one round are asked about
different days: each reads its own day's appointments and its own weekday's hours, in the
one query of the round (`app/booking/finders.py`), and gets the slot its own slot engine
gives (`agree`, on both databases)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import AsyncTestClient

from app.booking.first import first_slots
from app.db import Database
from tests.conftest import Clock
from tests.integration import test_free_time
from tests.integration.test_free_time import ADMIN, People, agree, differences

# The summary's tests' fixtures: the clock on Monday morning, people booking, a manager.
settings = test_free_time.settings
monday_morning = test_free_time.monday_morning
people = test_free_time.people
manager = test_free_time.manager

pytestmark = pytest.mark.usefixtures("monday_morning")

MONDAY = date(2026, 11, 30)
PARIS = ZoneInfo("Europe/Paris")


async def close(
    client: AsyncTestClient[object], headers: dict[str, str], slug: str, days: int
) -> None:
    """`slug` closed for `days` days from Monday."""
    for n in range(days):
        day = (MONDAY + timedelta(days=n)).isoformat()
        closed = await client.put(
            f"{ADMIN}/{slug}/hours-exceptions/{day}",
            json={"ranges": [], "reason": "Inventaire"},
            headers=headers,
        )
        assert closed.status_code == 200, closed.text


def local_day(start: datetime) -> date:
    return start.astimezone(PARIS).date()


async def test_mairies_first_open_on_different_weekdays_each_get_their_own_days_slot(
    db: Database,
    client: AsyncTestClient[object],
    clock: Clock,
    people: People,
    manager: dict[str, str],
) -> None:
    """On Monday morning paris-15 opens next on Tuesday, paris-7 on Wednesday, paris-19 on
    Thursday (its late opening) and the others today: one round asks four different days,
    and paris-15's Tuesday has its first slots booked."""
    for slug, days in (("paris-15", 1), ("paris-7", 2), ("paris-19", 3)):
        await close(client, manager, slug, days)
    tuesday = MONDAY + timedelta(days=1)
    opening = (await people.offered("paris-15", tuesday))[0]
    while (await people.offered("paris-15", tuesday))[0] == opening:  # every station
        await people.book("paris-15", opening)

    async with db.session() as session:
        found = {
            item.site.slug: item.slot.start
            for item in await first_slots(session, "caf", (), clock())
        }

    assert local_day(found["paris-15"]) == tuesday
    assert found["paris-15"] > datetime.fromisoformat(opening)
    assert local_day(found["paris-7"]) == MONDAY + timedelta(days=2)
    assert local_day(found["paris-19"]) == MONDAY + timedelta(days=3)
    assert local_day(found["paris-12"]) == MONDAY
    assert await differences(db) == []
    await agree(db, client, clock(), "caf", "")
    await agree(db, client, clock(), "logement", "fauteuil")


async def test_a_first_day_that_turns_out_full_sends_that_mairie_to_its_next_day_alone(
    db: Database, client: AsyncTestClient[object], clock: Clock, people: People
) -> None:
    """paris-7's Monday is booked to its walk-in share (the summary, generous, still offers
    it): the next round asks its Tuesday while the others have their Monday slots."""
    while starts := await people.offered("paris-7", MONDAY):
        await people.book("paris-7", starts[0])

    async with db.session() as session:
        found = {
            item.site.slug: local_day(item.slot.start)
            for item in await first_slots(session, "caf", (), clock(), limit=17)
        }

    assert found["paris-7"] > MONDAY
    assert await differences(db) == []
    await agree(db, client, clock(), "caf", "")
