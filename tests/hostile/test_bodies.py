"""Bodies no client should send, against a real server: too large (declared or not, or
never ending), nested thousands deep. Each is refused early with a problem, and the
server goes on serving everyone else."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import repeat

import httpx
import pytest

from tests.hostile.conftest import Served
from tests.hostile.raw import Raw

pytestmark = pytest.mark.slow

MAX_BODY = 64 * 1024
ENDLESS = 256 * 1024 * 1024  # what a client would send if nobody stopped it
JSON_POSTS = ["/api/v1/auth/token", "/api/v1/appointments", "/api/v1/sites/paris-15/tickets"]


def head(path: str, *lines: str) -> bytes:
    fields = "".join(f"{line}\r\n" for line in lines)
    return f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{fields}\r\n".encode()


def chunked(size: int = 8192) -> Iterator[bytes]:
    piece = b"a" * size
    return repeat(b"%x\r\n%s\r\n" % (size, piece), ENDLESS // size)


def still_serves(served: Served) -> None:
    response = httpx.get(f"{served.server.base}/api/v1/sites", timeout=30)
    assert response.status_code == 200
    assert len(response.json()) == 17


def test_a_body_declared_larger_than_64_kib_is_refused_with_413_before_it_is_sent(
    served: Served,
) -> None:
    with Raw(served.server.port) as client:
        client.stream(
            [
                head(
                    "/api/v1/auth/token",
                    "Content-Type: application/json",
                    f"Content-Length: {ENDLESS}",
                ),
                b"a" * ENDLESS,
            ]
        )
        hung_up = client.wait_until_closed(within=60)

    assert client.status == 413
    assert b"application/problem+json" in client.received
    assert client.sent < ENDLESS
    assert hung_up
    still_serves(served)


@pytest.mark.parametrize("path", JSON_POSTS)
def test_a_chunked_body_that_never_ends_is_refused_with_413_and_the_client_let_go(
    served: Served, path: str
) -> None:
    with Raw(served.server.port) as client:
        client.stream(
            [
                head(
                    path,
                    "Content-Type: application/json",
                    "Transfer-Encoding: chunked",
                    *served.header_lines,
                ),
                *chunked(),
            ]
        )
        hung_up = client.wait_until_closed(within=60)

    assert client.status == 413
    assert b'"status":413' in client.received
    assert client.sent < ENDLESS
    assert hung_up
    still_serves(served)


@pytest.mark.parametrize("path", JSON_POSTS)
@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"[" * 100_000, 413),
        (b"[" * 60_000, 400),
        (b"[" * 30_000 + b"]" * 30_000, 400),
        (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, 400),
        (b'{"email": ' + b"[" * 60_000, 400),
    ],
    ids=["100000-arrays", "60000-arrays-unclosed", "30000-arrays", "10000-objects", "in-a-field"],
)
def test_json_nested_thousands_deep_is_a_problem_not_a_crash(
    served: Served, path: str, body: bytes, status: int
) -> None:
    assert (len(body) > MAX_BODY) == (status == 413)

    response = httpx.post(
        f"{served.server.base}{path}",
        content=body,
        headers={**served.headers, "Content-Type": "application/json"},
        timeout=30,
    )

    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == status
    still_serves(served)


def test_a_request_head_over_32_kib_is_refused_with_431(served: Served) -> None:
    with Raw(served.server.port) as client:
        client.stream(
            [b"GET /api/v1/sites HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ", b"a" * ENDLESS]
        )
        hung_up = client.wait_until_closed(within=60)

    assert client.status == 431
    assert client.sent < ENDLESS
    assert hung_up
    still_serves(served)


@pytest.mark.parametrize("size", [33_000, 70_000, 100_000])
def test_a_request_head_over_32_kib_sent_whole_at_once_is_refused_with_431(
    served: Served, size: int
) -> None:
    whole = head("/api/v1/sites", f"X-Padding: {'a' * size}").replace(b"POST", b"GET", 1)
    with Raw(served.server.port) as client:
        client.stream([whole])
        hung_up = client.wait_until_closed(within=60)

    assert client.status == 431
    assert hung_up
    still_serves(served)


def test_a_head_just_under_the_limit_is_served(served: Served) -> None:
    response = httpx.get(
        f"{served.server.base}/api/v1/sites", headers={"X-Padding": "a" * 30_000}, timeout=30
    )

    assert response.status_code == 200
