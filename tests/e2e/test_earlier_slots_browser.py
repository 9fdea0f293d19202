"""Earlier slots in the browser, with the keyboard only, on a 390 px phone: a resident
booked late at the 15e goes from the private page to "Un rendez-vous plus tôt", asks to be
told, sees the slot held for them (with the moment it is held until) and takes it, and the
appointment is moved; another is offered one, leaves it to the next person, then stops
looking. No horizontal overflow at 390 and 320 px, no target under 44 px, a visible focus
on each button pressed, and nothing serious for axe-core at each step.

The server offers every second (GUICHET_OFFER_EVERY_SECONDS=1). Asking offers at once
only the free slots of the day it is asked; a slot freed by a cancellation is offered at
once whatever the hour. So each scenario cancels an appointment booked by somebody else on
an earlier day, after asking: an offer comes even once the day's own slots are over."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, ViewportSize, expect

from app.i18n import formats
from tests.e2e.axe import Axe
from tests.e2e.test_tracking_page import looks_right
from tests.screenshots import overflow_of
from tests.servers import Server, free_port

PARIS = ZoneInfo("Europe/Paris")
MAIRIE = "paris-15"
SERVICE = "caf"
PHONE: ViewportSize = {"width": 390, "height": 844}
NARROW: ViewportSize = {"width": 320, "height": 640}
MAX_TABS = 80
OFFER_WITHIN_SECONDS = 30
ASK = "Me prévenir d'un créneau plus tôt"
HELD = "Un créneau plus tôt vous est réservé"
STOP = "Ne plus chercher de créneau plus tôt"


@pytest.fixture(scope="module")
def offering(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A demo `guichet serve` of this module's own, that makes its offers every second."""
    folder = tmp_path_factory.mktemp("earlier")
    environment = {"GUICHET_LOG_LEVEL": "WARNING", "GUICHET_OFFER_EVERY_SECONDS": "1"}
    server = Server(folder, free_port(), environment, demo=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def phone(browser: Browser, offering: Server) -> Iterator[Page]:
    context = browser.new_context(base_url=offering.base, locale="fr-FR", viewport=PHONE)
    try:
        yield context.new_page()
    finally:
        context.close()


def book(base: str, start: str, name: str) -> dict[str, Any]:
    """An appointment at the 15e, booked through the public API with an email."""
    booked = httpx.post(
        f"{base}/api/v1/appointments",
        json={
            "site": MAIRIE,
            "service": SERVICE,
            "start": start,
            "name": name,
            "email": f"plus-tot.{uuid.uuid4().hex[:8]}@example.org",
        },
        timeout=30,
    )
    assert booked.status_code == 201, booked.text
    appointment: dict[str, Any] = booked.json()
    return appointment


def late_and_earlier(base: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A resident's appointment on the last slot of the fourth day with free slots from
    the day after tomorrow, and somebody else's on the first free slot of the first such
    day (far enough ahead for an offer of it to be held a while, even at night)."""
    today = datetime.now(PARIS).date()
    free = httpx.get(
        f"{base}/api/v1/sites/{MAIRIE}/availability",
        params={
            "service": SERVICE,
            "from": str(today + timedelta(days=2)),
            "to": str(today + timedelta(days=20)),
        },
        timeout=30,
    )
    free.raise_for_status()
    by_day: dict[date, list[str]] = {}
    for slot in free.json()["slots"]:
        by_day.setdefault(datetime.fromisoformat(slot["start"]).date(), []).append(slot["start"])
    days = sorted(by_day)
    assert len(days) >= 2, f"too few days with free slots: {days}"
    late_day = days[min(3, len(days) - 1)]
    mine = book(base, by_day[late_day][-1], "Marie Curie")
    other = book(base, by_day[days[0]][0], "Pierre Curie")
    return mine, other


def appointment_of(base: str, token: str) -> dict[str, Any]:
    answer = httpx.get(f"{base}/api/v1/appointments/{token}", timeout=30)
    answer.raise_for_status()
    found: dict[str, Any] = answer.json()
    return found


def cancel(base: str, token: str) -> None:
    answer = httpx.post(f"{base}/api/v1/appointments/{token}/cancel", timeout=30)
    assert answer.status_code == 200, answer.text


def tab_to(page: Page, target: Locator) -> None:
    """Press Tab until `target` has the focus, as someone without a mouse would."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{target} never received the focus with Tab")


def press(page: Page, target: Locator) -> None:
    """Tab to `target`, see that the focus shows on it, and press Enter."""
    tab_to(page, target)
    ring = target.evaluate(
        """element => {
          const style = getComputedStyle(element);
          return {
            visible: element.matches(":focus-visible"),
            outline: style.outlineStyle === "none" ? 0 : parseFloat(style.outlineWidth),
            shadow: style.boxShadow,
          };
        }"""
    )
    assert ring["visible"], f"{target}: no :focus-visible after Tab"
    assert ring["outline"] >= 2 or ring["shadow"] != "none", f"{target}: focus not shown {ring}"
    page.keyboard.press("Enter")


def checked(page: Page, axe: Axe) -> None:
    """Right at 390 px (overflow, targets, axe), and not wider than the window at 320 px."""
    looks_right(page, axe)
    page.set_viewport_size(NARROW)
    try:
        assert overflow_of(page) == "no", f"{page.url} at 320 px: {overflow_of(page)}"
    finally:
        page.set_viewport_size(PHONE)


def notice(page: Page) -> Locator:
    return page.locator("main .notice[role=status]")


def wait_for_offer(page: Page) -> None:
    """Reload the page until it shows the slot held, for `OFFER_WITHIN_SECONDS` at most."""
    deadline = time.monotonic() + OFFER_WITHIN_SECONDS
    heading = page.get_by_role("heading", level=2, name=HELD)
    while time.monotonic() < deadline:
        page.reload()
        if heading.count():
            return
        page.wait_for_timeout(500)
    raise AssertionError(f"no slot held within {OFFER_WITHIN_SECONDS} s on {page.url}")


def plain(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").split())


def ask(page: Page, axe: Axe) -> None:
    """On the page of earlier slots: ask, with no day given, and see it noted."""
    expect(page.get_by_role("heading", level=1)).to_have_text("Un rendez-vous plus tôt")
    expect(page.get_by_label("Seulement avant le (facultatif)")).to_have_value("")
    checked(page, axe)
    press(page, page.get_by_role("button", name=ASK))
    expect(notice(page)).to_have_text(
        "C'est noté : nous vous prévenons dès qu'un créneau plus tôt se libère."
    )
    expect(page.locator("main")).to_contain_text("Nous cherchons pour vous un créneau plus tôt.")
    expect(page.locator("#arreter")).to_be_visible()
    checked(page, axe)


def offer_shown(page: Page, base: str, token: str, axe: Axe) -> dict[str, Any]:
    """The slot held, as the page says it and as the API has it."""
    wait_for_offer(page)
    offer: dict[str, Any] = appointment_of(base, token)["offer"]
    assert offer is not None
    start = datetime.fromisoformat(offer["start"]).astimezone(PARIS)
    until = datetime.fromisoformat(offer["expires_at"]).astimezone(PARIS)
    section = page.locator("section.offer")
    assert plain(section.locator(".offer-when").inner_text()) == plain(formats.moment(start))
    assert f"jusqu'au {plain(formats.moment(until))}" in plain(section.inner_text())
    expect(page.get_by_role("button", name="Prendre ce créneau")).to_be_visible()
    expect(page.get_by_role("button", name="Non merci, garder mon rendez-vous")).to_be_visible()
    expect(page.get_by_role("heading", name="Ne plus recevoir de propositions")).to_be_visible()
    checked(page, axe)
    return offer


def test_a_resident_asks_for_an_earlier_slot_and_takes_the_one_held(
    phone: Page, offering: Server, axe: Axe
) -> None:
    page, base = phone, offering.base
    mine, other = late_and_earlier(base)
    token = mine["token"]
    page.goto(f"/rendez-vous/{token}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Votre rendez-vous")
    checked(page, axe)

    tab_to(page, page.get_by_role("link", name=ASK))
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/rendez-vous/{token}/plus-tot")
    ask(page, axe)
    cancel(base, other["token"])  # a slot frees up before Marie's

    offer = offer_shown(page, base, token, axe)
    press(page, page.get_by_role("button", name="Prendre ce créneau"))

    page.wait_for_url(f"**/rendez-vous/{token}?deplace=1")
    expect(page.get_by_role("heading", level=1)).to_have_text("Votre rendez-vous")
    expect(notice(page)).to_have_text("Votre rendez-vous a été déplacé.")
    checked(page, axe)
    now = appointment_of(base, token)
    assert now["status"] == "booked"
    assert now["start"] == offer["start"]
    assert datetime.fromisoformat(now["start"]) < datetime.fromisoformat(mine["start"])
    assert now["offer"] is None
    assert now["waitlist"] is None


def test_a_resident_leaves_the_slot_to_the_next_person_then_stops_looking(
    phone: Page, offering: Server, axe: Axe
) -> None:
    page, base = phone, offering.base
    mine, other = late_and_earlier(base)
    token = mine["token"]
    page.goto(f"/rendez-vous/{token}/plus-tot")
    ask(page, axe)
    cancel(base, other["token"])

    offer_shown(page, base, token, axe)
    press(page, page.get_by_role("button", name="Non merci, garder mon rendez-vous"))

    page.wait_for_url(f"**/rendez-vous/{token}/plus-tot?laisse=1")
    expect(notice(page)).to_have_text(
        "Ce créneau est laissé à la personne suivante. Nous continuons à chercher."
    )
    expect(page.get_by_role("heading", level=2, name=HELD)).to_have_count(0)
    expect(page.locator("main")).to_contain_text("Nous cherchons pour vous un créneau plus tôt.")
    checked(page, axe)
    assert appointment_of(base, token)["offer"] is None

    press(page, page.get_by_role("button", name=STOP))
    page.wait_for_url(f"**/rendez-vous/{token}/plus-tot?arrete=1")
    expect(notice(page)).to_have_text(
        "C'est noté : vous ne recevrez plus de proposition de créneau plus tôt."
    )
    expect(page.get_by_role("button", name=ASK)).to_be_visible()
    expect(page.locator("#arreter")).to_have_count(0)
    checked(page, axe)
    now = appointment_of(base, token)
    assert now["start"] == mine["start"]
    assert now["offer"] is None
    assert now["waitlist"] is None
