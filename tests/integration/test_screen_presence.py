"""What an instance reports of its lobby screens every few seconds, read and written in a
few statements however many screens it holds (a network's thousands go as one array on
PostgreSQL): the keys still paired among those held, their last sighting, the count per
site, replacing the instance's previous report and no other instance's."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select, update

from app.db import Database
from app.live import presence, screens
from app.live.models import Screen, ScreenPresence
from app.sites.models import Site
from tests.conftest import Clock

HELD = 3_000


async def test_a_network_s_screens_are_checked_seen_and_counted_in_one_report(
    db: Database, clock: Clock
) -> None:
    now = clock.set("2026-12-01 10:00")
    earlier = now - timedelta(hours=1)
    async with db.writing() as session:
        sites = list(await session.scalars(select(Site.id).order_by(Site.id).limit(2)))
        rows = [
            {"site_id": sites[n % 2], "label": f"Écran {n}", "key_digest": f"{n:064d}",
             "created_at": earlier, "last_seen": earlier}
            for n in range(HELD + 10)
        ]  # fmt: skip
        await session.execute(insert(Screen), rows)
        ids = list(await session.scalars(select(Screen.id).order_by(Screen.id)))
        revoked = set(ids[:HELD:100])  # 30 revoked among those held
        await session.execute(
            update(Screen).where(Screen.id.in_(revoked)).values(revoked_at=earlier)
        )
        presence_rows = [  # another instance's report, and this one's previous
            {"instance": "other", "site_id": sites[0], "screens": 4, "seen_at": now},
            {"instance": "this", "site_id": sites[1], "screens": 99, "seen_at": earlier},
        ]
        await session.execute(insert(ScreenPresence), presence_rows)
    held, not_held = ids[:HELD], set(ids[HELD:])

    async with db.writing() as session:
        kept = await screens.still_paired(session, held)
        await screens.seen(session, kept, now)
        counts = {site: sum(1 for n, i in enumerate(held) if i in kept and n % 2 == s)
                  for s, site in enumerate(sites)}  # fmt: skip
        await presence.report(session, "this", counts, now)

    assert kept == set(held) - revoked
    async with db.session() as session:
        sighted = dict(list(await session.execute(select(Screen.id, Screen.last_seen))))
        reported = set(
            await session.execute(
                select(ScreenPresence.instance, ScreenPresence.site_id, ScreenPresence.screens)
            )
        )
        on_first = await presence.screens(session, sites[0], now)
    assert {i for i, seen in sighted.items() if seen == now} == kept
    assert all(sighted[i] == earlier for i in revoked | not_held)
    assert reported == {
        ("other", sites[0], 4),
        ("this", sites[0], counts[sites[0]]),
        ("this", sites[1], counts[sites[1]]),
    }
    assert counts[sites[0]] + counts[sites[1]] == HELD - len(revoked)
    assert on_first == 4 + counts[sites[0]]
