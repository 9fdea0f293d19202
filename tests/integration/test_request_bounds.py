"""What every route refuses before its handler, on both databases: a body over 64 KiB,
whether the route reads a body or not, and a whole number in the query written otherwise
than JSON writes one; and how a query parameter at fault is named."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from app.config import Settings
from tests.conftest import Clock, Staff, asgi_scope

MAX_BODY = 64 * 1024
OVER = b"a" * (MAX_BODY + 1)
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
CONTRACT = json.loads(Path(__file__).parents[1].joinpath("openapi-contract.json").read_text())


def fill_path(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


def filled(path: str, operation: dict[str, Any]) -> str:
    """`path` with a value of its kind for each parameter: an id, a day or a slug."""
    for parameter in operation.get("parameters", []):
        schema = json.dumps(parameter["schema"])
        value = "1" if "integer" in schema else "2026-12-01" if '"date"' in schema else "paris-15"
        path = path.replace(f"{{{parameter['name']}}}", value)
    return path


def without_a_body(openapi: dict[str, Any]) -> list[tuple[str, str]]:
    """The API's operations that change something and take no body, at addresses filled."""
    return [
        (method.upper(), filled(path, operation))
        for path, item in openapi["paths"].items()
        for method, operation in item.items()
        if method.upper() in UNSAFE and "requestBody" not in operation
    ]


async def test_every_route_that_reads_no_body_refuses_one_over_64_kib(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    """As the routes that take a body do: nothing is done (413) whatever the route."""
    openapi = (await client.get("/schema/openapi.json")).json()
    headers = await staff.headers("admin")
    answers = {}
    for method, url in without_a_body(openapi):
        response = await client.request(method, url, content=OVER, headers=headers)
        answers[f"{method} {url}"] = response.status_code

    assert {  # those an outside tester sent a body to
        "POST /api/v1/appointments/paris-15/cancel",
        "POST /api/v1/appointments/paris-15/offer/decline",
        "DELETE /api/v1/appointments/paris-15/waitlist",
        "POST /api/v1/tickets/paris-15/leave",
        "POST /api/v1/admin/sites/paris-15/booking-alerts/2026-12-01/release",
    } <= answers.keys()
    assert {key: code for key, code in answers.items() if code != 413} == {}


async def test_an_appointment_is_not_cancelled_by_a_request_with_a_body_over_64_kib(
    client: AsyncTestClient[object], clock: Clock
) -> None:
    clock.set("2026-11-30 08:00")
    booked = await client.post(
        "/api/v1/appointments",
        json={
            "site": "paris-15",
            "service": "caf",
            "start": "2026-12-01T10:00:00+01:00",
            "name": "Usager 1",
            "email": "usager1@example.org",
        },
    )
    token = booked.json()["token"]

    refused = await client.post(f"/api/v1/appointments/{token}/cancel", content=OVER)
    still = await client.get(f"/api/v1/appointments/{token}")
    within = await client.post(f"/api/v1/appointments/{token}/cancel", content=OVER[:MAX_BODY])

    assert booked.status_code == 201, booked.text
    assert refused.status_code == 413
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["status"] == 413
    assert still.json()["status"] == "booked"
    assert within.status_code == 200  # a body within the bound is ignored, as before
    assert within.json()["status"] == "cancelled"


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_a_body_over_64_kib_to_a_route_that_reads_none_is_refused_without_reading_it_all(
    settings: Settings, declared: bool
) -> None:
    """Declared larger, it is refused before a byte is read; sent without a length, as
    soon as what came is over the bound, not when the client stops sending."""
    app = create_app(settings)
    chunk = b"a" * 16 * 1024
    endless = 1024  # chunks: 16 MiB, if nobody stopped reading
    read: list[int] = []
    statuses: list[int] = []

    async def receive() -> dict[str, object]:
        read.append(len(chunk))
        return {"type": "http.request", "body": chunk, "more_body": len(read) < endless}

    async def send(message: Any) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    length = [(b"content-length", str(endless * len(chunk)).encode())] if declared else []
    scope = asgi_scope("POST", "/api/v1/appointments/unknown/cancel", length)
    await app(scope, receive, send)  # type: ignore[arg-type]
    await app.state.db.dispose()

    assert statuses == [413]
    assert sum(read) == (0 if declared else MAX_BODY + len(chunk))


def query_parameters(*kinds: str) -> list[tuple[str, str, str]]:
    """The API's query parameters whose description names one of `kinds` (JSON types,
    formats, `enum`, `pattern`), by operation."""
    return [
        (*operation.split(" ", 1), name.removeprefix("query:"))
        for operation, described in CONTRACT["operations"].items()
        for name, parameter in described.get("parameters", {}).items()
        if name.startswith("query:")
        and (not kinds or any(f'"{kind}"' in json.dumps(parameter) for kind in kinds))
    ]


# The query parameters that are whole numbers, and those that a word cannot be (days,
# numbers, yes-or-no, choices).
WHOLE_NUMBERS = query_parameters("integer")
TYPED = query_parameters("date", "integer", "boolean", "enum", "pattern")
# Those given once (a list is given as often as it has values).
ONCE = [parameter for parameter in query_parameters() if parameter not in query_parameters("array")]


# A whole number as JSON writes it, but for its spelling: what Litestar's reading took
# for a number (100, 1) and what it already refused.
ODD_WHOLES = ["1e2", "1E2", "2e0", "1.0", "100.0", "+1", " 1", "1 ", "01", "0x10", "1_0", "١"]
# The query parameters an operation cannot be asked without.
REQUIRED = {"service": "caf"}


def each_parameter(parameters: list[tuple[str, str, str]]) -> pytest.MarkDecorator:
    """A test for each of these query parameters, named by its path and name."""
    return pytest.mark.parametrize(
        ("method", "path", "name"),
        parameters,
        ids=[f"{path} {name}" for _method, path, name in parameters],
    )


def required_query(method: str, path: str, but: str = "") -> dict[str, str]:
    """A value for each query parameter the operation cannot be asked without, `but` one."""
    return {
        key.removeprefix("query:"): REQUIRED[key.removeprefix("query:")]
        for key, parameter in CONTRACT["operations"][f"{method} {path}"]["parameters"].items()
        if key.startswith("query:") and parameter.get("required") and key != f"query:{but}"
    }


@each_parameter(WHOLE_NUMBERS)
async def test_a_whole_number_in_the_query_is_read_only_as_json_writes_it(
    client: AsyncTestClient[object], staff: Staff, method: str, path: str, name: str
) -> None:
    """`limit=1e2` is not 100, nor `limit=1.0` 1: a 400 that names the parameter, as for
    any other spelling but plain digits."""
    headers = await staff.headers("admin")
    url = fill_path(path, "1")
    required = required_query(method, path)

    plain = await client.request(method, url, params={**required, name: "5"}, headers=headers)
    odd = {
        value: await client.request(method, url, params={**required, name: value}, headers=headers)
        for value in ODD_WHOLES
    }

    assert plain.status_code != 400, plain.text
    assert {value: r.status_code for value, r in odd.items()} == dict.fromkeys(ODD_WHOLES, 400)
    for response in odd.values():
        assert response.headers["content-type"].startswith("application/problem+json")
        assert [(e["key"], e["source"]) for e in response.json()["errors"]] == [(name, "query")]


@each_parameter(TYPED)
async def test_a_query_parameter_at_fault_is_named_as_the_client_wrote_it(
    client: AsyncTestClient[object], staff: Staff, method: str, path: str, name: str
) -> None:
    """A value that is no day, number or choice is a 400 naming the parameter as the
    query names it: `from`, not the name it has in Python (`first`), which a client never
    sent."""
    headers = await staff.headers("admin")
    required = required_query(method, path, but=name)

    answer = await client.request(
        method, fill_path(path, "1"), params={**required, name: "no such #"}, headers=headers
    )

    assert answer.status_code == 400, answer.text
    assert [(e.get("key"), e.get("source")) for e in answer.json()["errors"]] == [(name, "query")]


@each_parameter(ONCE)
async def test_a_query_parameter_given_twice_is_refused_naming_it(
    client: AsyncTestClient[object], staff: Staff, method: str, path: str, name: str
) -> None:
    """`from=…&from=…`: Litestar read the last, where a proxy or a log may read the first.
    A list (the escalations' `status`) is given once per value, and is not among these."""
    headers = await staff.headers("admin")
    url = fill_path(path, "1")
    query = list(required_query(method, path, but=name).items())
    value = REQUIRED.get(name, "1")

    once = await client.request(method, url, params=[*query, (name, value)], headers=headers)
    twice = await client.request(
        method, url, params=[*query, (name, value), (name, value)], headers=headers
    )

    assert once.status_code != 400 or "more than once" not in once.text, once.text
    assert twice.status_code == 400, twice.text
    assert twice.json()["errors"] == [
        {"message": f"`{name}` is given more than once.", "key": name, "source": "query"}
    ]
