"""Staff authentication and the role and site guards, on both databases."""

from __future__ import annotations

from datetime import timedelta

from litestar.testing import AsyncTestClient

from app.accounts.api import WRONG_CREDENTIALS
from app.accounts.credentials import issue_token
from app.db import utcnow
from tests.conftest import STAFF_PASSWORD, TEST_SECRET, Clock, Staff


async def test_an_agent_exchanges_email_and_password_for_a_bearer_token(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    email = await staff.agent("reception", "paris-15")

    response = await client.post(
        "/api/v1/auth/token", json={"email": email.upper(), "password": STAFF_PASSWORD}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 1440 * 60
    me = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["email"] == email
    assert me.json()["role"] == "reception"
    assert me.json()["sites"] == ["paris-15"]


async def test_a_wrong_password_and_an_unknown_email_get_the_same_401(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    email = await staff.agent("facilitator", "paris-15")

    wrong_password = await client.post(
        "/api/v1/auth/token", json={"email": email, "password": "not the password"}
    )
    unknown_email = await client.post(
        "/api/v1/auth/token",
        json={"email": "nobody@agents.example.org", "password": STAFF_PASSWORD},
    )
    malformed_email = await client.post(
        "/api/v1/auth/token", json={"email": "not an email", "password": STAFF_PASSWORD}
    )

    for response in (wrong_password, unknown_email, malformed_email):
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["detail"] == WRONG_CREDENTIALS
    assert "access_token" not in wrong_password.text


async def test_a_disabled_agent_cannot_log_in(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    email = await staff.agent("facilitator", "paris-15", active=False)

    response = await client.post(
        "/api/v1/auth/token", json={"email": email, "password": STAFF_PASSWORD}
    )

    assert response.status_code == 401
    assert response.json()["detail"] == WRONG_CREDENTIALS


async def test_a_staff_endpoint_without_a_token_is_a_401_that_asks_for_one(
    client: AsyncTestClient[object],
) -> None:
    response = await client.get("/api/v1/sites/paris-15/agents")

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_forged_expired_or_malformed_token_is_a_401(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    email = await staff.agent("manager", "paris-15")
    valid = await staff.token(email)
    agent_id = (
        await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {valid}"})
    ).json()["id"]
    expired = issue_token(
        agent_id, secret=TEST_SECRET, now=utcnow() - timedelta(hours=2), ttl=timedelta(hours=1)
    )
    forged = issue_token(
        agent_id, secret="another secret " * 4, now=utcnow(), ttl=timedelta(hours=1)
    )

    for header in (
        f"Bearer {expired}",
        f"Bearer {forged}",
        f"Bearer {valid[:-4]}abcd",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        valid,
    ):
        response = await client.get(
            "/api/v1/sites/paris-15/agents", headers={"Authorization": header}
        )
        assert response.status_code == 401, header


async def test_a_facilitator_of_paris_15_gets_403_at_paris_20(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    headers = await staff.headers("facilitator", "paris-15")

    elsewhere = await client.get("/api/v1/sites/paris-20/agents", headers=headers)
    at_home = await client.get("/api/v1/sites/paris-15/agents", headers=headers)

    assert elsewhere.status_code == 403
    assert elsewhere.headers["content-type"].startswith("application/problem+json")
    assert elsewhere.json()["detail"] == "You do not work at Mairie du 20e arrondissement."
    assert at_home.status_code == 200
    assert [agent["role"] for agent in at_home.json()] == ["facilitator"]


async def test_an_admin_works_at_every_site_and_a_manager_at_theirs(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    admin = await staff.headers("admin")
    manager = await staff.headers("manager", "paris-12", "paris-13")

    assert (await client.get("/api/v1/sites/paris-20/agents", headers=admin)).status_code == 200
    assert (await client.get("/api/v1/sites/paris-13/agents", headers=manager)).status_code == 200
    assert (await client.get("/api/v1/sites/paris-14/agents", headers=manager)).status_code == 403


async def test_an_agent_disabled_after_login_loses_access_at_once(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    from sqlalchemy import update

    from app.accounts.models import Agent

    email = await staff.agent("reception", "paris-15")
    headers = {"Authorization": f"Bearer {await staff.token(email)}"}
    async with staff.db.writing() as session:
        await session.execute(update(Agent).where(Agent.email == email).values(active=False))

    response = await client.get("/api/v1/sites/paris-15/agents", headers=headers)

    assert response.status_code == 401


async def test_repeated_login_attempts_are_refused_with_429_and_retry_after(
    client: AsyncTestClient[object], staff: Staff, clock: Clock
) -> None:
    clock.set("2026-12-01 09:00")
    email = await staff.agent("reception", "paris-15")
    attempt = {"email": email, "password": "guessing guessing"}

    statuses = [
        (await client.post("/api/v1/auth/token", json=attempt)).status_code for _ in range(10)
    ]
    refused = await client.post("/api/v1/auth/token", json={**attempt, "password": STAFF_PASSWORD})

    assert statuses == [401] * 10
    assert refused.status_code == 429
    # The tenth wrong password slows the pair down for a minute, longer than the wait of the
    # per-minute limit (a tenth of a minute): Retry-After is the longer of the two.
    assert refused.headers["retry-after"] == "60"
    assert refused.headers["content-type"].startswith("application/problem+json")
