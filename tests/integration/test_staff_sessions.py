"""Staff sessions are kept on the server, on both databases: logging out, a password
reset, a change of role or sites and a deactivation end them at once, whatever the
browser keeps; tokens and sessions issued a moment before such a change, in the same
second, end with it; staff and private answers are never stored by a cache."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import jwt
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.accounts.models import Agent, SessionRow
from app.asgi import create_app
from app.db import Database
from tests.conftest import STAFF_PASSWORD, Clock, Staff, make_settings

CLIENT = AsyncTestClient[object]
NEW_PASSWORD = "un tout nouveau mot de passe"


@pytest.fixture(autouse=True)
def tuesday_morning(clock: Clock) -> None:
    clock.set("2026-12-01 09:00")


async def log_in(client: CLIENT, email: str, password: str = STAFF_PASSWORD) -> str:
    """Log in through the login page; the session cookie's value."""
    response = await client.post(
        "/connexion", data={"email": email, "password": password}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    cookie: str = response.cookies["guichet_session"]
    return cookie


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


async def with_cookie(client: CLIENT, cookie: str, path: str) -> Any:
    """A GET with only this session cookie, as a browser that kept it would send it."""
    client.cookies.clear()
    client.cookies.set("guichet_session", cookie)
    return await client.get(path, follow_redirects=False)


async def agent_id(db: Database, email: str) -> int:
    async with db.session() as session:
        found = await session.scalar(select(Agent.id).where(Agent.email == email))
    assert found is not None
    return found


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_session_cookie_replayed_after_logging_out_opens_nothing(
    client: CLIENT, staff: Staff
) -> None:
    email = await staff.agent("reception", "paris-15")
    cookie = await log_in(client, email)
    console = await client.get("/console")
    assert console.status_code == 200

    logout = await client.post(
        "/deconnexion", data={"csrf": csrf_of(console.text)}, follow_redirects=False
    )
    page = await with_cookie(client, cookie, "/console")
    me = await with_cookie(client, cookie, "/api/v1/auth/me")
    queue = await with_cookie(client, cookie, "/api/v1/sites/paris-15/queue")

    assert logout.status_code == 303
    assert page.status_code == 303
    assert page.headers["location"].startswith("/connexion")
    assert me.status_code == 401
    assert queue.status_code == 401


async def test_logging_out_ends_only_that_session(client: CLIENT, staff: Staff) -> None:
    email = await staff.agent("reception", "paris-15")
    at_the_desk = await log_in(client, email)
    client.cookies.clear()
    at_home = await log_in(client, email)
    console = await client.get("/console")

    await client.post("/deconnexion", data={"csrf": csrf_of(console.text)}, follow_redirects=False)

    assert (await with_cookie(client, at_home, "/api/v1/auth/me")).status_code == 401
    assert (await with_cookie(client, at_the_desk, "/api/v1/auth/me")).status_code == 200


async def test_logging_in_over_a_session_ends_the_session_it_replaces(
    client: CLIENT, staff: Staff
) -> None:
    """At a shared desk, an agent logging in where another was still logged in: the
    other's session ends with the cookie that named it, not only in this browser."""
    manager = await staff.agent("manager", "paris-15")
    reception = await staff.agent("reception", "paris-15")
    before = await log_in(client, manager)
    after = await log_in(client, reception)  # the manager's cookie still sent

    assert (await with_cookie(client, before, "/api/v1/auth/me")).status_code == 401
    assert (await with_cookie(client, after, "/api/v1/auth/me")).status_code == 200


async def test_the_server_keeps_a_digest_of_the_session_id_never_the_id(
    client: CLIENT, staff: Staff, db: Database
) -> None:
    email = await staff.agent("reception", "paris-15")
    cookie = await log_in(client, email)
    session_id = jwt.decode(cookie, options={"verify_signature": False})["sid"]

    async with db.session() as session:
        rows = list(await session.scalars(select(SessionRow)))

    assert len(rows) == 1
    assert rows[0].agent_id == await agent_id(db, email)
    stored = f"{rows[0].digest} {rows[0].id}"
    assert session_id not in stored
    assert len(rows[0].digest) == 64


async def test_a_password_reset_ends_the_agents_sessions_and_tokens_of_that_very_second(
    client: CLIENT, staff: Staff, db: Database, clock: Clock
) -> None:
    manager = bearer(await staff.token(await staff.agent("manager", "paris-15")))
    email = await staff.agent("facilitator", "paris-15")
    target = await agent_id(db, email)
    assert clock.now is not None
    second = clock.now.replace(microsecond=0)
    clock.now = second + timedelta(milliseconds=200)
    token = await staff.token(email)
    cookie = await log_in(client, email)
    client.cookies.clear()

    clock.now = second + timedelta(milliseconds=700)  # the same second, a moment later
    reset = await client.post(
        f"/api/v1/admin/agents/{target}/password",
        json={"password": NEW_PASSWORD},
        headers=manager,
    )
    old_token = await client.get("/api/v1/auth/me", headers=bearer(token))
    old_session = await with_cookie(client, cookie, "/api/v1/auth/me")
    client.cookies.clear()
    new_login = await client.post(
        "/api/v1/auth/token", json={"email": email, "password": NEW_PASSWORD}
    )
    new_token = await client.get(
        "/api/v1/auth/me", headers=bearer(new_login.json()["access_token"])
    )

    assert reset.status_code == 200, reset.text
    assert old_token.status_code == 401
    assert old_session.status_code == 401
    assert new_token.status_code == 200  # issued after the reset, in the same second


async def test_a_token_issued_in_the_second_of_a_change_but_after_it_still_works(
    client: CLIENT, staff: Staff, db: Database, clock: Clock
) -> None:
    email = await staff.agent("reception", "paris-15")
    assert clock.now is not None
    second = clock.now.replace(microsecond=0)
    async with db.writing() as session:
        agent = await session.get(Agent, await agent_id(db, email))
        assert agent is not None
        agent.tokens_valid_after = second + timedelta(milliseconds=300)
    clock.now = second + timedelta(milliseconds=100)
    before = await staff.token(email)
    clock.now = second + timedelta(milliseconds=300)
    at = await staff.token(email)
    clock.now = second + timedelta(milliseconds=900)

    assert (await client.get("/api/v1/auth/me", headers=bearer(before))).status_code == 401
    assert (await client.get("/api/v1/auth/me", headers=bearer(at))).status_code == 200


@pytest.mark.parametrize(
    "change",
    [{"active": False}, {"role": "reception"}, {"sites": ["paris-15", "paris-16"]}],
    ids=["disabled", "role", "sites"],
)
async def test_a_change_of_access_ends_the_console_sessions_at_once(
    client: CLIENT, staff: Staff, db: Database, change: dict[str, Any]
) -> None:
    manager = bearer(await staff.token(await staff.agent("manager", "paris-15", "paris-16")))
    email = await staff.agent("facilitator", "paris-15")
    cookie = await log_in(client, email)
    client.cookies.clear()

    changed = await client.patch(
        f"/api/v1/admin/agents/{await agent_id(db, email)}", json=change, headers=manager
    )
    after = await with_cookie(client, cookie, "/api/v1/auth/me")

    assert changed.status_code == 200, changed.text
    assert after.status_code == 401
    async with db.session() as session:
        left = await session.scalar(
            select(SessionRow.id).where(SessionRow.agent_id == await agent_id(db, email))
        )
    assert left is None


async def test_a_session_ends_twelve_hours_after_login_even_when_busy(
    client: CLIENT, staff: Staff, clock: Clock
) -> None:
    email = await staff.agent("reception", "paris-15")
    start = clock.now
    assert start is not None
    cookie = await log_in(client, email)
    statuses = []
    for hour in range(1, 12):
        clock.now = start + timedelta(hours=hour)
        statuses.append((await with_cookie(client, cookie, "/api/v1/auth/me")).status_code)
    clock.now = start + timedelta(hours=11, minutes=59)
    last = await with_cookie(client, cookie, "/api/v1/auth/me")
    clock.now = start + timedelta(hours=12, minutes=1)
    ended = await with_cookie(client, cookie, "/api/v1/auth/me")

    assert statuses == [200] * 11
    assert last.status_code == 200
    assert ended.status_code == 401


async def test_a_session_idle_for_two_hours_ends_on_the_server(
    client: CLIENT, staff: Staff, clock: Clock
) -> None:
    email = await staff.agent("reception", "paris-15")
    start = clock.now
    assert start is not None
    cookie = await log_in(client, email)
    clock.now = start + timedelta(hours=1, minutes=50)
    active = await with_cookie(client, cookie, "/api/v1/auth/me")
    clock.now = start + timedelta(hours=3, minutes=40)
    still = await with_cookie(client, cookie, "/api/v1/auth/me")
    clock.now = start + timedelta(hours=5, minutes=41)
    idle = await with_cookie(client, cookie, "/api/v1/auth/me")

    assert active.status_code == 200
    assert still.status_code == 200
    assert idle.status_code == 401


async def test_a_short_idle_timeout_still_slides_with_the_agent_s_activity(
    database_url: str, db: Database, clock: Clock
) -> None:
    """Activity is written every few minutes, and at least twice within the idle timeout:
    set to 4 minutes, an agent busy every minute and a half stays signed in."""
    app = create_app(make_settings(database_url, session_idle_minutes=4), clock=clock)
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1") as client:
        email = await Staff(db, client).agent("reception", "paris-15")
        start = clock.now
        assert start is not None
        cookie = await log_in(client, email)
        statuses = []
        for step in range(1, 8):  # up to 10 min 30 s after signing in
            clock.now = start + timedelta(seconds=90 * step)
            statuses.append((await with_cookie(client, cookie, "/api/v1/auth/me")).status_code)
        clock.now += timedelta(minutes=4, seconds=1)
        idle = await with_cookie(client, cookie, "/api/v1/auth/me")

    assert statuses == [200] * 7
    assert idle.status_code == 401


async def test_a_page_refreshing_itself_does_not_keep_an_idle_session_open(
    client: CLIENT, staff: Staff, clock: Clock
) -> None:
    """A console left open refreshes its regions every few seconds (refresh.js marks those
    fetches): that is the page's activity, not the agent's, and the session still ends
    two hours after the agent's last request."""
    email = await staff.agent("reception", "paris-15")
    start = clock.now
    assert start is not None
    cookie = await log_in(client, email)
    background = {"X-Guichet-Background": "1"}
    statuses = []
    for minutes in range(10, 131, 10):
        clock.now = start + timedelta(minutes=minutes)
        client.cookies.clear()
        client.cookies.set("guichet_session", cookie)
        answer = await client.get(
            "/accueil/paris-15/code-arrivee", headers=background, follow_redirects=False
        )
        statuses.append(answer.status_code)
    clock.now = start + timedelta(hours=2, minutes=10)
    ended = await with_cookie(client, cookie, "/api/v1/auth/me")

    assert statuses == [200] * 12 + [303]
    assert ended.status_code == 401


async def test_staff_answers_and_private_links_are_never_stored_by_a_cache(
    client: CLIENT, staff: Staff
) -> None:
    token = await staff.token(await staff.agent("reception", "paris-15"))
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
    private = booked.json()["token"]
    answers = {
        "me": await client.get("/api/v1/auth/me", headers=bearer(token)),
        "queue": await client.get("/api/v1/sites/paris-15/queue", headers=bearer(token)),
        "agents": await client.get("/api/v1/sites/paris-15/agents", headers=bearer(token)),
        "booking": booked,
        "appointment": await client.get(f"/api/v1/appointments/{private}"),
        "appointment page": await client.get(f"/rendez-vous/{private}"),
        "login page": await client.get("/connexion"),
    }
    await log_in(client, await staff.agent("reception", "paris-15"))
    answers["console"] = await client.get("/console")
    answers["reception"] = await client.get("/accueil/paris-15")
    answers["queue with the cookie"] = await client.get("/api/v1/sites/paris-15/queue")
    stylesheet = await client.get("/static/guichet.css")

    for name, answer in answers.items():
        assert answer.status_code < 400, (name, answer.status_code)
        assert answer.headers.get("cache-control") == "no-store", name
    assert stylesheet.status_code == 200
    assert stylesheet.headers.get("cache-control") != "no-store"
