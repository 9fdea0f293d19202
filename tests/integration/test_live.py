"""Live updates as clients see them: a real websockets client against a real server
process, on both databases; and a client that stops reading."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from tests.conftest import STAFF_PASSWORD, TEST_SECRET
from tests.servers import Server, running

pytestmark = pytest.mark.slow


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    environment = {
        "GUICHET_DATABASE_URL": database_url,
        "GUICHET_SECRET_KEY": TEST_SECRET,
        "GUICHET_LOG_LEVEL": "WARNING",
    }
    with running(tmp_path, environment) as servers:
        yield servers[0]


class Desk:
    """Staff of paris-15 acting through the HTTP API of a server."""

    def __init__(self, base: str) -> None:
        self.http = httpx.AsyncClient(base_url=base, timeout=30)
        self.headers: dict[str, str] = {}
        self.stations: list[int] = []

    async def open(self, staff_email: str) -> Desk:
        response = await self.http.post(
            "/api/v1/auth/token", json={"email": staff_email, "password": STAFF_PASSWORD}
        )
        self.headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
        site = (await self.http.get("/api/v1/sites/paris-15")).json()
        self.stations = [station["id"] for station in site["stations"]]
        return self

    async def walk_in(self) -> Any:
        response = await self.http.post(
            "/api/v1/sites/paris-15/tickets",
            # The server runs on the real clock: the mairie may be closed when tests run.
            json={"service": "caf", "force_reason": "Tests run at any hour"},
            headers=self.headers,
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def call(self, station: int | None = None) -> Any:
        response = await self.http.post(
            f"/api/v1/stations/{station or self.stations[0]}/call-next", headers=self.headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def pair_screen(self, label: str) -> str:
        """Pair a lobby screen of paris-15; its key."""
        response = await self.http.post(
            "/api/v1/admin/sites/paris-15/screens", json={"label": label}, headers=self.headers
        )
        assert response.status_code == 201, response.text
        key: str = response.json()["key"]
        return key

    async def close(self) -> None:
        await self.http.aclose()


@pytest.fixture
async def desk(server: Server, db: Any) -> Any:
    from app.accounts.service import create_agent

    async with db.writing() as session:
        agent = await create_agent(
            session,
            email="manager@agents.example.org",
            password=STAFF_PASSWORD,
            role="manager",
            site_slugs=["paris-15"],
        )
        email = agent.email
    opened = await Desk(server.base).open(email)
    yield opened
    await opened.close()


async def receive(connection: Any, within: float = 10) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(connection.recv(), within))
    return message


async def test_a_screen_gets_a_snapshot_then_every_change_in_seq_order(
    server: Server, desk: Desk
) -> None:
    async with websockets.connect(f"{server.ws}/ws/sites/paris-15/display") as screen:
        snapshot = await receive(screen)
        messages = []
        first = await desk.walk_in()
        messages.append(await receive(screen))
        second = await desk.walk_in()
        messages.append(await receive(screen))
        called = await desk.call()
        messages.append(await receive(screen))
        await desk.call(desk.stations[1])
        messages.append(await receive(screen))

    assert snapshot["type"] == "snapshot"
    assert snapshot["called"] == []
    assert [m["seq"] for m in messages] == [snapshot["seq"] + n for n in range(1, 5)]
    assert [m["type"] for m in messages] == ["update", "update", "called", "called"]
    assert messages[1]["waiting"]["count"] == 2
    assert called["number"] == first["number"]
    assert [c["number"] for c in messages[3]["called"]] == [second["number"], first["number"]]
    assert messages[3]["called"][0]["station"] == "Poste 2"
    assert messages[3]["waiting"]["count"] == 0


async def test_a_screen_that_lost_its_connection_misses_no_call_when_it_comes_back(
    server: Server, desk: Desk
) -> None:
    async with websockets.connect(f"{server.ws}/ws/sites/paris-15/display") as screen:
        before = await receive(screen)
    tickets = [await desk.walk_in() for _ in range(3)]
    for station in desk.stations[:3]:
        await desk.call(station)

    async with websockets.connect(f"{server.ws}/ws/sites/paris-15/display") as screen:
        again = await receive(screen)

    assert again["type"] == "snapshot"
    assert again["seq"] == before["seq"] + 6
    assert {c["number"] for c in again["called"]} == {t["number"] for t in tickets}


async def test_a_phone_follows_its_ticket_until_it_is_called(server: Server, desk: Desk) -> None:
    ahead = await desk.walk_in()
    mine = await desk.walk_in()

    async with websockets.connect(f"{server.ws}/ws/tickets/{mine['token']}") as phone:
        first = await receive(phone)
        await desk.call()
        moved_up = await receive(phone)
        await desk.call(desk.stations[1])
        called = await receive(phone)

    assert ahead["number"] == "A001"
    assert first == {
        "type": "ticket",
        "number": mine["number"],
        "status": "waiting",
        "position": 2,
        "eta_minutes": first["eta_minutes"],
        "station": None,
    }
    assert moved_up["position"] == 1
    assert called["status"] == "called"
    assert called["station"] == "Poste 2"


async def test_unknown_sites_and_tickets_are_refused_at_the_door(server: Server) -> None:
    statuses = []
    for path in ("/ws/sites/paris-99/display", "/ws/tickets/" + "z" * 32):
        with pytest.raises(InvalidStatus) as refused:
            async with websockets.connect(f"{server.ws}{path}"):
                pass
        statuses.append(refused.value.response.status_code)

    # Closed before the handshake is accepted: the server answers 403.
    assert statuses == [403, 403]


async def test_a_live_address_asked_over_plain_http_says_to_upgrade(server: Server) -> None:
    answers = []
    async with httpx.AsyncClient(base_url=server.base) as client:
        for path in (
            "/ws/sites/paris-15/display",
            "/ws/tickets/" + "z" * 32,
            "/ws/nothing",
            "//ws/tickets/x",  # the router's way there too
            "//ws//tickets//x",
            "/%2fws%2ftickets%2fx",
        ):
            for method in ("GET", "HEAD", "POST", "OPTIONS"):
                # The path as written, slashes doubled or encoded, not as a URL reads it.
                address = httpx.URL(server.base).copy_with(raw_path=path.encode())
                answers.append((method, path, await client.request(method, address)))

    # Not a 500 (Litestar's router cannot route HTTP to these handlers): 426, and why.
    assert {(method, path): answer.status_code for method, path, answer in answers} == {
        (method, path): 426 for method, path, _ in answers
    }
    for _, _, answer in answers:
        assert answer.headers["upgrade"] == "websocket"
        assert answer.headers["content-type"] == "application/problem+json"
    assert answers[0][2].json()["detail"] == "This address takes websocket connections only."


async def test_a_page_that_names_a_live_address_is_no_500(server: Server) -> None:
    # The pages' language switch routes the address a form was sent from, and the address
    # asked: a live one among them is no page, not a failure.
    async with httpx.AsyncClient(base_url=server.base) as client:
        not_found = await client.get("/%252Fws/tickets/x", headers={"Accept": "text/html"})
        form = await client.post(
            "/rendez-vous/retrouver",
            data={"reference": "", "contact": ""},
            headers={"Referer": f"{server.base}/ws%2Ftickets/x", "Origin": server.base},
        )

    assert not_found.status_code == 404
    assert form.status_code == 422, form.text


async def test_a_host_header_that_names_no_host_is_refused_plainly(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.base) as client:
        answers = {
            host: await client.get(path, headers={"Host": host, "Accept": "text/html"})
            for host in ("a:b", "a:-1", "a:65536", "a:1/b", "127.0.0.1:8000/x")
            for path in ("/",)
        }
        fine = await client.get("/", headers={"Host": "[::1]:8000"})

    assert {host: answer.status_code for host, answer in answers.items()} == dict.fromkeys(
        answers, 400
    )
    assert answers["a:b"].headers["content-type"] == "application/problem+json"
    assert fine.status_code == 200


def stalled_client(port: int, path: str) -> socket.socket:
    """A websocket client that completes the handshake and then never reads, with a tiny
    receive buffer so that the server's writes soon back up."""
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    raw.connect(("127.0.0.1", port))
    raw.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    return raw


async def test_a_client_that_stops_reading_holds_up_nobody(server: Server, desk: Desk) -> None:
    stalled = stalled_client(server.port, "/ws/sites/paris-15/display")
    try:
        async with websockets.connect(f"{server.ws}/ws/sites/paris-15/display") as screen:
            start = (await receive(screen))["seq"]
            for _ in range(60):
                await desk.walk_in()
            seen = []
            while not seen or seen[-1] < start + 60:
                seen.append((await receive(screen, within=30))["seq"])
            last = await desk.http.get("/api/v1/sites/paris-15/display")
    finally:
        stalled.close()

    assert seen == sorted(seen)
    assert seen[-1] == start + 60
    assert last.json()["waiting"]["count"] == 60


async def test_the_staff_queue_view_counts_the_paired_screens_connected(
    server: Server, desk: Desk
) -> None:
    async def screens() -> int:
        view = await desk.http.get("/api/v1/sites/paris-15/queue", headers=desk.headers)
        return int(view.json()["screens"])

    async def until(expected: int) -> int:
        async with asyncio.timeout(15):
            while (found := await screens()) != expected:  # noqa: ASYNC110 (polls the server)
                await asyncio.sleep(0.2)
        return found

    keys = [await desk.pair_screen(label) for label in ("Hall", "Étage")]
    display = f"{server.ws}/ws/sites/paris-15/display"
    before = await screens()
    async with (
        websockets.connect(display) as without_key,
        websockets.connect(f"{display}?ecran={keys[0]}") as first,
        websockets.connect(f"{display}?ecran={keys[1]}") as second,
    ):
        for connection in (without_key, first, second):
            await receive(connection)
        during = await until(2)
    after = await until(0)

    assert (before, during, after) == (0, 2, 0)


@pytest.fixture
def strict_server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    environment = {
        "GUICHET_DATABASE_URL": database_url,
        "GUICHET_SECRET_KEY": TEST_SECRET,
        "GUICHET_LOG_LEVEL": "WARNING",
        "GUICHET_WEBSOCKETS_PER_ADDRESS": "2",
    }
    with running(tmp_path, environment) as servers:
        yield servers[0]


async def test_an_address_may_hold_only_so_many_live_connections(strict_server: Server) -> None:
    url = f"{strict_server.ws}/ws/sites/paris-15/display"
    async with websockets.connect(url) as first, websockets.connect(url) as second:
        await receive(first)
        await receive(second)
        with pytest.raises(InvalidStatus) as refused:
            async with websockets.connect(url):
                pass
    async with websockets.connect(url) as again:
        welcome = await receive(again)

    assert refused.value.response.status_code == 403
    assert welcome["type"] == "snapshot"
