"""The lobby screen as people in the waiting room see it: the queue shows as the page
loads, with no click; the latest call holds one line at TV, monitor and portrait sizes;
the lower half carries the previous calls, the wait in words and the clock, and the
arrival QR code once the server gives one; the main figures keep a 7:1 contrast; and the
sound is asked for once, remembered, or switched on by the kiosk flag."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, WebSocketRoute, expect

from tests.e2e.axe import Axe, describe
from tests.e2e.conftest import CHROMIUM_ARGS
from tests.servers import Server

MANAGER = "responsable.paris15@guichet.example.org"
SCREENS = [(1920, 1080), (1366, 768), (1080, 1920)]
SOUND_HELD = "--autoplay-policy=document-user-activation-required"
KIOSK = "--autoplay-policy=no-user-gesture-required"
# The texts the screen gives the speech synthesis, kept for the test to read.
RECORD_SPEECH = """
window.spoken = [];
if (window.speechSynthesis) {
  window.speechSynthesis.speak = (utterance) => {
    window.spoken.push(utterance.text);
    utterance.dispatchEvent(new Event("end"));
  };
}
"""
# Each element's text colour against the first opaque background behind it.
CONTRAST = """(selector) => [...document.querySelectorAll(selector)].map((element) => {
  const rgb = (value) => value.match(/[\\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => {
    const [R, G, B] = [r, g, b].map((c) => {
      c /= 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * R + 0.7152 * G + 0.0722 * B;
  };
  let behind = element;
  while (behind && rgb(getComputedStyle(behind).backgroundColor)[3] === 0) {
    behind = behind.parentElement;
  }
  const back = rgb(getComputedStyle(behind || document.documentElement).backgroundColor);
  const [a, b] = [luminance(rgb(getComputedStyle(element).color)), luminance(back)];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
})"""
LATEST = "document.querySelector('#latest .call')"
BOX = """(selector) => {
  const box = document.querySelector(selector).getBoundingClientRect();
  return { top: box.top, bottom: box.bottom, left: box.left, right: box.right,
           height: box.height, width: box.width };
}"""


@pytest.fixture(scope="module")
def stations(server: Server) -> list[int]:
    body = httpx.get(f"{server.base}/api/v1/sites/paris-15").json()
    return [station["id"] for station in body["stations"]]


def walk_in(base: str, headers: dict[str, str]) -> None:
    response = httpx.post(  # the server runs on the real clock: the mairie may be closed
        f"{base}/api/v1/sites/paris-15/tickets",
        json={"service": "caf", "force_reason": "Tests run at any hour"},
        headers=headers,
    )
    assert response.status_code == 201, response.text


def call_next(base: str, headers: dict[str, str], station: int) -> str:
    response = httpx.post(f"{base}/api/v1/stations/{station}/call-next", headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["number"])


def a_call(number: str, station: str, called_at: str, status: str = "called") -> dict[str, Any]:
    return {
        "number": number,
        "station": station,
        "station_id": 1,
        "service": "caf",
        "called_at": called_at,
        "status": status,
    }


def snapshot(calls: list[dict[str, Any]], waiting: int, **more: Any) -> dict[str, Any]:
    return {
        "type": "snapshot",
        "seq": 1,
        "called": calls,
        "waiting": {"count": waiting, "eta_minutes": [22, 72], "by_service": {"caf": waiting}},
        **more,
    }


def a_busy_morning(station_of_the_latest: str = "Poste 3", **more: Any) -> dict[str, Any]:
    """Seven calls of a morning, the latest one (A107) a second ago, 12 waiting."""
    latest = a_call("A107", station_of_the_latest, "2999-01-01T09:00:00+01:00")
    earlier = [
        a_call(f"A10{n}", f"Poste {n}", f"2026-11-30T08:5{n}:00+01:00", "done")
        for n in range(6, 0, -1)
    ]
    return snapshot([latest, *earlier], 12, **more)


def screen_showing(context: BrowserContext, state: dict[str, Any], address: str) -> Page:
    """A screen whose websocket gives `state` and nothing else (no server on the line)."""
    page = context.new_page()

    def serve(route: WebSocketRoute) -> None:
        route.send(json.dumps(state))

    page.route_web_socket("**/ws/sites/paris-15/display*", serve)
    page.goto(address)
    expect(page.locator("#waiting-count")).to_have_text(str(state["waiting"]["count"]))
    return page


def box(page: Page, selector: str) -> dict[str, float]:
    found: dict[str, float] = page.evaluate(BOX, selector)
    return found


def test_the_queue_shows_as_the_page_loads_with_no_click(
    browser: Browser, server: Server, headers: dict[str, str], stations: list[int], axe: Axe
) -> None:
    for _ in range(4):
        walk_in(server.base, headers)
    called = [call_next(server.base, headers, station) for station in stations[:3]]
    context = browser.new_context(
        base_url=server.base, locale="fr-FR", viewport={"width": 1920, "height": 1080}
    )
    page = context.new_page()

    page.goto("/display/paris-15")

    expect(page.get_by_role("heading", level=1)).to_have_text("Mairie du 15e arrondissement")
    latest = page.locator("#latest .call")
    expect(latest.locator(".number")).to_contain_text(called[-1])
    expect(latest.locator(".station")).to_have_text("Poste 3")
    truth = httpx.get(f"{server.base}/api/v1/sites/paris-15/display").json()
    expect(page.locator("#calls .call .number")).to_have_count(min(6, len(truth["called"])) - 1)
    expect(page.locator("#calls .call").first).to_contain_text(called[1])
    expect(page.locator("#calls .call").nth(1)).to_contain_text(called[0])
    expect(page.locator("#waiting-count")).to_have_text(str(truth["waiting"]["count"]))
    # The server runs on the real clock: while the mairie is closed, no estimate.
    opened = truth["opening"]["open"]
    said = "Attente estimée pour un nouveau ticket" if opened else "Mairie fermée"
    expect(page.locator("#waiting-eta")).to_contain_text(said)
    expect(page.locator("#clock")).to_have_text(re.compile(r"^\d{1,2}\u00a0h\u00a0\d{2}$"))
    expect(page.get_by_role("button", name="Activer le son")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Démarrer"))).to_have_count(0)
    expect(page.locator("#arrival")).to_be_hidden()
    violations = axe(page)
    assert not violations, describe(violations)
    context.close()


@pytest.mark.parametrize(("width", "height"), SCREENS)
@pytest.mark.parametrize("station", ["Poste 3", "Poste double accessible 12"])
def test_the_latest_call_holds_one_line_and_the_lower_half_is_used(
    browser: Browser, server: Server, width: int, height: int, station: str
) -> None:
    context = browser.new_context(
        base_url=server.base, locale="fr-FR", viewport={"width": width, "height": height}
    )
    page = screen_showing(context, a_busy_morning(station), "/display/paris-15?sound=0")

    expect(page.locator("#latest .station")).to_have_text(station)
    number, place = box(page, "#latest .number"), box(page, "#latest .station")
    line = box(page, "#latest .call")
    assert abs(number["top"] - place["top"]) < 2, (number, place)  # one line
    assert line["height"] < 1.5 * number["height"], line
    assert place["right"] <= line["right"] + 1, (place, line)  # nothing cut at the end
    short_side = min(width, height)
    size = float(page.evaluate(f"parseFloat(getComputedStyle({LATEST}).fontSize)"))
    assert size >= (0.09 if station == "Poste 3" else 0.04) * short_side, size
    overflow = page.evaluate(
        "[document.documentElement.scrollWidth - innerWidth,"
        " document.documentElement.scrollHeight - innerHeight]"
    )
    assert overflow == [0, 0]
    expect(page.locator("#calls .call")).to_have_count(5)
    for shown in ("#calls .call:last-child", "#waiting-count", "#waiting-eta", "#clock"):
        found = box(page, shown)
        assert found["bottom"] <= height, (shown, found)
        assert found["right"] <= width, (shown, found)
    assert box(page, "#calls .call:last-child")["bottom"] > height / 2
    assert box(page, "#clock")["bottom"] > height / 2
    assert box(page, "#waiting-count")["height"] >= 0.08 * short_side
    assert box(page, "#calls .call:last-child")["height"] >= 0.055 * short_side
    expect(page.locator("#waiting-eta")).to_have_text(
        "Attente estimée pour un nouveau ticket : entre 20\u00a0minutes et 1\u00a0h\u00a015"
    )
    context.close()


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1366, 900)])
def test_the_screen_stays_within_a_small_window_with_its_button_big_enough(
    browser: Browser, server: Server, width: int, height: int, axe: Axe
) -> None:
    context = browser.new_context(
        base_url=server.base, locale="fr-FR", viewport={"width": width, "height": height}
    )
    page = screen_showing(context, a_busy_morning(), "/display/paris-15")

    assert page.evaluate("document.documentElement.scrollWidth - innerWidth") == 0
    button = box(page, "#sound")
    assert button["height"] >= 44, button
    assert button["width"] >= 44, button
    violations = axe(page)
    assert not violations, describe(violations)
    context.close()


def test_the_main_figures_keep_a_contrast_of_seven_to_one_and_a_new_call_says_so_in_words(
    browser: Browser, server: Server
) -> None:
    context = browser.new_context(base_url=server.base, viewport={"width": 1920, "height": 1080})
    state = a_busy_morning()
    state["called"][1] = a_call("A106", "Poste 6", "2999-01-01T08:59:59+01:00")
    page = screen_showing(context, state, "/display/paris-15?sound=0")

    for figure in (
        "#latest .number",
        "#latest .station",
        "#calls .number",
        "#calls .station",
        "#waiting-count",
        "#clock",
        "#latest-title",
    ):
        ratios = page.evaluate(CONTRAST, figure)
        assert ratios, figure
        assert min(ratios) >= 7, (figure, ratios)
    fresh = page.locator("#calls .call.fresh")
    expect(fresh).to_have_count(1)
    expect(fresh.locator(".fresh-label")).to_be_visible()
    expect(fresh.locator(".fresh-label")).to_have_text("nouvel appel")
    expect(page.locator("#calls .call").nth(1).locator(".fresh-label")).to_be_hidden()
    context.close()


def test_the_arrival_qr_code_shows_once_the_server_gives_one(
    browser: Browser, server: Server
) -> None:
    code = (
        "data:image/svg+xml;utf8,"
        "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 2 2'>"
        "<rect width='1' height='1'/></svg>"
    )
    for width, height in SCREENS:
        context = browser.new_context(
            base_url=server.base, viewport={"width": width, "height": height}
        )
        page = screen_showing(
            context,
            a_busy_morning(arrival={"qr": code, "code": "042917"}),
            "/display/paris-15?sound=0",
        )

        expect(page.get_by_role("img", name="Code QR pour signaler votre arrivée")).to_be_visible()
        # The digits too, for a phone that cannot read the QR code.
        expect(page.locator("#arrival-digits")).to_have_text("042\u00a0917")
        qr = box(page, "#arrival-code")
        digits = box(page, "#arrival-digits")
        assert digits["bottom"] <= height, digits
        assert qr["bottom"] <= height, qr
        assert qr["right"] <= width, qr
        assert qr["width"] >= 0.2 * min(width, height), qr
        expect(page.locator("#latest .station")).to_have_text("Poste 3")
        assert page.evaluate("document.documentElement.scrollWidth - innerWidth") == 0
        context.close()


@pytest.fixture
def held_back(browser: Browser, chromium: str) -> Iterator[Browser]:
    """A Chromium that allows sound only after a gesture in the page, as browsers do."""
    launched = browser.browser_type.launch(
        executable_path=chromium, headless=True, args=[*CHROMIUM_ARGS, SOUND_HELD]
    )
    try:
        yield launched
    finally:
        launched.close()


@pytest.fixture
def kiosk(browser: Browser, chromium: str) -> Iterator[Browser]:
    """Chromium started as the README says for a kiosk: sound without a gesture."""
    launched = browser.browser_type.launch(
        executable_path=chromium, headless=True, args=[*CHROMIUM_ARGS, KIOSK]
    )
    try:
        yield launched
    finally:
        launched.close()


def test_the_sound_choice_is_remembered_and_the_next_load_asks_for_a_click_only_if_needed(
    held_back: Browser, server: Server
) -> None:
    context = held_back.new_context(base_url=server.base)
    first = screen_showing(context, a_busy_morning(), "/display/paris-15")
    expect(first.locator("#sound-note")).to_be_hidden()

    first.get_by_role("button", name="Activer le son").click()
    expect(first.get_by_role("button", name="Couper le son")).to_be_visible()
    first.close()
    # The next load, in a tab of the same browser: no gesture in it yet.
    page = screen_showing(context, a_busy_morning(), "/display/paris-15")

    note = page.locator("#sound-note")
    expect(page.locator("#latest .number")).to_contain_text("A107")  # shown, no click
    expect(note).to_have_text("Le son reprendra au premier clic.")
    expect(page.get_by_role("button", name="Activer le son")).to_be_visible()
    page.keyboard.press("Shift")  # any gesture, anywhere
    expect(page.get_by_role("button", name="Couper le son")).to_be_visible()
    expect(note).to_be_hidden()

    page.get_by_role("button", name="Couper le son").click()
    expect(page.get_by_role("button", name="Activer le son")).to_be_visible()
    page.close()
    page = screen_showing(context, a_busy_morning(), "/display/paris-15")
    expect(page.locator("#latest .number")).to_contain_text("A107")
    expect(page.get_by_role("button", name="Activer le son")).to_be_visible()
    expect(page.locator("#sound-note")).to_be_hidden()
    context.close()


def test_a_kiosk_screen_announces_calls_with_no_click_at_all(
    kiosk: Browser, server: Server, headers: dict[str, str], stations: list[int]
) -> None:
    context = kiosk.new_context(base_url=server.base)
    context.add_init_script(RECORD_SPEECH)
    page = context.new_page()
    page.goto("/display/paris-15?kiosque=1")
    expect(page.get_by_role("button", name="Couper le son")).to_be_visible()
    expect(page.locator("#sound-note")).to_be_hidden()
    walk_in(server.base, headers)

    called = call_next(server.base, headers, stations[1])

    expect(page.locator("#latest .number")).to_contain_text(called)
    spoken = f"Ticket {called[0]} {int(called[1:])}, poste 2"
    deadline = time.monotonic() + 10
    while spoken not in page.evaluate("window.spoken") and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert page.evaluate("window.spoken") == [spoken]
    context.close()


def test_a_screen_in_english_announces_calls_in_english(
    kiosk: Browser, server: Server, headers: dict[str, str], stations: list[int]
) -> None:
    context = kiosk.new_context(base_url=server.base)
    context.add_init_script(
        RECORD_SPEECH.replace("utterance.text", "[utterance.text, utterance.lang]")
    )
    page = context.new_page()
    page.goto("/display/paris-15?kiosque=1&lang=en")
    expect(page.get_by_role("button", name="Turn sound off")).to_be_visible()
    walk_in(server.base, headers)

    called = call_next(server.base, headers, stations[1])

    expect(page.locator("#latest .fresh-label")).to_have_text("new call")
    spoken = [f"Ticket {called[0]} {int(called[1:])}, poste 2", "en-GB"]
    deadline = time.monotonic() + 10
    while spoken not in page.evaluate("window.spoken") and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert page.evaluate("window.spoken") == [spoken]
    context.close()


def test_a_screen_without_sound_has_no_sound_button(browser: Browser, server: Server) -> None:
    context = browser.new_context(base_url=server.base)
    page = screen_showing(context, a_busy_morning(), "/display/paris-15?sound=0&kiosque=1")

    expect(page.locator("#latest .number")).to_contain_text("A107")
    expect(page.locator("#sound")).to_be_hidden()
    context.close()


@pytest.mark.parametrize(
    ("eta", "words"),
    [
        ([0, 1], "moins de 10\u00a0minutes"),
        ([0, 38], "moins de 40\u00a0minutes"),
        ([21, 24], "environ 25\u00a0minutes"),
        ([22, 26], "entre 20 et 30\u00a0minutes"),
        ([12, 41], "entre 10 et 45\u00a0minutes"),
        ([45, 60], "entre 45\u00a0minutes et 1\u00a0heure"),
        ([61, 150], "entre 1\u00a0heure et 2\u00a0h\u00a030"),
        ([125, 190], "plus de 2\u00a0heures"),
    ],
)
def test_the_wait_is_said_in_words_rounded_to_five_minutes(
    browser: Browser, server: Server, eta: list[int], words: str
) -> None:
    context = browser.new_context(base_url=server.base)
    state = a_busy_morning()
    state["waiting"]["eta_minutes"] = eta
    page = screen_showing(context, state, "/display/paris-15?sound=0")

    expect(page.locator("#waiting-eta")).to_have_text(
        f"Attente estimée pour un nouveau ticket : {words}"
    )
    context.close()
