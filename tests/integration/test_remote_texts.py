"""The texts of the queue from a phone, on both databases with the clock injected: the
first one carries the link that confirms the number, then time to leave home (once), a
turn kept while away (until when), a ticket closed; and leaving by texting a keyword to
the gateway's signed inbound webhook, which frees the number."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app import retention
from app.asgi import create_app
from app.config import Settings
from app.db import Database
from app.notify import render
from app.notify.models import OutboxMessage
from app.queue import remote
from app.queue.models import ReceivedText, TicketStatus
from app.queue.sms_inbound import (
    SIGNATURE_HEADER,
    signature,
    wants_to_leave,
)
from app.queue.views import ticket_by_token
from tests.conftest import Clock, Staff, make_settings
from tests.integration.test_queue_api import Desk

CLIENT = AsyncTestClient[Litestar]
BASE = "https://rendez-vous.example.org"
MORNING = "2026-12-01 09:00"  # a Tuesday; the 15e opens at 8 h 30
PHONE = "06 12 34 56 78"
NUMBER = "+33612345678"
INBOUND_SECRET = "gateway-and-guichet-share-this"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, sms_inbound_secret=INBOUND_SECRET)


@pytest.fixture
async def client(settings: Settings, clock: Clock) -> AsyncIterator[CLIENT]:
    app = create_app(settings, clock=clock)
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1") as test_client:
        yield test_client


async def join(client: CLIENT, **fields: Any) -> Any:
    body = {"service": "caf", "phone": PHONE, "travel_minutes": 20, **fields}
    response = await client.post("/api/v1/sites/paris-15/remote-tickets", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def texts(db: Database, kind: str) -> list[OutboxMessage]:
    async with db.session() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        )
        return list(rows)


def read(message: OutboxMessage) -> str:
    """The text as it is sent (in French, the tickets' language here)."""
    return render.sms(message.kind, render.localized(message.data, None), BASE).text


async def held_ticket(client: CLIENT, staff: Staff, clock: Clock) -> tuple[str, Any]:
    """A remote ticket passed over at 9 h 05 by the call of a walk-in taken after it."""
    clock.set(MORNING)
    desk = await Desk(client, staff).open()
    token = (await join(client))["token"]
    clock.set("2026-12-01 09:05")
    await desk.walk_in()
    called = await desk.call()
    assert called.status_code == 200, called.text
    return token, desk


async def test_joining_writes_the_first_text_with_the_link_that_confirms_the_number(
    client: CLIENT, db: Database, settings: Settings, clock: Clock
) -> None:
    now = clock.set(MORNING)

    ticket = await join(client)

    [joined] = await texts(db, "joined")
    code = remote.confirmation_code(settings.secret_key, ticket["token"])
    link = f"{BASE}/ticket/{ticket['token']}?confirmer={code}"
    assert joined.recipient == NUMBER
    assert joined.channel == "sms"
    assert joined.send_after == now  # at once: it is about today's queue
    text = read(joined)
    assert text.startswith(f"Mairie du 15e arrondissement : ticket {ticket['number']} pour ")
    assert link in text
    assert "répondez QUITTER" in text
    assert render.sms("joined", joined.data, BASE).segments <= 2
    # The code the link carries is the one that confirms the number.
    async with db.session() as session:
        confirmed = await remote.confirm(
            session, ticket["token"], link.rsplit("=", 1)[1], secret=settings.secret_key, now=now
        )
    assert confirmed


async def test_a_call_passing_over_a_remote_ticket_texts_until_when_its_turn_is_kept(
    client: CLIENT, staff: Staff, db: Database, clock: Clock
) -> None:
    token, _ = await held_ticket(client, staff, clock)

    [held] = await texts(db, "held")

    # Held at 9 h 05, kept for the 15e's 15 minutes of rejoin window.
    assert read(held) == (
        "Mairie du 15e arrondissement : votre tour est arrivé en votre absence "
        f"(ticket {held.data['number']}). Présentez-vous avant 9 h 20, votre place vous est "
        "gardée jusque-là."
    )
    assert held.data["token"] == token


async def test_a_held_ticket_closed_unanswered_texts_not_arrived_and_a_never_held_one_does_not(
    client: CLIENT, staff: Staff, db: Database, clock: Clock
) -> None:
    token, _ = await held_ticket(client, staff, clock)
    # Another number, never confirmed and never passed over (it joined after the call).
    await join(client, phone="06 98 76 54 32")

    closed = await remote.close_unanswered(db, clock() + timedelta(minutes=20))

    assert closed == 2
    [gone] = await texts(db, "not_arrived")
    assert gone.data["token"] == token
    assert f"votre ticket {gone.data['number']} est fermé" in read(gone)


async def test_time_to_leave_home_is_texted_once_however_often_it_is_looked_for(
    client: CLIENT, db: Database, clock: Clock
) -> None:
    now = clock.set(MORNING)
    ticket = await join(client, travel_minutes=20)  # nobody before: the time has come

    first = await remote.tell_to_leave(db, now)
    again = await remote.tell_to_leave(db, now + timedelta(minutes=2))

    assert (first, again) == (1, 0)
    [leave_now] = await texts(db, "leave_now")
    assert leave_now.send_after == now
    assert read(leave_now) == (
        "Mairie du 15e arrondissement : c'est le moment de partir, votre tour approche "
        f"(ticket {ticket['number']}). Pour quitter la file, répondez QUITTER."
    )


def inbound(
    text: str, clock: Clock, sender: str = "33612345678", *, sent: timedelta = timedelta()
) -> bytes:
    """The gateway's body for a text sent `sent` before the clock's now; its id is the
    same for the same text, sender and time (as a gateway re-sending it would keep it)."""
    sent_at = (clock() - sent).isoformat()
    message_id = hashlib.sha256(f"{sender}|{text}|{sent_at}".encode()).hexdigest()[:32]
    return json.dumps({"id": message_id, "sent_at": sent_at, "from": sender, "text": text}).encode()


NOTHING = {"left": None, "offers_stopped": 0, "already_taken": False}


async def post_inbound(client: CLIENT, body: bytes, signed: str | None) -> Any:
    headers = {"Content-Type": "application/json"}
    if signed is not None:
        headers[SIGNATURE_HEADER] = signed
    return await client.post("/api/v1/sms/inbound", content=body, headers=headers)


async def test_a_texted_quitter_cancels_the_ticket_and_frees_the_number(
    client: CLIENT, db: Database, clock: Clock
) -> None:
    clock.set(MORNING)
    ticket = await join(client)
    body = inbound("  Quittér ", clock)

    unsigned = await post_inbound(client, body, None)
    wrongly = await post_inbound(client, body, signature("not the secret", body))
    other_body = await post_inbound(client, body, signature(INBOUND_SECRET, inbound("STOP", clock)))
    still = await db_status(db, ticket["token"])
    chatter = await post_inbound(
        client, inbound("merci", clock), signature(INBOUND_SECRET, inbound("merci", clock))
    )
    chatter_again = await post_inbound(
        client, inbound("merci", clock), signature(INBOUND_SECRET, inbound("merci", clock))
    )
    left = await post_inbound(client, body, signature(INBOUND_SECRET, body))
    again = await post_inbound(client, body, signature(INBOUND_SECRET, body))
    joined_again = await join(client)

    assert (unsigned.status_code, wrongly.status_code, other_body.status_code) == (401, 401, 401)
    assert still == TicketStatus.REMOTE
    assert (chatter.status_code, chatter.json()) == (200, NOTHING)
    assert chatter_again.json() == {**NOTHING, "already_taken": True}  # taken, if idle
    assert (left.status_code, left.json()) == (200, {**NOTHING, "left": ticket["number"]})
    assert await db_status(db, ticket["token"]) == TicketStatus.CANCELLED
    assert again.json() == {**NOTHING, "already_taken": True}
    assert joined_again["token"] != ticket["token"]


async def test_the_same_text_posted_twice_at_once_is_taken_once(
    client: CLIENT, db: Database, clock: Clock
) -> None:
    """A gateway that retries before its first try was answered: one of the two leaves the
    queue, the other finds the text taken (the text's row is the lock)."""
    clock.set(MORNING)
    ticket = await join(client)
    body = inbound("QUITTER", clock)

    answers = await asyncio.gather(
        *(post_inbound(client, body, signature(INBOUND_SECRET, body)) for _ in range(2))
    )

    assert sorted(a.json()["already_taken"] for a in answers) == [False, True]
    assert sorted(str(a.json()["left"]) for a in answers) == sorted([str(None), ticket["number"]])
    assert await db_status(db, ticket["token"]) == TicketStatus.CANCELLED
    assert len(await received_ids(db)) == 1


async def test_a_texted_stop_ends_the_offers_of_earlier_slots_to_the_number(
    client: CLIENT, db: Database, clock: Clock
) -> None:
    """An offer by text says where to stop them; STOP, the word every SMS service takes,
    stops them too: the number waits for an earlier slot no more, for any appointment."""
    clock.set("2026-11-30 09:00")
    tokens = []
    for start in ("2026-12-04T10:00:00+01:00", "2026-12-11T10:00:00+01:00"):
        body = {"site": "paris-15", "service": "caf", "start": start, "name": "Ada", "phone": PHONE}
        booked = await client.post("/api/v1/appointments", json=body)
        assert booked.status_code == 201, booked.text
        tokens.append(booked.json()["token"])
        asked = await client.post(f"/api/v1/appointments/{tokens[-1]}/waitlist", json={})
        assert asked.status_code == 201, asked.text

    other = await post_inbound(
        client, inbound("Quitter", clock), signature(INBOUND_SECRET, inbound("Quitter", clock))
    )
    stop = await post_inbound(
        client, inbound("STOP", clock), signature(INBOUND_SECRET, inbound("STOP", clock))
    )

    assert other.json() == NOTHING
    assert stop.json() == {**NOTHING, "offers_stopped": 2}
    for token in tokens:
        assert (await client.get(f"/api/v1/appointments/{token}")).json()["waitlist"] is None


async def test_a_caught_text_posted_again_later_does_not_make_the_number_leave_a_new_ticket(
    client: CLIENT, db: Database, clock: Clock, settings: Settings
) -> None:
    """A signed body caught on its way is worth nothing later: the same text posted again
    does not act twice, and one sent long ago (or dated ahead, or without an offset) is
    refused, whatever its signature."""
    clock.set(MORNING)
    first = await join(client)
    body = inbound("QUITTER", clock)
    left = await post_inbound(client, body, signature(INBOUND_SECRET, body))
    second = await join(client)
    replayed = await post_inbound(client, body, signature(INBOUND_SECRET, body))
    old = inbound("QUITTER", clock, sent=timedelta(minutes=11))
    stale = await post_inbound(client, old, signature(INBOUND_SECRET, old))
    ahead = inbound("QUITTER", clock, sent=-timedelta(minutes=11))
    early = await post_inbound(client, ahead, signature(INBOUND_SECRET, ahead))
    naive = json.dumps(
        {"id": "x1", "sent_at": "2026-12-01T09:00:00", "from": "33612345678", "text": "STOP"}
    ).encode()
    no_offset = await post_inbound(client, naive, signature(INBOUND_SECRET, naive))
    recent = inbound("QUITTER", clock, sent=timedelta(minutes=9))
    late_but_fine = await post_inbound(client, recent, signature(INBOUND_SECRET, recent))

    assert left.json()["left"] == first["number"]
    assert replayed.json() == {**NOTHING, "already_taken": True}
    assert [r.status_code for r in (stale, early, no_offset)] == [400, 400, 400]
    assert stale.json()["code"] == "stale_text"
    assert early.json()["code"] == "stale_text"
    assert no_offset.json()["code"] == "sent_at_offset", "not stale: said wrongly"
    assert late_but_fine.json()["left"] == second["number"]
    assert len(await received_ids(db)) == 2
    await retention.sweep(db, settings, clock() + timedelta(hours=23))
    assert len(await received_ids(db)) == 2
    await retention.sweep(db, settings, clock() + timedelta(hours=25))
    assert await received_ids(db) == []


async def received_ids(db: Database) -> list[str]:
    async with db.session() as session:
        return list(await session.scalars(select(ReceivedText.message_id)))


@pytest.mark.parametrize("word", ["ANNULER", "stop", "Stop.", "annulér", "\tQUITTER\n"])
def test_each_leaving_keyword_is_taken_whatever_its_case_accents_and_spaces(word: str) -> None:
    assert wants_to_leave(word)
    assert not wants_to_leave(f"je veux {word}")


async def test_the_webhook_is_off_while_no_secret_is_set(database_url: str, clock: Clock) -> None:
    app = create_app(make_settings(database_url), clock=clock)
    body = inbound("QUITTER", clock)
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1") as off:
        answer = await post_inbound(off, body, signature("", body))

    assert answer.status_code == 404


async def db_status(db: Database, token: str) -> str:
    async with db.session() as session:
        return (await ticket_by_token(session, token)).status
