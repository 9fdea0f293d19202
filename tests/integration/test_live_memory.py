"""A lobby screen holds, for as long as it stays connected, what its connection needs and
nothing of the reads that let it in: a network's screens are thousands of connections a
process, and every object they keep is walked by each full garbage collection."""

from __future__ import annotations

import gc
from contextlib import ExitStack

from litestar.testing import AsyncTestClient
from sqlalchemy.orm import Session

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
