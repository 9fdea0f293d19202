"""Hostile and malformed input on every endpoint: always a 4xx problem, never a 5xx."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import AsyncTestClient

from tests.conftest import Staff
from tests.integration.test_queue_api import Desk

ODD_SEGMENTS = [
    "x" * 5000,
    "%00",
    "..%2F..%2Fetc%2Fpasswd",
    "%F0%9F%98%80",
    "%ff%fe",
    "-1",
    "99999999999999999999999999",
    "' OR 1=1 --",
    "<script>",
    "paris-15%0d%0aSet-Cookie:x=y",
]
ODD_QUERY_VALUES = ["", "x" * 5000, "-1", "2026-02-30", "9999-99-99", "0000-01-01", "\u0000", "[]"]
ODD_BODIES: list[bytes] = [
    b"",
    b"{",
    b"null",
    b"[]",
    b"42",
    b'"text"',
    b'{"email": 1, "password": []}',
    b'{"email": "a@b.c", "password": "x", "extra": true}',
    json.dumps({"email": "é" * 300, "password": "p" * 10_000}).encode(),
    b"[" * 5000 + b"]" * 5000,
    b"\xff\xfe\x00garbage",
]


def operations(openapi: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                found.append((method.upper(), path, operation))
    return found


def fill_path(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


def assert_problem(response: Any, context: str) -> None:
    assert response.status_code < 500, f"{context}: {response.status_code} {response.text[:300]}"
    if response.status_code >= 400:
        content_type = response.headers.get("content-type", "")
        assert content_type.startswith("application/problem+json"), f"{context}: {content_type}"
        body = response.json()
        assert body["status"] == response.status_code
        assert body["title"], context
        assert body["detail"], context


async def test_every_endpoint_answers_malformed_input_with_a_problem_not_a_500(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    openapi = (await client.get("/schema/openapi.json")).json()
    headers = await staff.headers("admin")
    for method, path, operation in operations(openapi):
        for segment in ODD_SEGMENTS:
            url = fill_path(path, segment)
            response = await client.request(method, url, headers=headers)
            assert_problem(response, f"{method} {url[:80]}")
        real_path = fill_path(path, "paris-15")
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "query":
                continue
            for value in ODD_QUERY_VALUES:
                response = await client.request(
                    method, real_path, params={parameter["name"]: value}, headers=headers
                )
                assert_problem(response, f"{method} {real_path}?{parameter['name']}={value[:20]!r}")
        if method in ("POST", "PUT", "PATCH"):
            for body in ODD_BODIES:
                response = await client.request(
                    method,
                    real_path,
                    content=body,
                    headers={**headers, "Content-Type": "application/json"},
                )
                assert_problem(response, f"{method} {real_path} body {body[:30]!r}")


async def test_garbage_credentials_on_every_endpoint_are_never_a_500(
    client: AsyncTestClient[object],
) -> None:
    openapi = (await client.get("/schema/openapi.json")).json()
    for method, path, _ in operations(openapi):
        for header in ("Bearer " + "a" * 10_000, "Bearer a.b.c", "Bearer \u00e9", "Bearer"):
            response = await client.request(
                method,
                fill_path(path, "paris-15"),
                headers={"Authorization": header.encode("latin-1")},  # type: ignore[dict-item]
            )
            assert_problem(response, f"{method} {path} with {header[:12]!r}")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(segment=st.text(min_size=1, max_size=40), value=st.text(max_size=40))
async def test_random_path_segments_and_query_values_never_cause_a_500(
    client: AsyncTestClient[object], segment: str, value: str
) -> None:
    from urllib.parse import quote

    for path in ("/api/v1/sites/{}", "/api/v1/sites/{}/hours", "/api/v1/sites/{}/agents"):
        response = await client.get(
            path.format(quote(segment, safe="")), params={"from": value, "to": value}
        )
        assert_problem(response, f"{path} {segment!r} {value!r}")


async def test_an_oversized_body_is_refused_with_413(client: AsyncTestClient[object]) -> None:
    response = await client.post(
        "/api/v1/auth/token",
        content=b'{"email": "' + b"a" * 200_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_unknown_addresses_and_methods_are_problems(client: AsyncTestClient[object]) -> None:
    missing = await client.get("/api/v1/nothing-here")
    wrong_method = await client.delete("/api/v1/sites")

    assert missing.status_code == 404
    assert wrong_method.status_code == 405
    for response in (missing, wrong_method):
        assert response.headers["content-type"].startswith("application/problem+json")


def odd_forms(number: int) -> list[str]:
    """`number` as the router's `int` reads it but a client should not write it."""
    digits = str(number)
    return [
        f"+{digits}",
        f"%20{digits}",
        f"{digits}%20",
        f"0_{digits}",
        digits.translate(str.maketrans("0123456789", "０１２３４５６７８９")),  # fullwidth
        digits.translate(str.maketrans("0123456789", "०१२३४५६७८९")),  # Devanagari
    ]


async def test_an_id_in_the_path_not_written_in_ascii_digits_is_refused_before_it_acts(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    desk = await Desk(client, staff).open()
    ticket = await desk.walk_in(force_reason="Tests run at any hour")
    station = desk.stations["Poste 1"]["id"]

    refused = {
        odd: (await client.post(f"/api/v1/stations/{odd}/call-next", headers=desk.facilitator))
        for odd in odd_forms(station)
    }
    page = await client.get(f"/api/v1/tickets/{ticket['token']}")
    called = await desk.call()

    assert {odd: r.status_code for odd, r in refused.items()} == dict.fromkeys(refused, 400)
    assert all(r.json()["detail"].endswith("digits 0 to 9 only.") for r in refused.values())
    assert page.json()["status"] == "waiting"  # none of them called it
    assert called.status_code == 200
    assert called.json()["number"] == ticket["number"]


async def test_every_api_route_with_an_id_in_its_path_refuses_one_not_in_ascii_digits(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    """All of them, as an administrator (a route or router with a `before_request` of its
    own would otherwise pass over the app's check unseen)."""
    headers = await staff.headers("admin")
    app: Any = client.app
    answers = {}
    for route in app.routes:
        if not route.path.startswith("/api/") or ":int}" not in route.path:
            continue
        path = re.sub(r"\{[^}:]+:int\}", "+1", route.path)
        path = re.sub(r"\{[^}]+\}", "paris-15", path)
        for method in sorted(set(getattr(route, "methods", ())) - {"HEAD", "OPTIONS"}):
            response = await client.request(method, path, headers=headers)
            answers[f"{method} {path}"] = response.status_code

    assert {  # the ones an outside tester acted on with "+1"
        "DELETE /api/v1/admin/sites/paris-15/screens/+1",
        "DELETE /api/v1/admin/sites/paris-15/closures/+1",
        "POST /api/v1/stations/+1/call-next",
        "GET /api/v1/admin/agents/+1",
        "POST /api/v1/admin/outbox/+1/retry",
    } <= answers.keys()
    assert {key: code for key, code in answers.items() if code != 400} == {}
