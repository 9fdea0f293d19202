"""The lobby screen in the browser: a call shows at once (the delay is printed, not
asserted: this machine is shared, and a timed assertion would flake), a lost server says
so, and the screen catches up by itself when the server is back. The screen is the
demo's paired one, at the address `guichet serve --demo` prints: it passes its key on to
the websocket and is counted; revoked, it says so and stops."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from app.demo import DEMO_PASSWORD
from tests.e2e.axe import Axe, describe
from tests.servers import Server, free_port

MANAGER = "responsable.paris15@guichet.example.org"


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Server]:
    """A server of this test's own, which it may stop and start again."""
    server = Server(tmp_path, free_port(), {"GUICHET_LOG_LEVEL": "WARNING"}, demo=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def staff_headers(base: str) -> dict[str, str]:
    token = httpx.post(
        f"{base}/api/v1/auth/token", json={"email": MANAGER, "password": DEMO_PASSWORD}
    ).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def call_a_new_ticket(base: str, headers: dict[str, str], station: int) -> tuple[str, float]:
    """Issue a walk-in ticket and call it; the number and when the call was answered."""
    httpx.post(  # the server runs on the real clock: the mairie may be closed
        f"{base}/api/v1/sites/paris-15/tickets",
        json={"service": "caf", "force_reason": "Tests run at any hour"},
        headers=headers,
    )
    response = httpx.post(f"{base}/api/v1/stations/{station}/call-next", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["number"], time.monotonic()


def paired_address(server: Server) -> str:
    """The address of the demo's paired screen, as `guichet serve --demo` prints it."""
    found = re.search(r"lobby display  (\S+/display/paris-15\?ecran=\S+)", server.output())
    assert found, server.output()
    return found.group(1)


def screens_shown(base: str, headers: dict[str, str]) -> int:
    view = httpx.get(f"{base}/api/v1/sites/paris-15/queue", headers=headers)
    return int(view.json()["screens"])


def until_shown(base: str, headers: dict[str, str], expected: int) -> int:
    """The staff's count of connected screens, once it is `expected` (or after 15 s)."""
    deadline = time.monotonic() + 15
    while (found := screens_shown(base, headers)) != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def open_screen(browser: Browser, server: Server) -> Page:
    page = browser.new_context(
        base_url=server.base, viewport={"width": 1920, "height": 1080}
    ).new_page()
    page.goto(paired_address(server))  # it starts by itself: no click
    expect(page.get_by_role("heading", level=1)).to_have_text("Mairie du 15e arrondissement")
    expect(page.get_by_role("button", name="Activer le son")).to_be_visible()
    return page


def test_a_call_appears_on_the_screen_at_once(
    browser: Browser, own_server: Server, axe: Axe, record_property: Callable[[str, object], None]
) -> None:
    base = own_server.base
    headers = staff_headers(base)
    station = httpx.get(f"{base}/api/v1/sites/paris-15").json()["stations"][2]["id"]
    page = open_screen(browser, own_server)
    expect(page.locator("#no-calls")).to_be_visible()
    assert until_shown(base, headers, 1) == 1

    number, called_at = call_a_new_ticket(base, headers, station)
    expect(page.locator(".call").first).to_contain_text(number)
    shown_after = time.monotonic() - called_at
    record_property("call_shown_after_seconds", round(shown_after, 3))
    print(f"the call showed {shown_after * 1000:.0f} ms after call-next answered")

    first = page.locator(".call").first
    expect(first.locator(".station")).to_have_text("Poste 3")
    expect(first).to_have_class("call fresh")
    expect(first.locator(".fresh-label")).to_have_text("nouvel appel")
    violations = axe(page)
    assert not violations, describe(violations)


def test_the_screen_says_when_it_lost_the_server_and_catches_up_after(
    browser: Browser, own_server: Server
) -> None:
    base = own_server.base
    headers = staff_headers(base)
    station = httpx.get(f"{base}/api/v1/sites/paris-15").json()["stations"][0]["id"]
    page = open_screen(browser, own_server)
    number, _ = call_a_new_ticket(base, headers, station)
    expect(page.locator(".call").first).to_contain_text(number)
    offline = page.get_by_role("alert")

    own_server.stop()
    expect(offline).to_be_visible(timeout=10_000)
    expect(offline).to_contain_text("Connexion perdue – dernière mise à jour à")
    own_server.start()
    expect(offline).to_be_hidden(timeout=40_000)
    later, _ = call_a_new_ticket(base, staff_headers(base), station)

    expect(page.locator(".call").first).to_contain_text(later, timeout=5_000)
    expect(page.locator(".call").nth(1)).to_contain_text(number)
    assert until_shown(base, staff_headers(base), 1) == 1  # the same key, still paired


def test_a_revoked_screen_says_it_is_no_longer_paired_and_is_not_counted(
    browser: Browser, own_server: Server
) -> None:
    base = own_server.base
    headers = staff_headers(base)
    page = open_screen(browser, own_server)
    expect(page.locator("#no-calls")).to_be_visible()
    assert until_shown(base, headers, 1) == 1
    screens = httpx.get(f"{base}/api/v1/admin/sites/paris-15/screens", headers=headers).json()

    revoked = httpx.delete(
        f"{base}/api/v1/admin/sites/paris-15/screens/{screens[0]['id']}", headers=headers
    )

    assert revoked.status_code == 204
    unpaired = page.locator("#unpaired")
    expect(unpaired).to_be_visible()
    expect(unpaired).to_contain_text("Cet écran n'est pas associé à la mairie, ou ne l'est plus")
    expect(page.locator("#offline")).to_be_hidden()
    # Nothing it showed before stays as if live: no calls, no count under the message.
    expect(page.locator(".board")).to_be_hidden()
    assert until_shown(base, headers, 0) == 0


def test_a_display_without_a_key_shows_the_queue_but_is_not_counted(
    browser: Browser, own_server: Server
) -> None:
    base = own_server.base
    headers = staff_headers(base)
    station = httpx.get(f"{base}/api/v1/sites/paris-15").json()["stations"][0]["id"]
    page = browser.new_context(base_url=base).new_page()
    page.goto("/display/paris-15?autostart=1")
    number, _ = call_a_new_ticket(base, headers, station)
    expect(page.locator(".call").first).to_contain_text(number)
    paired = open_screen(browser, own_server)
    expect(paired.locator(".call").first).to_contain_text(number)

    assert until_shown(base, headers, 1) == 1
    assert screens_shown(base, headers) == 1


def test_a_second_screen_shows_the_next_rows_and_a_filtered_screen_its_stations(
    browser: Browser, own_server: Server
) -> None:
    base = own_server.base
    headers = staff_headers(base)
    stations = [s["id"] for s in httpx.get(f"{base}/api/v1/sites/paris-15").json()["stations"]]
    first, _ = call_a_new_ticket(base, headers, stations[0])
    second, _ = call_a_new_ticket(base, headers, stations[1])
    context = browser.new_context(base_url=base)

    next_rows = context.new_page()
    next_rows.goto("/display/paris-15?rows=1&page=2&autostart=1")
    only_first_station = context.new_page()
    only_first_station.goto(f"/display/paris-15?stations={stations[0]}&autostart=1")

    expect(next_rows.locator(".call")).to_have_count(1)
    expect(next_rows.locator(".call .number")).to_contain_text(first)
    expect(only_first_station.locator(".call")).to_have_count(1)
    expect(only_first_station.locator(".call .station")).to_have_text("Poste 1")
    assert second != first
