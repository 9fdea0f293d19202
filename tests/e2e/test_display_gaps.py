"""The lobby screen's own gap handling (display.js), in the browser: the screen's
websocket runs through a route the test holds, which can lose a message on the way, or
slip in one whose number jumps ahead or comes again. A gap makes the screen read the
state again from the server and show what the lost message said; a message it has
already seen, or an older one, changes nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, WebSocketRoute, expect

from tests.servers import Server

MANAGER = "responsable.paris15@guichet.example.org"
DISPLAY_STATE = "/api/v1/sites/paris-15/display"
# Every state the screen shows, as its calls' text and its waiting count; and how many
# answers it has read (whatever it did with them, done by the time the count is read).
RECORD_WHAT_IS_SHOWN = """
window.shown = [];
window.answersRead = 0;
const readJson = Response.prototype.json;
Response.prototype.json = async function () {
  const body = await readJson.call(this);
  window.answersRead += 1;
  return body;
};
document.addEventListener("DOMContentLoaded", () => {
  const note = () => window.shown.push(
    `${document.getElementById("latest").textContent} ` +
    `${document.getElementById("calls").textContent} | ` +
    document.getElementById("waiting-count").textContent
  );
  new MutationObserver(note).observe(
    document.querySelector("main"), { subtree: true, childList: true, characterData: true }
  );
});
"""


@dataclass
class Wire:
    """The screen's websocket, through the test's hands: what came from the server and
    went on to the page, what was lost on the way, and the route to slip messages in."""

    forwarded: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)
    lose_next: bool = False
    lose_all: bool = False
    route: WebSocketRoute | None = None

    def handle(self, route: WebSocketRoute) -> None:
        self.route = route
        upstream = route.connect_to_server()

        def from_server(message: str | bytes) -> None:
            body = json.loads(message)
            if self.lose_next or self.lose_all:
                self.lose_next = False
                self.dropped.append(body)
                return
            self.forwarded.append(body)
            route.send(message)

        upstream.on_message(from_server)

    def slip_in(self, body: dict[str, Any]) -> None:
        assert self.route is not None
        self.route.send(json.dumps(body))


@dataclass
class Screen:
    page: Page
    wire: Wire
    rereads: list[str]
    base: str

    def truth(self) -> dict[str, Any]:
        body: dict[str, Any] = httpx.get(f"{self.base}{DISPLAY_STATE}").json()
        return body

    def pump_until(self, done: Any, within: float = 15) -> None:
        """Let the browser and the route run until `done()` (the route's handlers run
        while Playwright is called)."""
        deadline = time.monotonic() + within
        while not done() and time.monotonic() < deadline:
            self.page.wait_for_timeout(50)
        assert done(), "the screen's websocket did not get there in time"

    def settled(self) -> dict[str, Any]:
        """The server's state, once the screen got its latest message and shows it."""
        truth = self.truth()
        self.pump_until(lambda: bool(self.wire.forwarded) and self.last_seq() >= truth["seq"])
        assert self.last_seq() == truth["seq"]
        expect(self.page.locator("#waiting-count")).to_have_text(str(truth["waiting"]["count"]))
        return truth

    def last_seq(self) -> int:
        return int(self.wire.forwarded[-1]["seq"])

    def shown(self) -> list[str]:
        return list(self.page.evaluate("window.shown"))

    def answers_read(self) -> int:
        return int(self.page.evaluate("window.answersRead"))

    def first_call(self) -> Any:
        return self.page.locator(".call .number").first


@pytest.fixture
def screen(browser: Browser, server: Server) -> Iterator[Screen]:
    context = browser.new_context(base_url=server.base, locale="fr-FR")
    try:
        page = context.new_page()
        page.add_init_script(RECORD_WHAT_IS_SHOWN)
        wire = Wire()
        page.route_web_socket("**/ws/sites/paris-15/display*", wire.handle)
        rereads: list[str] = []
        page.on(
            "request",
            lambda request: (
                rereads.append(request.url) if request.url.endswith(DISPLAY_STATE) else None
            ),
        )
        page.goto("/display/paris-15?autostart=1")
        expect(page.get_by_role("heading", level=1)).to_have_text("Mairie du 15e arrondissement")
        yield Screen(page, wire, rereads, server.base)
    finally:
        context.close()


def walk_in(base: str, headers: dict[str, str]) -> str:
    """A walk-in ticket issued now (forced: the tests run at any hour)."""
    response = httpx.post(
        f"{base}/api/v1/sites/paris-15/tickets",
        json={"service": "caf", "force_reason": "Tests run at any hour"},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["number"])


def call_next(base: str, headers: dict[str, str]) -> str:
    station = httpx.get(f"{base}/api/v1/sites/paris-15").json()["stations"][0]["id"]
    response = httpx.post(f"{base}/api/v1/stations/{station}/call-next", headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["number"])


def forged(seq: int, number: str, waiting: int) -> dict[str, Any]:
    """A display message that no server state ever had."""
    return {
        "type": "update",
        "seq": seq,
        "called": [
            {
                "number": number,
                "station": "Poste 9",
                "station_id": 999999,
                "service": "caf",
                "called_at": "2026-11-30T09:00:00+01:00",
                "status": "called",
            }
        ],
        "waiting": {"count": waiting, "eta_minutes": None, "by_service": {"caf": waiting}},
    }


def test_a_call_whose_message_was_lost_shows_once_the_next_message_reveals_the_gap(
    screen: Screen, server: Server, headers: dict[str, str]
) -> None:
    walk_in(server.base, headers)
    before = screen.settled()
    screen.wire.lose_next = True

    called = call_next(server.base, headers)
    screen.pump_until(lambda: bool(screen.wire.dropped))
    (lost,) = screen.wire.dropped
    expect(screen.page.locator(".call .number", has_text=called)).to_have_count(0)
    rereads_before_the_gap = list(screen.rereads)
    walk_in(server.base, headers)
    after = screen.settled()

    assert lost["seq"] == before["seq"] + 1
    assert lost["called"][0]["number"] == called
    assert after["seq"] == before["seq"] + 2
    assert rereads_before_the_gap == []
    expect(screen.first_call()).to_contain_text(called)
    assert len(screen.rereads) == 1


def test_a_message_jumping_ahead_makes_the_screen_read_the_true_state_and_go_on_from_it(
    screen: Screen, server: Server, headers: dict[str, str]
) -> None:
    walk_in(server.base, headers)
    called = call_next(server.base, headers)
    truth = screen.settled()
    expect(screen.first_call()).to_contain_text(called)

    with screen.page.expect_request(lambda request: request.url.endswith(DISPLAY_STATE)):
        screen.wire.slip_in(forged(truth["seq"] + 5, "Z901", 971))
    expect(screen.first_call()).to_contain_text(called)
    expect(screen.page.locator("#waiting-count")).to_have_text(str(truth["waiting"]["count"]))
    # The screen goes on from the true state: the server's next message is not a gap.
    walk_in(server.base, headers)
    after = screen.settled()

    assert after["seq"] == truth["seq"] + 1
    assert after["waiting"]["count"] == truth["waiting"]["count"] + 1
    assert [shown for shown in screen.shown() if "Z901" in shown or "| 971" in shown] == []
    assert len(screen.rereads) == 1


def test_when_the_state_cannot_be_read_again_the_screen_shows_the_message_that_jumped(
    screen: Screen, server: Server
) -> None:
    truth = screen.settled()

    def refuse(route: Route) -> None:
        route.abort()

    screen.page.route(f"**{DISPLAY_STATE}", refuse)
    screen.wire.slip_in(forged(truth["seq"] + 5, "Z902", 972))

    expect(screen.first_call()).to_contain_text("Z902")
    expect(screen.page.locator("#waiting-count")).to_have_text("972")
    assert len(screen.rereads) == 1


def test_a_message_seen_before_or_older_than_the_screen_changes_nothing(
    screen: Screen, server: Server, headers: dict[str, str]
) -> None:
    walk_in(server.base, headers)
    called = call_next(server.base, headers)
    truth = screen.settled()

    screen.wire.slip_in(forged(truth["seq"], "Z903", 973))
    screen.wire.slip_in(forged(truth["seq"] - 1, "Z904", 974))
    walk_in(server.base, headers)
    after = screen.settled()

    assert after["seq"] == truth["seq"] + 1
    expect(screen.first_call()).to_contain_text(called)
    assert [
        s for s in screen.shown() if "Z903" in s or "Z904" in s or s.endswith(("| 973", "| 974"))
    ] == []
    assert screen.rereads == []


def test_a_screen_whose_connection_lost_messages_then_closed_catches_up_on_reconnecting(
    screen: Screen, server: Server, headers: dict[str, str]
) -> None:
    screen.settled()
    snapshots = sum(m["type"] == "snapshot" for m in screen.wire.forwarded)
    screen.wire.lose_all = True
    walk_in(server.base, headers)
    called = call_next(server.base, headers)
    screen.pump_until(lambda: len(screen.wire.dropped) >= 1)
    expect(screen.page.locator(".call .number", has_text=called)).to_have_count(0)

    screen.wire.lose_all = False
    assert screen.wire.route is not None
    screen.wire.route.close(code=1011, reason="gone")
    expect(screen.page.locator("#offline")).to_be_visible()
    truth = screen.settled()

    expect(screen.page.locator("#offline")).to_be_hidden()
    expect(screen.first_call()).to_contain_text(called)
    assert sum(m["type"] == "snapshot" for m in screen.wire.forwarded) == snapshots + 1
    assert screen.wire.forwarded[-1]["seq"] == truth["seq"]


def test_a_reread_answered_after_a_newer_one_does_not_take_the_screen_back(
    screen: Screen, server: Server, headers: dict[str, str]
) -> None:
    screen.settled()
    held: list[tuple[Route, Any]] = []

    def answer_the_first_late(route: Route) -> None:
        if held:
            route.continue_()
        else:
            held.append((route, route.fetch()))  # the state as it is now, answered later

    screen.page.route(f"**{DISPLAY_STATE}", answer_the_first_late)
    screen.wire.lose_next = True
    walk_in(server.base, headers)
    screen.pump_until(lambda: bool(screen.wire.dropped))
    walk_in(server.base, headers)  # a gap: the first re-read, held
    screen.pump_until(lambda: bool(held))
    walk_in(server.base, headers)  # a gap still: the second re-read, answered at once
    newest = screen.settled()
    read = screen.answers_read()
    ((late, older),) = held
    late.fulfill(response=older)
    screen.pump_until(lambda: screen.answers_read() > read)

    assert len(screen.rereads) == 2
    expect(screen.page.locator("#waiting-count")).to_have_text(str(newest["waiting"]["count"]))
