"""A lobby screen holds, for as long as it stays connected, what its connection needs and
nothing of the reads that let it in: a network's screens are thousands of connections a
process, and every object they keep is walked by each full garbage collection; the
instance makes that walk once itself when a burst of screens is over."""

from __future__ import annotations

import asyncio
import gc
from contextlib import ExitStack

from litestar.testing import AsyncTestClient
from sqlalchemy.orm import Session

from app.live.hub import Hub
from tests.conftest import Staff

CLIENT = AsyncTestClient[object]
DISPLAY = "/ws/sites/paris-15/display"
SCREENS = 12
WITHIN = 10  # seconds a message may take to come; a wait, not a measure


def sessions_alive() -> int:
    gc.collect()
    return sum(isinstance(found, Session) for found in gc.get_objects())


async def test_connected_screens_keep_no_database_session(client: CLIENT, staff: Staff) -> None:
    manager = await staff.headers("manager", "paris-15")
    paired = await client.post(
        "/api/v1/admin/sites/paris-15/screens", json={"label": "Hall"}, headers=manager
    )
    key = paired.json()["key"]
    before = sessions_alive()

    with ExitStack() as stack:
        for number in range(SCREENS):
            address = f"{DISPLAY}?ecran={key}" if number % 2 else DISPLAY
            socket = stack.enter_context(await client.websocket_connect(address))
            assert socket.receive_json(timeout=WITHIN)["type"] == "snapshot"
        connected = sessions_alive()

    # A session the hub's own loops hold for a moment may be alive; one per screen may not.
    assert connected - before < SCREENS // 2


async def test_a_burst_of_screens_is_collected_once_when_it_is_over(
    client: CLIENT, staff: Staff
) -> None:
    manager = await staff.headers("manager", "paris-15")
    paired = await client.post(
        "/api/v1/admin/sites/paris-15/screens", json={"label": "Hall"}, headers=manager
    )
    key = paired.json()["key"]
    collections: list[bool] = []
    for hub in [found for found in gc.get_objects() if isinstance(found, Hub)]:
        # this test's app's, and those of earlier tests, stopped, if not yet collected
        hub.settling.burst, hub.settling.collect = SCREENS, collections.append

    with ExitStack() as stack:
        for _ in range(SCREENS):
            address = f"{DISPLAY}?ecran={key}"
            socket = stack.enter_context(await client.websocket_connect(address))
            assert socket.receive_json(timeout=WITHIN)["type"] == "snapshot"
        waited = 0.0
        while not collections and waited < WITHIN:
            await asyncio.sleep(0.2)
            waited += 0.2
        await asyncio.sleep(1.5)  # a second round of the loop, which must not collect again
        connected = list(collections)
    waited = 0.0
    while len(collections) < 2 and waited < WITHIN:
        await asyncio.sleep(0.2)
        waited += 0.2

    assert connected == [False]  # the burst's objects collected, nothing to bring back
    assert collections == [False, True]  # once they left, the frozen brought back in
