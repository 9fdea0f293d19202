"""The API's JSON bodies read as JSON, on both databases: a number where the contract says
a number, a boolean where it says a boolean. A string, a float or a number in their place
is a 400 naming the field, on every route at once, and changes nothing."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import Clock, Staff

ADMIN = "/api/v1/admin/sites/paris-15"


@pytest.fixture(autouse=True)
def monday_morning(clock: Clock) -> None:
    clock.set("2026-11-30 08:00")


def wrong_type(response: Any, key: str) -> bool:
    """A 400 problem whose errors say the value at `key` has the wrong type."""
    errors = response.json().get("errors", []) if response.status_code == 400 else []
    return any(
        error.get("key") == key and error["message"].startswith("Expected") for error in errors
    )


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"walk_in_percent": "50"}, "walk_in_percent"),
        ({"walk_in_percent": "5e1"}, "walk_in_percent"),
        ({"walk_in_percent": 50.0}, "walk_in_percent"),
        ({"facilitators_issue_tickets": "true"}, "facilitators_issue_tickets"),
        ({"facilitators_issue_tickets": 1}, "facilitators_issue_tickets"),
        ({"reminder_hours": [24, "2"]}, "reminder_hours[1]"),
        ({"walk_in_percent": 40, "booking_horizon_days": "90"}, "booking_horizon_days"),
    ],
)
async def test_a_setting_of_the_wrong_json_type_gets_400_naming_it_and_changes_nothing(
    client: AsyncTestClient[object], staff: Staff, body: dict[str, Any], key: str
) -> None:
    manager = await staff.headers("manager", "paris-15")

    response = await client.patch(ADMIN, json=body, headers=manager)
    after = (await client.get(ADMIN, headers=manager)).json()

    assert wrong_type(response, key), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert after["walk_in_percent"] == 30
    assert after["facilitators_issue_tickets"] is False
    assert after["reminder_hours"] == [24, 2]
    assert after["booking_horizon_days"] == 60


def resolved(openapi: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = openapi["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def json_types(openapi: dict[str, Any], schema: dict[str, Any]) -> set[str]:
    """The JSON types a property's schema allows ("integer", "null"…)."""
    schema = resolved(openapi, schema)
    written = schema.get("type", [])
    found = set(written) if isinstance(written, list) else {written}
    for choice in schema.get("oneOf", []) + schema.get("anyOf", []):
        found |= json_types(openapi, choice)
    return found


def numbers_and_booleans(openapi: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Each top-level integer or boolean field of each JSON request body: (method, path,
    field, its type)."""
    found = []
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            schema = resolved(openapi, content["application/json"]["schema"])
            for choice in schema.get("oneOf", []) + schema.get("anyOf", []):
                schema = resolved(openapi, choice) if "$ref" in choice else schema
            for name, field in schema.get("properties", {}).items():
                kind = json_types(openapi, field) & {"integer", "boolean"}
                if kind:
                    found.append((method.upper(), path, name, kind.pop()))
    return found


async def test_every_number_and_boolean_of_every_json_body_refuses_a_string_naming_it(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    """The string "1" for a number and "true" for a boolean, alone in the body: the first
    thing wrong with it, before any field it lacks, on every route that reads JSON."""
    openapi = (await client.get("/schema/openapi.json")).json()
    admin = await staff.headers("admin")
    fields = numbers_and_booleans(openapi)
    taken: dict[str, str] = {}
    for method, path, name, kind in fields:
        url = re.sub(r"\{\w+\}", "1", path.replace("{slug}", "paris-15"))
        body = {name: "1" if kind == "integer" else "true"}
        response = await client.request(method, url, json=body, headers=admin)
        if not wrong_type(response, name):
            taken[f"{method} {path} {name}"] = f"{response.status_code} {response.text[:120]}"

    assert len(fields) > 30  # the settings alone have more
    assert taken == {}


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"{", "input data was truncated"),
        (b'{"walk_in_percent": 40} x', "trailing characters"),
        (b'{"walk_in_percent": 1e400}', "number out of range"),
        (b'{"name": "\\ud800"}', "half of a UTF-16 surrogate pair"),
        (b'{"name": "\\udc00 et la suite"}', "half of a UTF-16 surrogate pair"),
        (b'{"name": "\xff"}', "invalid UTF-8"),
    ],
)
async def test_a_body_that_is_not_json_gets_400_saying_why_in_plain_words(
    client: AsyncTestClient[object], staff: Staff, body: bytes, said: str
) -> None:
    manager = await staff.headers("manager", "paris-15")
    sent = {**manager, "Content-Type": "application/json"}

    response = await client.patch(ADMIN, content=body, headers=sent)
    after = (await client.get(ADMIN, headers=manager)).json()

    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    detail = response.json()["detail"]
    assert detail.startswith("The request body is not valid JSON: ")
    assert said.lower() in detail.lower()
    assert "$[" not in detail
    assert after["walk_in_percent"] == 30


async def test_an_empty_body_where_one_is_needed_gets_400_saying_so(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    """Litestar's own refusal said only "'data'"."""
    manager = await staff.headers("manager", "paris-15")

    empty = await client.patch(ADMIN, content=b"", headers=manager)
    booking = await client.post("/api/v1/appointments", content=b"")

    for response in (empty, booking):
        assert response.status_code == 400
        assert response.json()["detail"].startswith("The request body is empty")
        assert "'data'" not in response.text


BOOKING = {
    "site": "paris-15",
    "service": "caf",
    "start": "2026-12-02T10:00:00+01:00",
    "name": "Ada Lovelace",
    "email": "ada@example.org",
}


async def free_slots(client: AsyncTestClient[object]) -> list[Any]:
    availability = await client.get(
        "/api/v1/sites/paris-15/availability",
        params={"service": "caf", "from": "2026-12-02", "to": "2026-12-02"},
    )
    return [slot["start"] for slot in availability.json()["slots"]]


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "application/jsonp",
    ],
)
async def test_a_json_body_sent_as_something_else_is_refused_415_and_books_nothing(
    client: AsyncTestClient[object], content_type: str | None
) -> None:
    """A page of another site may send text or a form without asking first; a body is
    read as JSON only when it says it is JSON."""
    free = await free_slots(client)
    headers = {"Content-Type": content_type} if content_type else {}
    body = json.dumps(BOOKING).encode()

    refused = await client.post("/api/v1/appointments", content=body, headers=headers)
    after = await free_slots(client)
    plain = await client.post(
        "/api/v1/appointments", content=body, headers={"Content-Type": "application/json"}
    )

    assert refused.status_code == 415, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "application/json" in refused.json()["detail"]
    assert after == free
    assert plain.status_code == 201, plain.text


@pytest.mark.parametrize(
    ("again", "key"),
    [('"site": "paris-5"', "site"), ('"start": "2026-12-02T11:00:00+01:00"', "start")],
)
async def test_a_key_given_twice_in_a_json_body_is_refused_naming_it(
    client: AsyncTestClient[object], again: str, key: str
) -> None:
    """Readers keep the last (this one did: the second mairie got the booking), where a
    proxy or a log may read the first."""
    free = await free_slots(client)
    body = json.dumps(BOOKING)[:-1] + ", " + again + "}"

    refused = await client.post(
        "/api/v1/appointments", content=body, headers={"Content-Type": "application/json"}
    )

    assert refused.status_code == 400, refused.text
    assert refused.json()["errors"] == [
        {"message": f"`{key}` is given more than once.", "key": key, "source": "body"}
    ]
    assert await free_slots(client) == free


async def test_a_field_unknown_or_missing_is_named(client: AsyncTestClient[object]) -> None:
    unknown = await client.post("/api/v1/appointments", json={**BOOKING, "nom": "Ada"})
    missing = await client.post(
        "/api/v1/appointments", json={k: v for k, v in BOOKING.items() if k != "start"}
    )

    assert unknown.status_code == 400
    assert [e.get("key") for e in unknown.json()["errors"]] == ["nom"]
    assert missing.status_code == 400
    assert [e.get("key") for e in missing.json()["errors"]] == ["start"]


async def test_a_query_parameter_left_out_is_named_without_repeating_the_address(
    client: AsyncTestClient[object],
) -> None:
    """Litestar's words repeated the whole address, whose query may hold an email."""
    response = await client.get(
        "/api/v1/sites/paris-15/availability",
        params={"SERVICE": "caf", "zz": "jeanne@example.net"},
    )

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"message": "`service` is required.", "key": "service", "source": "query"}
    ]
    assert "jeanne" not in response.text
