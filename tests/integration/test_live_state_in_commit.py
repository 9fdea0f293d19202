"""A queue change at a site whose displays this instance holds reads the state it leaves
in its own transaction, under the queue's lock: at the commit the displays here are sent
it, and the other instances get it with the notice, with no read in between (the read
after the commit was most of a lobby screen's delay on the other instance)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from litestar.channels import ChannelsPlugin
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from app.db import WRITING
from app.live import feeds, hub, notices
from tests.conftest import Staff
from tests.integration.test_live_day_change import DISPLAY, listen
from tests.integration.test_queue_api import Desk


async def test_the_displays_get_the_state_read_in_the_change_s_transaction(
    client: AsyncTestClient[object], staff: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = await Desk(client, staff).open()
    reads: list[bool] = []  # whether each read of the state was in a writing transaction
    display = hub.queue.display

    async def watched(session: Any, *args: Any, **kwargs: Any) -> Any:
        reads.append(bool(session.info.get(WRITING)))
        return await display(session, *args, **kwargs)

    monkeypatch.setattr(hub.queue, "display", watched)

    with await client.websocket_connect(DISPLAY) as screen:
        first = listen(screen)
        ticket = await desk.walk_in(force_reason="Tests run at any hour")
        issued = listen(screen)
        called = (await desk.call()).json()
        shown = listen(screen)

    assert first["type"] == "snapshot"
    assert reads == [False, True, True]  # the first screen's snapshot, then each change
    assert issued["seq"] > first["seq"]
    assert issued["waiting"]["count"] == first["waiting"]["count"] + 1
    assert shown["seq"] > issued["seq"]
    assert shown["called"][0]["number"] == ticket["number"] == called["number"]


async def test_a_waiting_model_due_is_read_in_the_change_s_transaction_too(
    client: AsyncTestClient[object], staff: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A quiet site's model (its stations and service times) is older than it may be kept
    at nearly every change: read with the state, in the transaction, rather than left to
    a read after the commit, which every screen, on every instance, would wait for."""
    desk = await Desk(client, staff).open()
    monkeypatch.setattr(feeds, "MODEL_FOR_SECONDS", -1.0)  # always due
    reads: dict[str, list[bool]] = {"display": [], "model": []}
    real = {name: getattr(hub.queue, name) for name in ("display", "waiting_model")}

    def watched(name: str, key: str) -> Any:
        async def reading(session: Any, *args: Any, **kwargs: Any) -> Any:
            reads[key].append(bool(session.info.get(WRITING)))
            return await real[name](session, *args, **kwargs)

        return reading

    monkeypatch.setattr(hub.queue, "display", watched("display", "display"))
    monkeypatch.setattr(hub.queue, "waiting_model", watched("waiting_model", "model"))

    with await client.websocket_connect(DISPLAY) as screen:
        first = listen(screen)
        await desk.walk_in(force_reason="Tests run at any hour")
        issued = listen(screen)

    assert reads == {"display": [False, True], "model": [False, True]}
    assert issued["seq"] == first["seq"] + 1
    assert issued["waiting"]["count"] == first["waiting"]["count"] + 1


async def test_a_state_that_cannot_be_read_in_the_transaction_holds_up_no_change(
    client: AsyncTestClient[object], staff: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read before the commit is the screens' affair: if it fails, the change commits
    all the same and the screens are sent the state read after it."""
    desk = await Desk(client, staff).open()
    display = hub.queue.display

    async def failing_in_transactions(session: Any, *args: Any, **kwargs: Any) -> Any:
        if session.info.get(WRITING):
            raise RuntimeError("a state that cannot be read")
        return await display(session, *args, **kwargs)

    monkeypatch.setattr(hub.queue, "display", failing_in_transactions)

    with await client.websocket_connect(DISPLAY) as screen:
        first = listen(screen)
        await desk.walk_in(force_reason="Tests run at any hour")  # 201, checked by the desk
        issued = listen(screen)

    assert issued["seq"] > first["seq"]
    assert issued["waiting"]["count"] == first["waiting"]["count"] + 1


async def test_a_state_read_the_database_refuses_fails_the_change_rather_than_lose_it(
    client: AsyncTestClient[object], staff: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A statement that fails inside the transaction aborts it on PostgreSQL, whose COMMIT
    then rolls back without a word: the change must fail, not be answered as done and
    shown to the screens while it is gone."""
    desk = await Desk(client, staff).open()
    display = hub.queue.display

    async def refused_in_transactions(session: Any, *args: Any, **kwargs: Any) -> Any:
        if session.info.get(WRITING):
            await session.execute(text("SELECT * FROM no_such_table"))
        return await display(session, *args, **kwargs)

    monkeypatch.setattr(hub.queue, "display", refused_in_transactions)

    with await client.websocket_connect(DISPLAY) as screen:
        first = listen(screen)
        refused = await client.post(
            "/api/v1/sites/paris-15/tickets",
            json={"service": "caf", "force_reason": "Tests run at any hour"},
            headers=desk.reception,
        )
    queue = (await client.get("/api/v1/sites/paris-15/display")).json()

    assert refused.status_code >= 500
    assert queue["seq"] == first["seq"]
    assert queue["waiting"]["count"] == first["waiting"]["count"]


async def test_the_other_instances_are_told_with_the_state_at_the_commit(
    client: AsyncTestClient[object], staff: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The notice goes out with the state as the change commits, not once this instance's
    refresher has sent it to the screens here: that wait, and the answer's, was most of
    the delay on the other instance. The refresher is held here: the notices still go."""
    desk = await Desk(client, staff).open()
    sent: list[tuple[str, notices.Notice]] = []
    publish = ChannelsPlugin.publish

    def recording(plugin: ChannelsPlugin, data: bytes, channels: Any) -> None:
        sent.append((str(channels), notices.read(data)))
        publish(plugin, data, channels)

    async def held(*_: Any) -> None:
        await asyncio.Event().wait()

    monkeypatch.setattr(ChannelsPlugin, "publish", recording)

    with await client.websocket_connect(DISPLAY) as screen:
        first = listen(screen)
        monkeypatch.setattr(hub.Hub, "_refresh", held)
        ticket = await desk.walk_in(force_reason="Tests run at any hour")
        called = (await desk.call()).json()

        told = [notice for channel, notice in sent if ".site." in channel]

    assert [notice.kind for notice in told] == ["update", "called"]
    issued, call = (notice.state for notice in told)
    assert issued is not None
    assert call is not None
    assert issued.seq > first["seq"]
    assert call.seq > issued.seq
    assert issued.waiting_count == first["waiting"]["count"] + 1
    assert call.called[0].number == ticket["number"] == called["number"]
