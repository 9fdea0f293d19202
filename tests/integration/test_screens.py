"""Lobby screens paired by a manager, on both databases: only a display opened with the key
of a paired screen counts as a screen (staff's count, /metrics, presence); a display
without a key still shows the public queue, uncounted; revoking a screen ends its
connection at once and refuses its key from then on; another mairie's manager may do
none of it. Through HTTP and real websockets against a real server."""

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import websockets
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families
from websockets.exceptions import ConnectionClosed

from app.accounts.service import create_agent
from app.db import Database
from tests.conftest import STAFF_PASSWORD, TEST_SECRET, Clock, Staff
from tests.integration.test_staff_pages import csrf_of, log_in
from tests.servers import Server, running

SCREENS = "/api/v1/admin/sites/paris-15/screens"
NOT_PAIRED = 4403


def key_of(display_url: str) -> str:
    return parse_qs(urlsplit(display_url).query)["ecran"][0]


# The manager's API and page


async def test_a_manager_pairs_a_screen_and_sees_its_address_only_once(
    client: AsyncTestClient[object], staff: Staff, clock: Clock
) -> None:
    clock.set("2026-12-01 09:00")
    manager = await staff.headers("manager", "paris-15")

    paired = await client.post(SCREENS, json={"label": "Salle d'attente"}, headers=manager)
    listed = await client.get(SCREENS, headers=manager)

    assert paired.status_code == 201, paired.text
    body = paired.json()
    assert body["label"] == "Salle d'attente"
    assert body["connected"] is False
    assert body["display_url"].startswith("http")
    assert urlsplit(body["display_url"]).path == "/display/paris-15"
    assert key_of(body["display_url"]) == body["key"]
    assert len(body["key"]) >= 22  # at least 128 random bits, URL-safe
    assert listed.status_code == 200
    assert [screen["id"] for screen in listed.json()] == [body["id"]]
    assert body["key"] not in listed.text
    assert set(listed.json()[0]) == {"id", "label", "created_at", "last_seen", "connected"}


async def test_two_pairings_give_two_different_keys(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    manager = await staff.headers("manager", "paris-15")

    first = await client.post(SCREENS, json={"label": "Entrée"}, headers=manager)
    second = await client.post(SCREENS, json={"label": "Entrée"}, headers=manager)

    assert first.json()["key"] != second.json()["key"]


async def test_another_mairies_manager_may_not_pair_list_or_revoke_its_screens(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    here = await staff.headers("manager", "paris-15")
    elsewhere = await staff.headers("manager", "paris-20")
    reception = await staff.headers("reception", "paris-15")
    screen = (await client.post(SCREENS, json={"label": "Hall"}, headers=here)).json()

    answers = [
        (await client.get(SCREENS, headers=elsewhere)).status_code,
        (await client.post(SCREENS, json={"label": "Pirate"}, headers=elsewhere)).status_code,
        (await client.delete(f"{SCREENS}/{screen['id']}", headers=elsewhere)).status_code,
        (await client.get(SCREENS, headers=reception)).status_code,
        (await client.delete(f"{SCREENS}/{screen['id']}", headers=reception)).status_code,
    ]
    still = await client.get(SCREENS, headers=here)

    assert answers == [403, 403, 403, 403, 403]
    assert [item["id"] for item in still.json()] == [screen["id"]]


async def test_a_screen_of_another_mairie_is_not_revoked_under_this_ones_address(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    admin = await staff.headers("admin")
    elsewhere = await client.post(
        "/api/v1/admin/sites/paris-20/screens", json={"label": "Hall"}, headers=admin
    )

    revoked = await client.delete(f"{SCREENS}/{elsewhere.json()['id']}", headers=admin)
    unknown = await client.delete(f"{SCREENS}/999999", headers=admin)
    still = await client.get("/api/v1/admin/sites/paris-20/screens", headers=admin)

    assert (revoked.status_code, unknown.status_code) == (403, 404)
    assert [screen["id"] for screen in still.json()] == [elsewhere.json()["id"]]


async def test_pairing_and_revoking_are_in_the_mairies_audit_log(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    manager = await staff.headers("manager", "paris-15")
    screen = (await client.post(SCREENS, json={"label": "Hall"}, headers=manager)).json()

    revoked = await client.delete(f"{SCREENS}/{screen['id']}", headers=manager)
    again = await client.delete(f"{SCREENS}/{screen['id']}", headers=manager)
    log = await client.get(
        "/api/v1/audit", params={"site": "paris-15", "action": "screen."}, headers=manager
    )
    listed = await client.get(SCREENS, headers=manager)

    assert (revoked.status_code, again.status_code) == (204, 204)
    events = [(event["action"], event["target"]) for event in log.json()["events"]]
    target = f"screen:{screen['id']}"
    assert sorted(events) == [("screen.paired", target), ("screen.revoked", target)]
    assert screen["key"] not in log.text
    assert listed.json() == []


@pytest.mark.parametrize("label", ["", "   ", "x" * 61, "Hall\x00"])
async def test_a_screen_needs_a_short_readable_name(
    client: AsyncTestClient[object], staff: Staff, label: str
) -> None:
    manager = await staff.headers("manager", "paris-15")

    refused = await client.post(SCREENS, json={"label": label}, headers=manager)

    assert refused.status_code == 400, refused.text
    assert (await client.get(SCREENS, headers=manager)).json() == []


async def test_the_site_page_pairs_a_screen_with_its_address_and_qr_code_then_revokes_it(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    await log_in(client, await staff.agent("manager", "paris-15"))
    csrf = csrf_of((await client.get("/admin/sites/paris-15")).text)

    paired = await client.post(
        "/admin/sites/paris-15/ecrans",
        data={"csrf": csrf, "ecran-nom": "Salle du rez-de-chaussée"},
        follow_redirects=False,
    )
    address = re.search(r'id="adresse-ecran">([^<]+)<', paired.text)
    page = await client.get("/admin/sites/paris-15?onglet=ecrans")
    screen_id = re.search(r"/admin/sites/paris-15/ecrans/(\d+)/retrait", page.text)
    forged = await client.post(
        f"/admin/sites/paris-15/ecrans/{screen_id.group(1) if screen_id else 0}/retrait",
        data={"csrf": "forged"},
        follow_redirects=False,
    )
    revoked = await client.post(
        f"/admin/sites/paris-15/ecrans/{screen_id.group(1) if screen_id else 0}/retrait",
        data={"csrf": csrf},
        follow_redirects=False,
    )
    after = await client.get(revoked.headers.get("location", "/admin/sites/paris-15"))

    assert paired.status_code == 200, paired.text
    assert address is not None
    assert "/display/paris-15?ecran=" in address.group(1)
    assert "<svg" in paired.text
    assert "ne s'affichera plus" in paired.text
    assert "Salle du rez-de-chaussée" in page.text
    assert "Jamais connecté" in page.text
    assert key_of(address.group(1).replace("&amp;", "&")) not in page.text
    assert forged.status_code == 403
    assert revoked.status_code == 303
    assert "L'écran a été retiré" in html.unescape(after.text)
    assert "Aucun écran associé." in after.text


async def test_the_site_page_says_what_is_wrong_with_a_screen_name(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    await log_in(client, await staff.agent("manager", "paris-15"))
    csrf = csrf_of((await client.get("/admin/sites/paris-15")).text)

    refused = await client.post(
        "/admin/sites/paris-15/ecrans", data={"csrf": csrf, "ecran-nom": "  "}
    )

    assert refused.status_code == 400
    assert "Indiquez un nom pour l'écran" in html.unescape(refused.text)


# Real screens on a real server


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    environment = {
        "GUICHET_DATABASE_URL": database_url,
        "GUICHET_SECRET_KEY": TEST_SECRET,
        "GUICHET_LOG_LEVEL": "WARNING",
    }
    with running(tmp_path, environment) as servers:
        yield servers[0]


class Manager:
    """The manager of paris-15, through the HTTP API of a real server."""

    def __init__(self, server: Server, headers: dict[str, str]) -> None:
        self.server = server
        self.http = httpx.AsyncClient(base_url=server.base, headers=headers, timeout=30)

    async def pair(self, label: str = "Salle d'attente") -> dict[str, Any]:
        response = await self.http.post(SCREENS, json={"label": label})
        assert response.status_code == 201, response.text
        paired: dict[str, Any] = response.json()
        return paired

    async def revoke(self, screen: dict[str, Any]) -> None:
        response = await self.http.delete(f"{SCREENS}/{screen['id']}")
        assert response.status_code == 204, response.text

    def display(self, key: str | None = None, slug: str = "paris-15") -> Any:
        query = f"?ecran={key}" if key is not None else ""
        return websockets.connect(f"{self.server.ws}/ws/sites/{slug}/display{query}")

    async def screens_shown(self) -> int:
        """The count of connected screens on the staff's queue view."""
        view = await self.http.get("/api/v1/sites/paris-15/queue")
        return int(view.json()["screens"])

    async def until_shown(self, expected: int) -> int:
        async with asyncio.timeout(15):
            while (found := await self.screens_shown()) != expected:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
        return found

    async def gauge(self) -> float:
        """This instance's screen gauge for paris-15 on /metrics."""
        text = (await self.http.get("/metrics")).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "guichet_screens_connected" and sample.labels == {
                    "site": "paris-15"
                }:
                    return sample.value
        return 0.0


@pytest.fixture
async def manager(server: Server, db: Database) -> AsyncIterator[Manager]:
    async with db.writing() as session:
        agent = await create_agent(
            session,
            email="manager@agents.example.org",
            password=STAFF_PASSWORD,
            role="manager",
            site_slugs=["paris-15"],
        )
        email = agent.email
    async with httpx.AsyncClient(base_url=server.base) as http:
        response = await http.post(
            "/api/v1/auth/token", json={"email": email, "password": STAFF_PASSWORD}
        )
    opened = Manager(server, {"Authorization": f"Bearer {response.json()['access_token']}"})
    yield opened
    await opened.http.aclose()


async def receive(connection: Any) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(connection.recv(), 10))
    return message


async def closed_with(connection: Any) -> int | None:
    """The close code the server ends `connection` with (None: still open after 15 s)."""
    try:
        async with asyncio.timeout(15):
            while True:
                await connection.recv()
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    except TimeoutError:
        return None


@pytest.mark.slow
async def test_an_anonymous_display_is_not_counted_as_a_lobby_screen(manager: Manager) -> None:
    async with manager.display() as anonymous:
        snapshot = await receive(anonymous)
        gauge = await manager.gauge()  # this instance's count, exact once the snapshot came

    assert snapshot["type"] == "snapshot"
    assert gauge == 0


@pytest.mark.slow
async def test_a_display_without_a_key_sees_the_queue_but_is_no_screen(
    manager: Manager,
) -> None:
    screen = await manager.pair()
    async with manager.display() as anonymous, manager.display() as second_anonymous:
        anonymous_first = await receive(anonymous)
        await receive(second_anonymous)
        async with manager.display(screen["key"]) as paired:
            paired_first = await receive(paired)
            shown = await manager.until_shown(1)
            gauge = await manager.gauge()
            listed = (await manager.http.get(SCREENS)).json()

    assert anonymous_first["type"] == paired_first["type"] == "snapshot"
    assert (shown, gauge) == (1, 1)
    assert listed[0]["connected"] is True


@pytest.mark.slow
async def test_a_paired_screen_is_counted_once_however_often_its_address_is_open(
    manager: Manager,
) -> None:
    first, second = await manager.pair("Hall"), await manager.pair("Étage")
    async with (
        manager.display(first["key"]) as one,
        manager.display(first["key"]) as same_again,
        manager.display(second["key"]) as other,
    ):
        for connection in (one, same_again, other):
            await receive(connection)
        during = await manager.until_shown(2)
        gauge = await manager.gauge()
    after = await manager.until_shown(0)

    assert (during, gauge, after) == (2, 2, 0)


@pytest.mark.slow
async def test_revoking_a_screen_ends_its_connection_and_it_is_no_longer_counted(
    manager: Manager,
) -> None:
    kept, revoked = await manager.pair("Hall"), await manager.pair("Ancien écran")
    async with manager.display(kept["key"]) as staying, manager.display(revoked["key"]) as going:
        await receive(staying)
        await receive(going)
        before = await manager.until_shown(2)
        await manager.revoke(revoked)
        code = await closed_with(going)
        after = await manager.until_shown(1)
        gauge = await manager.gauge()
        async with manager.display(revoked["key"]) as coming_back:
            refused_again = await closed_with(coming_back)
        still_served = await manager.http.post(
            "/api/v1/sites/paris-15/tickets",
            # The server runs on the real clock: the mairie may be closed when tests run.
            json={"service": "caf", "force_reason": "Tests run at any hour"},
        )
        update = await receive(staying)

    assert (before, after, gauge) == (2, 1, 1)
    assert code == refused_again == NOT_PAIRED
    assert still_served.status_code == 201
    assert update["waiting"]["count"] == 1


@pytest.mark.slow
async def test_a_key_of_another_mairie_or_made_up_is_refused(manager: Manager) -> None:
    screen = await manager.pair()

    async with manager.display(screen["key"], slug="paris-20") as elsewhere:
        other_site = await closed_with(elsewhere)
    async with manager.display("x" * 32) as made_up:
        unknown = await closed_with(made_up)

    assert other_site == unknown == NOT_PAIRED
    assert await manager.screens_shown() == 0


@pytest.fixture
def two_servers(database_url: str, tmp_path: Path) -> Iterator[list[Server]]:
    environment = {
        "GUICHET_DATABASE_URL": database_url,
        "GUICHET_SECRET_KEY": TEST_SECRET,
        "GUICHET_LOG_LEVEL": "WARNING",
        "GUICHET_DATABASE_POOL_SIZE": "8",
    }
    with running(tmp_path, environment, count=2) as servers:
        yield servers


@pytest.mark.slow
@pytest.mark.postgresql
@pytest.mark.parametrize("backend", ["postgresql"])  # instances share PostgreSQL only
async def test_revoking_on_one_instance_ends_the_screen_held_by_another(
    two_servers: list[Server], db: Database
) -> None:
    first, second = two_servers
    async with db.writing() as session:
        agent = await create_agent(
            session,
            email="manager@agents.example.org",
            password=STAFF_PASSWORD,
            role="manager",
            site_slugs=["paris-15"],
        )
        email = agent.email
    async with httpx.AsyncClient(base_url=first.base) as http:
        token = (
            await http.post("/api/v1/auth/token", json={"email": email, "password": STAFF_PASSWORD})
        ).json()["access_token"]
    on_first = Manager(first, {"Authorization": f"Bearer {token}"})
    on_second = Manager(second, {"Authorization": f"Bearer {token}"})
    try:
        screen = await on_first.pair()
        async with on_second.display(screen["key"]) as held_by_second:
            await receive(held_by_second)
            before = await on_first.until_shown(1)
            await on_first.revoke(screen)
            code = await closed_with(held_by_second)
            after = await on_first.until_shown(0)
    finally:
        await on_first.http.aclose()
        await on_second.http.aclose()

    assert (before, code, after) == (1, NOT_PAIRED, 0)
