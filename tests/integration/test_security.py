"""Staff access and usager-side protections, on both databases: wrong passwords slowing
down their own account and address (never the agent elsewhere), the audit log of logins
and of the queue, token revocation, CSRF and login origin, security headers, per-address
rate limits, private-link lookups, the addresses of proxies believed, the metrics."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from websockets.exceptions import ConnectionClosed, InvalidStatus

from app.accounts.models import Agent
from app.asgi import create_app
from app.audit.models import AuditEvent
from app.booking.models import Appointment
from app.config import Settings, SettingsError, load_settings
from app.db import Database
from tests.conftest import STAFF_PASSWORD, TEST_SECRET, Clock, Staff, desks, make_settings
from tests.servers import running

SCREENS = "/api/v1/admin/sites/paris-15/screens"
NOT_PAIRED = 4403
TOO_MANY = 4429

BASE = "http://127.0.0.1"


@pytest.fixture
def settings(database_url: str) -> Settings:
    # Slowing down is about failures, whatever their pace: the per-minute login limit
    # (tested elsewhere) is lifted so that it does not answer first.
    return make_settings(database_url, login_attempts_per_minute=10_000)


async def login(client: AsyncTestClient[object], email: str, password: str) -> int:
    response = await client.post("/api/v1/auth/token", json={"email": email, "password": password})
    return response.status_code


async def appointment_count(db: Database) -> int:
    async with db.session() as session:
        return len((await session.scalars(select(Appointment.id))).all())


async def audit_rows(db: Database, *actions: str) -> list[AuditEvent]:
    async with db.session() as session:
        query = select(AuditEvent).order_by(AuditEvent.id)
        if actions:
            query = query.where(AuditEvent.action.in_(actions))
        return list(await session.scalars(query))


async def agent_named(db: Database, email: str) -> Agent:
    async with db.session() as session:
        return await session.scalar(select(Agent).where(Agent.email == email))  # type: ignore[return-value]


async def token_status(client: httpx.AsyncClient, email: str, password: str) -> int:
    response = await client.post("/api/v1/auth/token", json={"email": email, "password": password})
    return response.status_code


async def test_an_attackers_wrong_passwords_never_refuse_the_agent_at_their_own_desk(
    database_url: str, staff: Staff, db: Database, clock: Clock
) -> None:
    start = clock.set("2026-12-01 09:00")
    email = await staff.agent("facilitator", "paris-15")
    agent = await agent_named(db, email)
    settings = make_settings(database_url)  # the per-minute login limits as deployed
    async with desks(create_app(settings, clock=clock), "127.0.0.1", "127.0.0.2") as (
        desk,
        attacker,
    ):
        attempts = []
        for minute in range(30):
            clock.now = start + timedelta(seconds=minute * 7)
            attempts.append(await token_status(attacker, email, f"guess number {minute}"))
            attempts.append(await token_status(attacker, email, STAFF_PASSWORD))
        at_the_desk = [await token_status(desk, email, STAFF_PASSWORD) for _ in range(3)]
        page = await desk.post("/connexion", data={"email": email, "password": STAFF_PASSWORD})

    assert set(attempts[:10:2]) == {401}
    assert 429 in attempts, "the attacker is slowed down"
    assert at_the_desk == [200] * 3
    assert page.status_code == 303
    failed = await audit_rows(db, "auth.login_failed")
    assert failed
    assert all(row.agent_id == agent.id for row in failed)
    assert {row.address for row in failed} == {"127.0.0.2"}
    logged = " ".join(f"{row.target} {row.details}" for row in await audit_rows(db))
    assert "guess number" not in logged
    assert STAFF_PASSWORD not in logged


async def test_failures_slow_down_their_account_and_address_for_a_growing_delay(
    database_url: str, staff: Staff, db: Database, clock: Clock
) -> None:
    start = clock.set("2026-12-01 09:00")
    email = await staff.agent("facilitator", "paris-15")
    settings = make_settings(database_url, login_attempts_per_minute=10_000)
    async with desks(create_app(settings, clock=clock), "127.0.0.2") as (attacker,):
        free = [await token_status(attacker, email, "not the password") for _ in range(10)]
        first = await attacker.post(
            "/api/v1/auth/token", json={"email": email, "password": STAFF_PASSWORD}
        )
        clock.now = start + timedelta(seconds=61)
        eleventh = await token_status(attacker, email, "still not it")
        second = await attacker.post(
            "/api/v1/auth/token", json={"email": email, "password": "whatever"}
        )
        clock.now = start + timedelta(seconds=61 + 121)
        twelfth = await token_status(attacker, email, "nor this one")
        third = await attacker.post(
            "/api/v1/auth/token", json={"email": email, "password": "whatever"}
        )
        clock.now = start + timedelta(seconds=61 + 121 + 241)
        right = await token_status(attacker, email, STAFF_PASSWORD)
        again = await token_status(attacker, email, "a typo, once")

    assert free == [401] * 10
    waits = [int(answer.headers["retry-after"]) for answer in (first, second, third)]
    assert [first.status_code, second.status_code, third.status_code] == [429] * 3
    assert waits == [60, 120, 240]
    assert first.headers["content-type"].startswith("application/problem+json")
    assert (eleventh, twelfth) == (401, 401)
    assert right == 200
    assert again == 401, "a good login clears the count of its address"
    slowed = await audit_rows(db, "auth.slowed")
    assert [(row.details["failures"], row.details["seconds"]) for row in slowed] == [
        (10, 60),
        (11, 120),
        (12, 240),
    ]
    refused = await audit_rows(db, "auth.login_refused")
    assert [row.details["reason"] for row in refused] == ["slowed"] * 3


async def test_the_wait_announced_is_the_longest_that_applies(
    database_url: str, staff: Staff, clock: Clock
) -> None:
    # The per-minute limit of ten tries runs out with the tenth failure, just as the
    # failures slow the pair down for a minute: a client told to come back when the
    # per-minute limit allows would be refused again.
    clock.set("2026-12-01 09:00")
    email = await staff.agent("facilitator", "paris-15")
    settings = make_settings(database_url, login_attempts_per_minute=10)
    async with desks(create_app(settings, clock=clock), "127.0.0.2") as (attacker,):
        free = [await token_status(attacker, email, "not the password") for _ in range(10)]
        told = [
            await attacker.post(
                "/api/v1/auth/token", json={"email": email, "password": STAFF_PASSWORD}
            )
            for _ in range(3)
        ]

    assert free == [401] * 10
    assert [answer.status_code for answer in told] == [429] * 3
    assert [int(answer.headers["retry-after"]) for answer in told] == [60] * 3


async def test_an_address_that_tries_many_accounts_is_slowed_down_for_all_of_them(
    database_url: str, staff: Staff, clock: Clock
) -> None:
    clock.set("2026-12-01 09:00")
    email = await staff.agent("reception", "paris-15")
    settings = make_settings(database_url, login_attempts_per_minute=10_000)
    async with desks(create_app(settings, clock=clock), "127.0.0.1", "127.0.0.2") as (
        desk,
        sprayer,
    ):
        sprayed = [
            await token_status(sprayer, f"someone.{n}@agents.example.org", "Printemps2026!")
            for n in range(50)
        ]
        next_account = await token_status(sprayer, email, STAFF_PASSWORD)
        at_the_desk = await token_status(desk, email, STAFF_PASSWORD)

    assert sprayed == [401] * 50
    assert next_account == 429
    assert at_the_desk == 200


async def test_the_login_page_says_when_to_try_again(
    client: AsyncTestClient[object], staff: Staff, clock: Clock
) -> None:
    clock.set("2026-12-01 09:00")
    email = await staff.agent("reception", "paris-15")
    for _ in range(10):
        await login(client, email, "wrong wrong wrong")

    page = await client.post(
        "/connexion", data={"email": email, "password": STAFF_PASSWORD}, follow_redirects=False
    )

    assert page.status_code == 429
    assert page.headers["retry-after"] == "60"
    assert "set-cookie" not in page.headers
    assert "réessayez dans 1 minute" in page.text


async def test_failed_logins_of_unknown_accounts_are_logged_without_the_address_typed(
    client: AsyncTestClient[object], db: Database
) -> None:
    status = await login(client, "someone.typed.this@example.org", "whatever it is")

    rows = await audit_rows(db, "auth.login_failed")
    assert status == 401
    assert len(rows) == 1
    assert rows[0].agent_id is None
    assert rows[0].address == "testclient"  # the client address of the test transport
    assert "someone.typed.this" not in repr(rows[0].details) + rows[0].target


async def test_disabling_an_agent_or_changing_their_access_revokes_issued_tokens(
    client: AsyncTestClient[object], staff: Staff, db: Database, clock: Clock
) -> None:
    now = clock.set("2026-12-01 09:00")
    email = await staff.agent("reception", "paris-15")
    token = await staff.token(email)
    headers = {"Authorization": f"Bearer {token}"}
    before = await client.get("/api/v1/sites/paris-15/queue", headers=headers)

    clock.now = now + timedelta(seconds=1)  # a password reset, a role change, a later second
    async with db.writing() as session:
        await session.execute(
            update(Agent).where(Agent.email == email).values(tokens_valid_after=clock.now)
        )
    revoked = await client.get("/api/v1/sites/paris-15/queue", headers=headers)
    fresh = await client.get(
        "/api/v1/sites/paris-15/queue",
        headers={"Authorization": f"Bearer {await staff.token(email)}"},
    )

    assert before.status_code == 200
    assert revoked.status_code == 401
    assert fresh.status_code == 200


async def test_queue_actions_and_bookings_on_behalf_are_in_the_audit_log_without_personal_data(
    client: AsyncTestClient[object], staff: Staff, db: Database, clock: Clock
) -> None:
    clock.set("2026-12-01 09:00")
    reception = await staff.headers("reception", "paris-15")
    facilitator = await staff.headers("facilitator", "paris-15")
    site = (await client.get("/api/v1/sites/paris-15")).json()
    station = site["stations"][0]["id"]
    ticket = await client.post(
        "/api/v1/sites/paris-15/tickets",
        json={"service": "caf", "phone": "06 12 34 56 78"},
        headers=reception,
    )
    called = await client.post(f"/api/v1/stations/{station}/call-next", headers=facilitator)
    slots = await client.get(
        "/api/v1/sites/paris-15/availability",
        params={"service": "caf", "from": "2026-12-03", "to": "2026-12-03"},
    )
    booked = await client.post(
        "/api/v1/appointments",
        json={
            "site": "paris-15",
            "service": "caf",
            "start": slots.json()["slots"][0]["start"],
            "name": "Odette Lampion",
            "phone": "06 98 76 54 32",
            "channel": "phone",
        },
        headers=reception,
    )

    assert ticket.status_code == 201
    assert called.status_code == 200
    assert booked.status_code == 201
    rows = await audit_rows(db, "ticket.issued", "ticket.called", "appointment.booked")
    assert [row.action for row in rows] == ["ticket.issued", "ticket.called", "appointment.booked"]
    number = ticket.json()["number"]
    assert rows[0].target == rows[1].target == f"ticket:{number}"
    assert rows[1].details["station"] == station
    assert rows[2].target == f"appointment:{booked.json()['reference']}"
    assert rows[2].details["channel"] == "phone"
    everything = " ".join(f"{row.target} {row.details}" for row in await audit_rows(db))
    for personal in ("Odette", "Lampion", "06 98", "0698", "06 12", "0612", "+33"):
        assert personal not in everything


async def test_a_manager_reads_the_log_of_their_site_only_and_filters_it(
    client: AsyncTestClient[object], staff: Staff, clock: Clock
) -> None:
    clock.set("2026-12-01 09:00")
    at_15 = await staff.headers("reception", "paris-15")
    at_20 = await staff.headers("reception", "paris-20")
    await client.post("/api/v1/sites/paris-15/tickets", json={"service": "caf"}, headers=at_15)
    await client.post("/api/v1/sites/paris-20/tickets", json={"service": "caf"}, headers=at_20)
    manager = await staff.headers("manager", "paris-15")
    admin = await staff.headers("admin")

    own = await client.get("/api/v1/audit", headers=manager)
    tickets_only = await client.get(
        "/api/v1/audit", params={"action": "ticket.", "site": "paris-15"}, headers=manager
    )
    other_site = await client.get("/api/v1/audit", params={"site": "paris-20"}, headers=manager)
    everything = await client.get("/api/v1/audit", headers=admin)
    by_reception = await client.get("/api/v1/audit", headers=at_15)
    anonymous = await client.get("/api/v1/audit")
    bad_filter = await client.get("/api/v1/audit", params={"action": "DROP TABLE"}, headers=admin)
    far_dates = [
        await client.get("/api/v1/audit", params={key: day}, headers=admin)
        for key in ("from", "to")
        for day in ("0001-01-01", "9999-12-31")
    ]

    assert own.status_code == 200
    sites = {event["site"] for event in own.json()["events"]}
    assert sites <= {"paris-15", None}
    assert "paris-20" not in sites
    actions = {event["action"] for event in own.json()["events"]}
    assert {"ticket.issued", "auth.login"} <= actions
    assert [event["action"] for event in tickets_only.json()["events"]] == ["ticket.issued"]
    event = tickets_only.json()["events"][0]
    assert event["agent"]["role"] == "reception"
    assert event["at"].endswith("+01:00")
    assert other_site.status_code == 403
    assert {"paris-15", "paris-20"} <= {e["site"] for e in everything.json()["events"]}
    assert by_reception.status_code == 403
    assert anonymous.status_code == 401
    assert bad_filter.status_code == 400
    assert [response.status_code for response in far_dates] == [400] * 4


async def test_the_log_pages_back_through_older_events(
    client: AsyncTestClient[object], staff: Staff, clock: Clock
) -> None:
    clock.set("2026-12-01 09:00")
    reception = await staff.headers("reception", "paris-15")
    for _ in range(5):
        await client.post(
            "/api/v1/sites/paris-15/tickets", json={"service": "caf"}, headers=reception
        )
    admin = await staff.headers("admin")

    seen: list[int] = []
    params: dict[str, Any] = {"action": "ticket.issued", "limit": 2}
    while True:
        page = (await client.get("/api/v1/audit", params=params, headers=admin)).json()
        seen += [event["id"] for event in page["events"]]
        if page["next_before"] is None:
            break
        params["before"] = page["next_before"]

    assert len(seen) == 5
    assert seen == sorted(seen, reverse=True)


async def test_a_login_posted_from_another_origin_is_refused(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    email = await staff.agent("reception", "paris-15")

    foreign = await client.post(
        "/connexion",
        data={"email": email, "password": STAFF_PASSWORD},
        headers={"Origin": "https://evil.example.org"},
        follow_redirects=False,
    )
    own = await client.post(
        "/connexion",
        data={"email": email, "password": STAFF_PASSWORD},
        headers={"Origin": "http://127.0.0.1"},
        follow_redirects=False,
    )

    assert foreign.status_code == 403
    assert "set-cookie" not in foreign.headers
    assert own.status_code == 303


async def test_a_resident_form_posted_from_another_site_books_and_cancels_nothing(
    client: AsyncTestClient[object], db: Database, clock: Clock
) -> None:
    """Another site cannot make its visitors' browsers book (which would also spread one
    person's bookings over many addresses) or act on a private link they hold."""
    clock.set("2026-11-30 08:00")
    form = {
        "service": "caf",
        "debut": "2026-12-01T10:00:00+01:00",
        "nom": "Marie Curie",
        "email": "marie@example.org",
        "confirmer": "oui",  # the summary confirmed
    }
    path = "/mairies/paris-15/rendez-vous/coordonnees"
    foreign = await client.post(path, data=form, headers={"Origin": "https://evil.example.org"})
    assert foreign.status_code == 403
    assert "envoyé depuis les pages de la mairie" in foreign.text
    assert await appointment_count(db) == 0

    own = await client.post(path, data=form, headers={"Origin": BASE}, follow_redirects=False)
    assert own.status_code == 303
    private_page = own.headers["location"].split("?")[0]
    cross_site = await client.post(
        f"{private_page}/annuler", data={}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert cross_site.status_code == 403
    # A private page sends no referrer: a browser posts its forms with `Origin: null`,
    # and says they come from the same origin.
    reminders = await client.post(
        f"{private_page}/rappels",
        data={},
        headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert reminders.status_code == 303
    async with db.session() as session:
        statuses = (await session.scalars(select(Appointment.status))).all()
    assert statuses == ["booked"]


@pytest.mark.parametrize(
    "path", ["/", "/connexion", "/api/v1/sites", "/api/v1/nothing-here", "/static/guichet.css"]
)
async def test_every_answer_carries_the_security_headers(
    client: AsyncTestClient[object], path: str
) -> None:
    response = await client.get(path)

    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] in ("same-origin", "no-referrer")
    assert response.headers["x-frame-options"] == "DENY"
    assert "strict-transport-security" not in response.headers  # local mode: plain HTTP


async def test_pages_hold_no_inline_script_or_style(client: AsyncTestClient[object]) -> None:
    for path in ("/", "/connexion", "/rendez-vous-en-ligne"):
        response = await client.get(path)
        if response.status_code == 404:
            continue
        html = response.text
        assert "<script>" not in html
        assert "style=" not in html
        assert "<style" not in html
        assert all("src=" in tag for tag in html.split("<script")[1:])


async def test_in_production_cookies_are_secure_and_hsts_is_sent(
    database_url: str, staff: Staff, clock: Clock
) -> None:
    email = await staff.agent("reception", "paris-15")
    settings = make_settings(database_url, env="production")
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as client:
        response = await client.post(
            "/connexion",
            data={"email": email, "password": STAFF_PASSWORD},
            follow_redirects=False,
        )

    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"]
    assert "HttpOnly" in response.headers["set-cookie"]
    assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_public_endpoints_answer_429_with_retry_after_past_the_address_budget(
    database_url: str, clock: Clock
) -> None:
    settings = make_settings(database_url, requests_per_minute=5)
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as client:
        statuses = [(await client.get("/api/v1/sites")).status_code for _ in range(5)]
        refused = await client.get("/api/v1/services")
        health = await client.get("/health/live")

    assert statuses == [200] * 5
    assert refused.status_code == 429
    # One request's share of the minute (12 s), less the time the five took.
    assert 1 <= int(refused.headers["retry-after"]) <= 12
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert health.status_code == 200


async def test_guessing_private_links_is_slowed_down(database_url: str, clock: Clock) -> None:
    settings = make_settings(database_url, token_lookups_per_minute=3)
    guesses = [f"guessed-token-{n:04d}-abcdefghijklmnop" for n in range(6)]
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as client:
        statuses = [
            (await client.get(f"/api/v1/appointments/{guess}")).status_code for guess in guesses[:3]
        ]
        ticket = await client.get(f"/api/v1/tickets/{guesses[3]}")
        page = await client.get(f"/rendez-vous/{guesses[4]}")
        sites = await client.get("/api/v1/sites")

    assert statuses == [404] * 3
    assert ticket.status_code == 429
    # One lookup's share of the minute (20 s), less the time the three took.
    assert 1 <= int(ticket.headers["retry-after"]) <= 20
    assert page.status_code == 429
    assert sites.status_code == 200  # other public reads keep their own budget


async def test_following_ones_own_links_never_spends_the_budget_of_unknown_ones(
    database_url: str, clock: Clock
) -> None:
    # A mairie's Wi-Fi: many phones behind one address, each following its own ticket,
    # page, state and socket over and over; only the links that lead nowhere count.
    clock.set("2026-12-01 09:00")
    settings = make_settings(database_url, token_lookups_per_minute=3)
    joined = {"service": "caf", "phone": "06 12 34 56 78", "travel_minutes": 20}
    guesses = [f"guessed-token-{n:04d}-abcdefghijklmnop" for n in range(4)]
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as client:
        token = (await client.post("/api/v1/sites/paris-15/remote-tickets", json=joined)).json()[
            "token"
        ]
        own = []
        for _ in range(3):
            own.append((await client.get(f"/api/v1/tickets/{token}")).status_code)
            own.append((await client.get(f"/ticket/{token}")).status_code)
            own.append((await client.get(f"/ticket/{token}/etat")).status_code)
            with await client.websocket_connect(f"/ws/tickets/{token}") as socket:
                own.append(101 if socket.receive_json() else 0)
        misses = [(await client.get(f"/api/v1/tickets/{guess}")).status_code for guess in guesses]
        own_after = await client.get(f"/api/v1/tickets/{token}")

    assert own == [200, 200, 200, 101] * 3
    assert misses == [404, 404, 404, 429]
    # Past the budget every link waits, known or not: nothing tells them apart unread.
    assert own_after.status_code == 429


async def close_code(client: AsyncTestClient[object], path: str) -> int:
    """The code a websocket at `path` is closed with before it is sent anything (0: it is
    sent its first message)."""
    try:
        with await client.websocket_connect(path) as socket:
            socket.receive_json(timeout=10)
    except WebSocketDisconnect as closed:
        return closed.code
    return 0


async def test_guessing_screen_keys_spends_the_budget_of_unknown_links(
    database_url: str, db: Database, clock: Clock
) -> None:
    # A lobby screen's key in its socket's query is a secret as a link's token is: wrong
    # ones count as unknown links, a paired screen's key never does however often used.
    clock.set("2026-12-01 09:00")
    settings = make_settings(database_url, token_lookups_per_minute=3)
    display = "/ws/sites/paris-15/display"
    guesses = [f"guessed-screen-key-{n:04d}-abcdefgh" for n in range(4)]
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as client:
        manager = await Staff(db, client).headers("manager", "paris-15")
        paired = await client.post(SCREENS, json={"label": "Hall"}, headers=manager)
        key = paired.json()["key"]
        own = []
        for _ in range(4):
            with await client.websocket_connect(f"{display}?ecran={key}") as screen:
                own.append(screen.receive_json()["type"])
        misses = [await close_code(client, f"{display}?ecran={guess}") for guess in guesses]
        ticket_socket = await close_code(client, f"/ws/tickets/{guesses[0]}")
        ticket = await client.get(f"/api/v1/tickets/{guesses[0]}")
        with await client.websocket_connect(display) as public:
            unkeyed = public.receive_json()["type"]

    assert own == ["snapshot"] * 4
    assert misses[:3] == [NOT_PAIRED] * 3
    # Refused as an unknown ticket's socket is once the budget is spent, before it is read,
    # with a code that says so.
    assert misses[3] == ticket_socket == TOO_MANY
    assert ticket.status_code == 429
    assert 1 <= int(ticket.headers["retry-after"]) <= 20
    assert unkeyed == "snapshot"  # a display without a key looks nothing up


async def test_guessing_partner_keys_spends_the_budget_of_unknown_links(
    database_url: str, db: Database, clock: Clock
) -> None:
    # A partner's key in `Authorization` is a secret as a link's token is: wrong ones count
    # as unknown links, on bookings as on staff endpoints; the partner's own never does.
    clock.set("2026-12-01 09:30")
    settings = make_settings(database_url, token_lookups_per_minute=3)
    ccas = {"name": "CCAS du 15e", "email": "accueil@ccas15.example.org", "sites": ["paris-15"]}
    wrong = [f"gp_abcdefghjk_{'x' * 39}{n:04d}" for n in range(4)]
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as client:
        admin = await Staff(db, client).headers("admin")
        key = (await client.post("/api/v1/admin/partners", json=ccas, headers=admin)).json()["key"]
        found = await client.get(
            "/api/v1/sites/paris-15/availability",
            params={"service": "caf", "from": "2026-12-03", "to": "2026-12-03"},
        )
        starts = [slot["start"] for slot in found.json()["slots"][:4]]

        def booking(n: int) -> dict[str, str]:
            return {
                "site": "paris-15",
                "service": "caf",
                "start": starts[n],
                "name": f"Personne {n}",  # four people the CCAS refers
                "email": f"personne.{n}@example.org",
                "channel": "partner",
            }

        own = [
            (
                await client.post(
                    "/api/v1/appointments",
                    json=booking(n),
                    headers={"Authorization": f"Bearer {key}"},
                )
            ).status_code
            for n in range(4)
        ]
        # A well-formed booking: one that is not is refused (400) before any key is read.
        misses = [
            (
                await client.post(
                    "/api/v1/appointments",
                    json=booking(0),
                    headers={"Authorization": f"Bearer {guess}"},
                )
            ).status_code
            for guess in wrong[:2]
        ]
        for guess in wrong[2:]:  # a staff endpoint looks a partner's key up too
            queue = await client.get(
                "/api/v1/sites/paris-15/queue", headers={"Authorization": f"Bearer {guess}"}
            )
            misses.append(queue.status_code)

    assert own == [201] * 4
    assert misses == [401, 401, 401, 429]
    assert 1 <= int(queue.headers["retry-after"]) <= 20
    assert queue.headers["content-type"].startswith("application/problem+json")


async def test_a_private_link_finds_only_its_own_booking(
    client: AsyncTestClient[object], clock: Clock
) -> None:
    clock.set("2026-12-01 09:00")
    slots = await client.get(
        "/api/v1/sites/paris-15/availability",
        params={"service": "caf", "from": "2026-12-03", "to": "2026-12-03"},
    )
    booked = await client.post(
        "/api/v1/appointments",
        json={
            "site": "paris-15",
            "service": "caf",
            "start": slots.json()["slots"][0]["start"],
            "name": "Rosalie Vernet",
            "email": "rosalie@example.org",
        },
    )
    token: str = booked.json()["token"]
    near_misses = [
        token[:-1] + ("A" if token[-1] != "A" else "B"),
        token[:20],
        token + "x",
        token.upper() if token.upper() != token else token.lower(),
    ]

    own = await client.get(f"/api/v1/appointments/{token}")
    others = [
        (await client.get(f"/api/v1/appointments/{miss}")).status_code for miss in near_misses
    ]
    listing = await client.get("/api/v1/appointments")

    assert own.status_code == 200
    assert own.json()["reference"] == booked.json()["reference"]
    assert others == [404] * len(near_misses)
    # The address only takes bookings: there is no way to list them.
    assert listing.status_code == 405
    assert {method.strip() for method in listing.headers["allow"].split(",")} == {"POST", "OPTIONS"}


@pytest.mark.slow
@pytest.mark.parametrize("trusted", ["", "127.0.0.1"], ids=["by-default", "listed-proxy"])
async def test_x_forwarded_for_is_believed_only_from_the_proxies_listed(
    database_url: str, tmp_path: Path, db: Database, trusted: str
) -> None:
    environment = {
        "GUICHET_DATABASE_URL": database_url,
        "GUICHET_SECRET_KEY": TEST_SECRET,
        "GUICHET_LOG_LEVEL": "WARNING",
        "GUICHET_REQUESTS_PER_MINUTE": "3",
    }
    if trusted:
        environment["GUICHET_TRUSTED_PROXIES"] = trusted
    with running(tmp_path, environment) as (server,):
        async with httpx.AsyncClient(base_url=server.base, timeout=30) as http:
            login = await http.post(
                "/api/v1/auth/token",
                json={"email": "nobody@agents.example.org", "password": "a guess or two"},
                headers={"X-Forwarded-For": "198.51.100.7"},
            )
            forged = [
                (
                    await http.get("/api/v1/sites", headers={"X-Forwarded-For": f"203.0.113.{n}"})
                ).status_code
                for n in range(1, 5)
            ]

    (failed,) = await audit_rows(db, "auth.login_failed")
    assert login.status_code == 401
    if trusted:
        assert failed.address == "198.51.100.7"
        assert forged == [200] * 4, "each forwarded address has its own budget"
    else:
        assert failed.address == "127.0.0.1"
        assert forged == [200, 200, 429, 429], "a forged header does not escape the budget"


@pytest.mark.slow
async def test_a_socket_past_the_budget_is_answered_429_at_its_handshake(
    database_url: str, tmp_path: Path
) -> None:
    """A real server (uvicorn) answers a socket refused by a budget as it answers an HTTP
    request: 429, `Retry-After` and the reason, where closing it unaccepted gave a bare
    403 a client cannot tell from an unknown key."""
    environment = {
        "GUICHET_DATABASE_URL": database_url,
        "GUICHET_SECRET_KEY": TEST_SECRET,
        "GUICHET_LOG_LEVEL": "WARNING",
        "GUICHET_TOKEN_LOOKUPS_PER_MINUTE": "2",
    }
    refusals: list[tuple[int, str, str]] = []
    closes: list[int | None] = []
    with running(tmp_path, environment) as (server,):
        for n in range(4):
            address = f"{server.ws}/ws/sites/paris-15/display?ecran=guessed-key-{n:04d}-abcdefghij"
            try:
                async with websockets.connect(address) as socket:
                    await socket.recv()
            except ConnectionClosed as closed:
                closes.append(closed.rcvd.code if closed.rcvd else None)
            except InvalidStatus as refused:
                answer = refused.response
                refusals.append(
                    (answer.status_code, answer.headers["Retry-After"], answer.body.decode())
                )

    assert closes == [NOT_PAIRED, NOT_PAIRED]
    assert [(status, json.loads(body)["status"]) for status, _, body in refusals] == [
        (429, 429)
    ] * 2
    assert all(1 <= int(wait) <= 60 for _, wait, _ in refusals)


async def test_in_production_the_metrics_need_their_token(database_url: str, clock: Clock) -> None:
    closed = make_settings(database_url, env="production")
    guarded = make_settings(database_url, env="production", metrics_token="a-scraper-token")
    async with AsyncTestClient(app=create_app(closed, clock=clock)) as client:
        without_token = await client.get("/metrics")
    async with AsyncTestClient(app=create_app(guarded, clock=clock)) as client:
        anonymous = await client.get("/metrics")
        scraper = await client.get("/metrics", headers={"Authorization": "Bearer a-scraper-token"})

    assert without_token.status_code == 404
    assert "guichet_" not in without_token.text
    assert anonymous.status_code == 401
    assert scraper.status_code == 200
    assert "guichet_http_request_duration_seconds" in scraper.text


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    listed = load_settings(environ={"GUICHET_TRUSTED_PROXIES": "10.0.0.5, 172.16.0.0/12, ::1"})
    assert listed.trusted_proxy_list == ["10.0.0.5", "172.16.0.0/12", "::1"]
    assert load_settings(environ={}).trusted_proxy_list == []
    for wrong in ("localhost", "10.0.0.0/33", "10.0.0.1/8"):
        with pytest.raises(SettingsError, match="GUICHET_TRUSTED_PROXIES"):
            load_settings(environ={"GUICHET_TRUSTED_PROXIES": wrong})
