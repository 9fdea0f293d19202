"""Health probes, problem details, request ids, logs and the OpenAPI document."""

from __future__ import annotations

import json
import logging

import pytest
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from app.logs import JsonFormatter
from tests.conftest import STAFF_PASSWORD, Staff, make_settings


async def test_liveness_and_readiness_answer_ok(client: AsyncTestClient[object]) -> None:
    live = await client.get("/health/live")
    ready = await client.get("/health/ready")

    assert live.status_code == 200
    assert live.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok"}


@pytest.mark.parametrize(
    "unreachable",
    [
        "postgresql+asyncpg://postgres@127.0.0.1:1/nothing",
        "sqlite+aiosqlite:////proc/no-such-folder/guichet.db",
    ],
)
async def test_without_its_database_the_service_is_live_but_not_ready(unreachable: str) -> None:
    app = create_app(make_settings(unreachable, database_timeout_seconds=2))
    async with AsyncTestClient(app=app) as client:
        live = await client.get("/health/live")
        ready = await client.get("/health/ready")
        sites = await client.get("/api/v1/sites")

    assert live.status_code == 200
    assert ready.status_code == 503
    assert ready.headers["retry-after"] == "5"
    assert sites.status_code == 503
    assert sites.headers["retry-after"] == "5"
    assert sites.headers["content-type"].startswith("application/problem+json")


async def test_every_answer_carries_a_request_id_and_keeps_a_sane_incoming_one(
    client: AsyncTestClient[object],
) -> None:
    generated = await client.get("/api/v1/sites")
    kept = await client.get("/api/v1/sites", headers={"X-Request-ID": "lb-1234567890"})
    refused = await client.get("/api/v1/sites", headers={"X-Request-ID": "bad id\twith spaces"})
    not_found = await client.get("/no/such/page")

    assert len(generated.headers["x-request-id"]) == 16
    assert kept.headers["x-request-id"] == "lb-1234567890"
    assert refused.headers["x-request-id"] != "bad id\twith spaces"
    assert not_found.headers["x-request-id"]


async def test_logs_hold_no_email_password_or_token(
    client: AsyncTestClient[object], staff: Staff, caplog: pytest.LogCaptureFixture
) -> None:
    email = await staff.agent("reception", "paris-15")
    caplog.clear()
    caplog.set_level(logging.DEBUG)

    token = (
        await client.post("/api/v1/auth/token", json={"email": email, "password": STAFF_PASSWORD})
    ).json()["access_token"]
    await client.post("/api/v1/auth/token", json={"email": email, "password": "wrong password"})
    await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    await client.get(f"/api/v1/sites/{email}")

    formatter = JsonFormatter()
    server_records = [record for record in caplog.records if not record.name.startswith("httpx")]
    lines = [formatter.format(record) for record in server_records]
    text = "\n".join(lines)
    assert lines
    assert email not in text
    assert email.split("@")[0] not in text
    assert STAFF_PASSWORD not in text
    assert token not in text
    assert "wrong password" not in text
    access = [json.loads(line) for line in lines if '"guichet.access"' in line]
    assert {entry["message"] for entry in access} >= {
        "POST /api/v1/auth/token 200",
        "POST /api/v1/auth/token 401",
        "GET /api/v1/auth/me 200",
    }
    assert all(entry["request_id"] != "-" for entry in access)


async def test_the_openapi_document_and_the_docs_page_are_served(
    client: AsyncTestClient[object],
) -> None:
    document = await client.get("/schema/openapi.json")
    docs = await client.get("/schema")

    assert document.status_code == 200
    paths = document.json()["paths"]
    for path in (
        "/api/v1/sites",
        "/api/v1/sites/{slug}",
        "/api/v1/services",
        "/api/v1/auth/token",
        "/health/ready",
    ):
        assert path in paths
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]


async def test_the_home_page_lists_the_mairies_in_french(client: AsyncTestClient[object]) -> None:
    response = await client.get("/")

    assert response.status_code == 200
    assert '<html lang="fr">' in response.text
    assert "Mairie du 15e arrondissement" in response.text
    assert "31 rue Péclet, 75015 Paris" in response.text
    assert "jeudi : 8\u00a0h\u00a030 – 19\u00a0h\u00a030" in response.text
    assert "Fermé jusqu'à 13 h le premier mardi du mois" in response.text.replace("&#39;", "'")


async def test_the_lobby_display_page_is_served_for_each_mairie(
    client: AsyncTestClient[object],
) -> None:
    page = await client.get("/display/paris-15")
    script = await client.get("/display/static/display.js")
    unknown = await client.get("/display/paris-99")
    malformed = await client.get("/display/PARIS-15")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<html lang="fr">' in page.text
    assert '<script type="module" src="/display/static/display.js">' in page.text
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert unknown.status_code == 404
    # A person at a lobby screen reads a page, never problem details.
    assert "Page introuvable" in unknown.text
    assert unknown.headers["content-type"].startswith("text/html")
    assert malformed.status_code == 400
    assert malformed.headers["content-type"].startswith("text/html")
    assert "{" not in malformed.text.split("<body", 1)[-1].split("</main>")[0]


async def test_the_lobby_speaks_the_language_of_its_address_not_of_its_browser(
    client: AsyncTestClient[object],
) -> None:
    """A screen in a waiting room speaks for the room: French, or English when its address
    says `?lang=en`; the kiosk browser's own language and cookie change nothing, and the
    choice is not kept for the browser's other pages."""
    english = await client.get("/display/paris-15?lang=en&sound=0")
    english_browser = await client.get(
        "/display/paris-15", headers={"Accept-Language": "en-GB,en;q=0.9"}
    )
    client.cookies.set("guichet_lang", "en")
    english_cookie = await client.get("/display/paris-15")
    client.cookies.clear()

    assert '<html lang="en">' in english.text
    assert english.headers["content-language"] == "en"
    assert "New call" in english.text
    assert "Nouvel appel" not in english.text
    assert '"new_call": "new call"' in english.text  # display.js's words, in English
    assert '"locale": "en-GB"' in english.text
    assert "set-cookie" not in english.headers
    for french in (english_browser, english_cookie):
        assert '<html lang="fr">' in french.text
        assert "Nouvel appel" in french.text
        assert '"locale": "fr-FR"' in french.text
