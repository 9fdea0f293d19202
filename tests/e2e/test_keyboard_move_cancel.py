"""Moving an appointment then cancelling it with the keyboard only (Tab, Shift+Tab, Enter,
Space; never a click), in Chromium with JavaScript on and with JavaScript off: the private
page shows the new slot, then says the appointment is cancelled, and the API agrees."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.e2e.axe import Axe, describe
from tests.servers import Server

MAX_TABS = 200
# Whether each browser context runs the pages' scripts.
JAVASCRIPT: dict[BrowserContext, bool] = {}
MAIRIE = "paris-15"
SERVICE = "caf"


def tab_to(page: Page, target: Locator, key: str = "Tab") -> None:
    """Press `key` (Tab, or Shift+Tab to go back) until `target` has the focus."""
    for _ in range(MAX_TABS):
        page.keyboard.press(key)
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{target} never received the focus with {key}")


def focused(page: Page, attribute: str) -> str | None:
    """An attribute of the element that has the focus."""
    value: str | None = page.evaluate(
        "name => document.activeElement && document.activeElement.getAttribute(name)", attribute
    )
    return value


def accessible(page: Page, axe: Axe) -> None:
    """No serious axe violation. axe-core runs in the page and waits on its timers, which
    never fire with JavaScript off: there, the run with JavaScript on has checked the same
    pages."""
    if not JAVASCRIPT.get(page.context, True):
        return
    violations = axe(page)
    assert not violations, f"{page.url}\n{describe(violations)}"


def book_by_api(base: str) -> dict[str, Any]:
    """An appointment at the 15e on its first free slot, booked through the public API."""
    today = datetime.now(ZoneInfo("Europe/Paris")).date()
    free = httpx.get(
        f"{base}/api/v1/sites/{MAIRIE}/availability",
        params={"service": SERVICE, "from": str(today), "to": str(today + timedelta(days=20))},
        timeout=30,
    )
    free.raise_for_status()
    start = free.json()["slots"][0]["start"]
    booked = httpx.post(
        f"{base}/api/v1/appointments",
        json={
            "site": MAIRIE,
            "service": SERVICE,
            "start": start,
            "name": "Irène Joliot-Curie",
            "email": f"irene.{uuid.uuid4().hex[:8]}@example.org",
        },
        timeout=30,
    )
    assert booked.status_code == 201, booked.text
    appointment: dict[str, Any] = booked.json()
    return appointment


def as_held(base: str, token: str) -> dict[str, Any]:
    answer = httpx.get(f"{base}/api/v1/appointments/{token}", timeout=30)
    answer.raise_for_status()
    held: dict[str, Any] = answer.json()
    return held


@pytest.fixture(params=[True, False], ids=["javascript-on", "javascript-off"])
def resident(browser: Browser, server: Server, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(
        base_url=server.base,
        locale="fr-FR",
        viewport={"width": 390, "height": 844},
        java_script_enabled=request.param,
    )
    JAVASCRIPT[context] = request.param
    try:
        yield context.new_page()
    finally:
        JAVASCRIPT.pop(context)
        context.close()


def move_to_the_next_day_with_slots(page: Page) -> str:
    """On the move page: the second day of the strip, its last slot (reached by going back
    from the button with Shift+Tab), then the button. The slot's start is returned."""
    second_day = page.locator(".day-tab").nth(1)
    day = second_day.get_attribute("data-day")
    tab_to(page, second_day)
    page.keyboard.press("Enter")  # shown in place, or the page again with that day
    expect(page.locator(f'.day-tab[data-day="{day}"]')).to_have_attribute("aria-current", "date")
    expect(page.locator(f"#jour-{day}")).to_be_visible()

    button = page.get_by_role("button", name="Déplacer à ce créneau")
    tab_to(page, button)
    page.keyboard.press("Shift+Tab")  # into the day's slots, on its last one
    assert focused(page, "name") == "debut"
    start = focused(page, "value")
    assert start is not None
    page.keyboard.press("Space")
    expect(page.locator(f'#jour-{day} input[value="{start}"]')).to_be_checked()
    page.keyboard.press("Tab")
    expect(button).to_be_focused()
    page.keyboard.press("Enter")
    return start


def test_a_resident_moves_then_cancels_an_appointment_with_the_keyboard_only(
    resident: Page, server: Server, axe: Axe
) -> None:
    page = resident
    booked = book_by_api(server.base)
    token = booked["token"]
    page.goto(f"/rendez-vous/{token}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Votre rendez-vous")
    before = page.locator(".appointment").inner_text()

    tab_to(page, page.get_by_role("link", name="Déplacer le rendez-vous"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Déplacer votre rendez-vous")
    accessible(page, axe)
    start = move_to_the_next_day_with_slots(page)

    expect(page.get_by_role("status")).to_have_text("Votre rendez-vous a été déplacé.")
    moved = as_held(server.base, token)
    assert moved["status"] == "booked"
    assert datetime.fromisoformat(moved["start"]) == datetime.fromisoformat(start)
    assert moved["start"] != booked["start"]
    shown = page.locator(".appointment")
    assert shown.inner_text() != before
    # The new time as the page says it, in one piece ("9\u00a0h\u00a030"): Playwright's
    # text matching reads a no-break space as a space, the page's own text does not.
    moved_at = datetime.fromisoformat(moved["start"])
    time_said = f"{moved_at.hour}\u00a0h\u00a0{moved_at.minute:02d}"
    expect(shown).to_contain_text(time_said)
    assert time_said in shown.inner_text()
    accessible(page, axe)

    tab_to(page, page.get_by_role("link", name="Annuler le rendez-vous"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Annuler votre rendez-vous ?")
    accessible(page, axe)
    tab_to(page, page.get_by_role("button", name="Oui, annuler ce rendez-vous"))
    page.keyboard.press("Space")

    expect(page.get_by_role("status")).to_have_text("Votre rendez-vous est annulé.")
    expect(page.get_by_role("link", name="Annuler le rendez-vous")).to_have_count(0)
    expect(
        page.get_by_role("link", name=re.compile("^Prendre un autre rendez-vous"))
    ).to_be_visible()
    assert as_held(server.base, token)["status"] == "cancelled"
    accessible(page, axe)
