"""The lobby screen's options and closed hours, in Chromium: wrong options are ignored and
never blank the screen (and the console names them, never their values); a mangled
screen key shows the public queue, uncounted, and says the address is wrong; while the
mairie is closed, the screen gives no waiting estimate but when it opens next."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, WebSocketRoute, expect

from tests.servers import Server


@pytest.fixture
def context(browser: Browser, server: Server) -> Iterator[BrowserContext]:
    opened = browser.new_context(
        base_url=server.base, locale="fr-FR", viewport={"width": 1366, "height": 768}
    )
    try:
        yield opened
    finally:
        opened.close()


def a_call(number: str, station: str, station_id: int, service: str = "caf") -> dict[str, Any]:
    return {
        "number": number,
        "station": station,
        "station_id": station_id,
        "service": service,
        "called_at": "2026-11-30T09:00:00+01:00",
        "status": "done",
    }


def a_morning(**more: Any) -> dict[str, Any]:
    """Eight calls of a morning at two stations, 12 waiting, as the websocket gives it."""
    calls = [a_call(f"A10{n}", f"Poste {n % 2 + 1}", n % 2 + 1) for n in range(8, 0, -1)]
    return {
        "type": "snapshot",
        "seq": 1,
        "called": calls,
        "waiting": {"count": 12, "eta_minutes": [22, 72], "by_service": {"caf": 12}},
        **more,
    }


def screen_showing(context: BrowserContext, state: dict[str, Any], address: str) -> Page:
    """A screen whose websocket gives `state` and nothing else (no server on the line)."""
    page = context.new_page()

    def serve(route: WebSocketRoute) -> None:
        route.send(json.dumps(state))

    page.route_web_socket("**/ws/sites/paris-15/display*", serve)
    page.goto(address)
    expect(page.locator("#waiting-count")).to_have_text(str(state["waiting"]["count"]))
    return page


CLOSED_TODAY = {"open": False, "opens_at": "2026-12-01T13:30:00+01:00", "today": True}
CLOSED_TILL_MONDAY = {"open": False, "opens_at": "2026-12-07T08:30:00+01:00", "today": False}
CLOSED_FOR_LONG = {"open": False, "opens_at": None, "today": False}


@pytest.mark.parametrize(
    ("opening", "words"),
    [
        (CLOSED_TODAY, "Mairie fermée en ce moment. Ouverture aujourd'hui à 13\u00a0h\u00a030."),
        (
            CLOSED_TILL_MONDAY,
            "Mairie fermée en ce moment. Prochaine ouverture : lundi 7\u00a0décembre"
            " à 8\u00a0h\u00a030.",
        ),
        (CLOSED_FOR_LONG, "Mairie fermée en ce moment."),
    ],
)
def test_while_the_mairie_is_closed_the_screen_gives_no_estimate_but_when_it_opens(
    context: BrowserContext, opening: dict[str, Any], words: str
) -> None:
    page = screen_showing(context, a_morning(opening=opening), "/display/paris-15?sound=0")

    expect(page.locator("#waiting-eta")).to_have_text(words)
    expect(page.locator("#waiting-eta")).not_to_contain_text("Attente estimée")


def test_an_open_mairie_keeps_its_estimate(context: BrowserContext) -> None:
    opening = {"open": True, "opens_at": None, "today": False}
    page = screen_showing(context, a_morning(opening=opening), "/display/paris-15?sound=0")

    expect(page.locator("#waiting-eta")).to_have_text(
        "Attente estimée pour un nouveau ticket : entre 20\u00a0minutes et 1\u00a0h\u00a015"
    )


def test_the_screen_learns_the_mairie_closed_within_a_minute(context: BrowserContext) -> None:
    """Closing time changes nothing in the queue, so no message says it: the screen asks."""
    page = context.new_page()
    page.clock.install()
    page.route_web_socket(
        "**/ws/sites/paris-15/display*", lambda route: route.send(json.dumps(a_morning()))
    )

    def closed(route: Route) -> None:
        body = {**a_morning(), "opening": CLOSED_TILL_MONDAY}
        del body["type"]
        route.fulfill(json=body)

    page.route("**/api/v1/sites/paris-15/display", closed)
    page.goto("/display/paris-15?sound=0")
    eta = page.locator("#waiting-eta")
    expect(eta).to_contain_text("Attente estimée pour un nouveau ticket")

    page.clock.run_for(61_000)

    expect(eta).to_contain_text("Mairie fermée en ce moment. Prochaine ouverture : lundi")


def test_wrong_options_are_ignored_and_named_in_the_console_without_their_values(
    context: BrowserContext,
) -> None:
    said: list[str] = []
    page = context.new_page()
    page.on("console", lambda message: said.append(message.text))
    address = (
        "/display/paris-15?stations=abc,,&services=nulle-demarche&rows=beaucoup&page=-2"
        "&kiosque=peut-etre&sound=0"
    )

    def serve(route: WebSocketRoute) -> None:
        route.send(json.dumps(a_morning()))

    page.route_web_socket("**/ws/sites/paris-15/display*", serve)
    page.goto(address)

    # Not blank: the six rows of the default, the count of every démarche.
    expect(page.locator(".call")).to_have_count(6)
    expect(page.locator("#latest .call .number")).to_contain_text("A108")
    expect(page.locator("#waiting-count")).to_have_text("12")
    expect(page.locator("body")).not_to_have_class(re.compile("kiosk"))
    # The démarche codes are checked once the catalog came.
    for _ in range(50):
        if any("« services »" in line for line in said):
            break
        page.wait_for_timeout(100)
    warnings = " ".join(said)
    for name in ("stations", "services", "rows", "kiosque"):
        assert f"« {name} »" in warnings, warnings
    for value in ("abc", "nulle-demarche", "beaucoup", "peut-etre"):
        assert value not in warnings, warnings


def test_ids_and_codes_this_mairie_does_not_have_leave_a_filter_with_those_it_has(
    context: BrowserContext, server: Server
) -> None:
    stations = httpx.get(f"{server.base}/api/v1/sites/paris-15").json()["stations"]
    first, second = stations[0], stations[1]
    state = a_morning()
    for index, call in enumerate(state["called"]):
        call["station_id"], call["station"] = [
            (first["id"], first["name"]),
            (second["id"], second["name"]),
        ][index % 2]
    address = f"/display/paris-15?stations={second['id']},999999&services=caf,xyz&sound=0"

    page = screen_showing(context, state, address)

    expect(page.locator(".call .station")).to_have_count(4)
    expect(page.locator(".call .station").first).to_have_text(second["name"])
    assert set(page.locator(".call .station").all_text_contents()) == {second["name"]}
    expect(page.locator("#waiting-count")).to_have_text("12")
    # None it has: no filter, rather than a blank screen and nobody waiting.
    unfiltered = screen_showing(
        context, state, "/display/paris-15?stations=999999&services=xyz&sound=0"
    )
    expect(unfiltered.locator(".call")).to_have_count(6)
    expect(unfiltered.locator("#waiting-count")).to_have_text("12")


def test_a_mangled_screen_key_shows_the_queue_uncounted_and_says_the_address_is_wrong(
    context: BrowserContext, server: Server, headers: dict[str, str]
) -> None:
    base = server.base
    httpx.post(  # the server runs on the real clock: the mairie may be closed
        f"{base}/api/v1/sites/paris-15/tickets",
        json={"service": "caf", "force_reason": "Tests run at any hour"},
        headers=headers,
    )
    station = httpx.get(f"{base}/api/v1/sites/paris-15").json()["stations"][0]["id"]
    called = httpx.post(f"{base}/api/v1/stations/{station}/call-next", headers=headers)
    assert called.status_code == 200, called.text
    page = context.new_page()
    said: list[str] = []
    page.on("console", lambda message: said.append(message.text))

    # A key copied with the full stop of the sentence it ended.
    page.goto("/display/paris-15?ecran=Zx8_-kq0Zx8_-kq0Zx8_-kq0Zx8_-kq0.")

    expect(page.locator("#latest .call .number")).to_contain_text(called.json()["number"])
    expect(page.locator("#bad-key")).to_be_visible()
    expect(page.locator("#bad-key")).to_contain_text("L'adresse de cet écran est incorrecte")
    expect(page.locator("#unpaired")).to_be_hidden()
    queue = httpx.get(f"{base}/api/v1/sites/paris-15/queue", headers=headers).json()
    assert queue["screens"] == 0
    assert not any("Zx8_" in line for line in said)


def test_a_screen_whose_address_says_english_speaks_english_throughout(
    context: BrowserContext,
) -> None:
    """`?lang=en` in the screen's address: the page's texts, the wait, the next opening
    and the clock in English, from the catalogs."""
    page = screen_showing(context, a_morning(), "/display/paris-15?lang=en&sound=0")

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#latest-title")).to_have_text("New call")
    expect(page.locator("#waiting-people")).to_have_text("people")
    expect(page.locator("#waiting-eta")).to_have_text(
        "Expected wait for a new ticket: between 20\u00a0minutes and 1\u00a0h\u00a015"
    )
    expect(page.locator("#clock")).to_have_text(re.compile(r"^\d{1,2}:\d{2}$"))
    expect(page).to_have_title("Calls – Mairie du 15e arrondissement")

    closed = screen_showing(
        context, a_morning(opening=CLOSED_TILL_MONDAY), "/display/paris-15?lang=en&sound=0"
    )
    expect(closed.locator("#waiting-eta")).to_have_text(
        "The town hall is closed at the moment. It opens next on Monday 7\u00a0December at 8:30."
    )
    soon = a_morning()
    soon["waiting"]["eta_minutes"] = [21, 27]
    short = screen_showing(context, soon, "/display/paris-15?lang=en&sound=0")
    expect(short.locator("#waiting-eta")).to_contain_text("between 20 and 30\u00a0minutes")


def test_a_screen_in_an_english_browser_stays_in_french_unless_its_address_says(
    browser: Browser, server: Server
) -> None:
    english_browser = browser.new_context(base_url=server.base, locale="en-GB")
    try:
        page = screen_showing(english_browser, a_morning(), "/display/paris-15?sound=0")
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        expect(page.locator("#latest-title")).to_have_text("Nouvel appel")
        expect(page.locator("#waiting-eta")).to_contain_text("Attente estimée")
    finally:
        english_browser.close()


ROWS_CUT = """() => {
  const box = document.querySelector('.history').getBoundingClientRect();
  const rows = [...document.querySelectorAll('#calls .call')].filter((row) => !row.hidden);
  return { shown: rows.length, cut: rows.filter((row) =>
    row.getBoundingClientRect().bottom > box.bottom + 1).length };
}"""


@pytest.mark.parametrize("size", [(1920, 1080), (1366, 768)])
def test_a_banner_leaves_out_the_previous_calls_it_has_no_room_for_never_half_a_row(
    browser: Browser, server: Server, size: tuple[int, int]
) -> None:
    opened = browser.new_context(
        base_url=server.base, locale="fr-FR", viewport={"width": size[0], "height": size[1]}
    )
    try:
        page = screen_showing(opened, a_morning(), "/display/paris-15?sound=0&ecran=bad.key")
        expect(page.locator("#bad-key")).to_be_visible()
        rows = page.evaluate(ROWS_CUT)
        assert rows["cut"] == 0, rows
        assert rows["shown"] >= 3, rows
    finally:
        opened.close()
