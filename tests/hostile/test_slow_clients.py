"""Slow clients against a real server (slowloris): connections that send nothing, their
request's head or body a byte at a time, or blank lines after an answer. Others are
served all the while, and the slow ones are let go after the server's timeouts (10 s
for a head, 30 s for a body, 5 s of keep-alive)."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.hostile.conftest import Served
from tests.hostile.raw import Raw

pytestmark = pytest.mark.slow

GIVE_UP_AFTER_SECONDS = 60
A_REQUEST = b"GET /api/v1/sites HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def test_slow_clients_do_not_keep_others_waiting_and_are_let_go(served: Served) -> None:
    port = served.server.port
    silent = [Raw(port) for _ in range(20)]
    slow_heads = [Raw(port) for _ in range(60)]
    slow_bodies = [Raw(port) for _ in range(20)]
    idle_after_an_answer = [Raw(port) for _ in range(5)]
    blank_lines_after_an_answer = [Raw(port) for _ in range(5)]
    everyone = [
        *silent,
        *slow_heads,
        *slow_bodies,
        *idle_after_an_answer,
        *blank_lines_after_an_answer,
    ]
    try:
        for client in slow_heads:
            client.send(b"GET /api/v1/sites HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        for client in slow_bodies:
            client.send(
                b"POST /api/v1/auth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
            )
        for client in [*idle_after_an_answer, *blank_lines_after_an_answer]:
            client.send(A_REQUEST)
        answers = []
        with httpx.Client(base_url=served.server.base, timeout=30) as others:
            for _ in range(10):
                answers.append(others.get("/api/v1/sites").status_code)
                answers.append(others.get("/api/v1/sites/paris-15/display").status_code)

        deadline = time.monotonic() + GIVE_UP_AFTER_SECONDS
        while time.monotonic() < deadline:
            for client in [*slow_heads, *slow_bodies]:
                client.send(b"a")
            for client in blank_lines_after_an_answer:
                client.send(b"\r\n")
            for client in [*silent, *idle_after_an_answer]:
                client.poll()
            if all(client.closed for client in everyone):
                break
            time.sleep(1)
        later = httpx.get(f"{served.server.base}/api/v1/sites", timeout=30).status_code
    finally:
        for client in everyone:
            client.close()

    assert answers == [200] * 20
    assert [client.status for client in [*slow_heads, *slow_bodies]] == [None] * 80
    assert [client.status for client in idle_after_an_answer] == [200] * 5
    assert [client.status for client in blank_lines_after_an_answer] == [200] * 5
    assert [client.closed for client in everyone] == [True] * len(everyone)
    assert later == 200
