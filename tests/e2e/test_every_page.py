"""Every page of the service, reached in one scripted day, at 390×844 and 1366×900: no
horizontal overflow, no serious or critical axe violation and, on the residents' pages,
every button, choice row and standalone link at least 44 px tall and wide (issue 16).

The day is the one `make screenshots` pictures (tests/screenshots.py): a resident books,
moves and cancels, finds an appointment again and follows a ticket in each of its states;
staff log in and open the consoles, the figures and the administration; the lobby screen
shows the calls. A few steps are added here to reach the pages that scenario does not
picture (the slot moved, leaving the queue, the feedback sent, a department's request, a
catalog item, an agent's page). The day runs once, on a server of its own; each page and
size is then a test of its own, so that a failure names its page.
"""

from __future__ import annotations

import email
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from app.sites.admin_tabs import TABS
from tests.e2e.axe import Axe, describe
from tests.screenshots import (
    ADMIN,
    DEMARCHE,
    MAIRIE,
    NEED,
    SCENARIO,
    Absent,
    Step,
    Tab,
    Tour,
    form_with,
    go,
    settle,
    submit,
    tick,
    ticket,
)
from tests.servers import Server

SIZES = {"phone": (390, 844), "desktop": (1366, 900)}
TAP = 44
DEPARTMENT_EMAIL = "demandes.caf@partenaires.example.org"
MAIL_WAIT_SECONDS = 20

# What counts as something to tap on a resident's page (see SMALL_TARGETS_SCRIPT).
SMALL_TARGETS_SCRIPT = """(tap) => {
  const inline = (element) => getComputedStyle(element).display.startsWith("inline");
  const words = (element) => (element.innerText || "").replace(/\\s+/g, " ").trim();
  const shown = (element) => {
    const box = element.getBoundingClientRect();
    const style = getComputedStyle(element);
    return box.width > 0 && box.height > 0 && style.visibility !== "hidden"
      && box.right > 0 && box.bottom > 0 && element.closest("[hidden]") === null;
  };
  // A link inside a sentence may stay the height of its line (WCAG 2.5.8 exempts it);
  // a link alone in its block, or in a navigation, is a target of its own.
  const standalone = (link) => {
    if (link.closest("nav") || !inline(link)) return true;
    let block = link.parentElement;
    while (block && inline(block)) block = block.parentElement;
    return block !== null && words(block) === words(link);
  };
  const rowWide = (element, box) => {
    let block = element.parentElement;
    while (block && inline(block)) block = block.parentElement;
    return block !== null && box.width >= block.clientWidth * 0.9;
  };
  const targets = [
    ...document.querySelectorAll(
      "button, input[type=submit], input[type=button], .button, summary"),
    ...[...document.querySelectorAll("input[type=radio], input[type=checkbox]")]
      .flatMap((input) => [...input.labels]),
    ...[...document.querySelectorAll("a[href]")].filter(standalone),
  ];
  const small = [];
  for (const element of new Set(targets)) {
    if (!shown(element)) continue;
    const box = element.getBoundingClientRect();
    const tall = box.height >= tap - 0.5;
    const wide = box.width >= tap - 0.5 || rowWide(element, box);
    if (!(tall && wide)) {
      const name = words(element).slice(0, 50) || element.getAttribute("aria-label") || "";
      small.push(`${element.tagName.toLowerCase()}${element.className ? "." +
        String(element.className).trim().replace(/\\s+/g, ".") : ""} "${name}" ` +
        `${Math.round(box.width)}×${Math.round(box.height)}`);
    }
  }
  return small;
}"""


@dataclass
class Seen:
    """What one page looked like at one size."""

    status: int | None = None
    overflow: str = ""
    violations: list[dict[str, Any]] = field(default_factory=list)
    small: list[str] = field(default_factory=list)
    trouble: str = ""


# Steps added to the screenshots' day ----------------------------------------------------


def move_to_another_slot(tour: Tour, tab: Tab) -> None:
    """On the move page, take its first free slot: the private page says it moved."""
    page = tab.page
    form = form_with(page, "input[name=debut]")
    tick(form.locator("input[name=debut]").first)
    submit(page, form, "déplacer")
    if "deplace=1" not in page.url:
        raise Absent(f"moving did not lead to the private page ({page.url})")


def leave_the_queue(tour: Tour, tab: Tab) -> None:
    page = tab.page
    submit(page, form_with(page, "button"), "quitter")


def give_feedback(tour: Tour, tab: Tab) -> None:
    page = tab.page
    form = form_with(page, "input[name=note]")
    tick(form.locator("input[name=note]").first)
    form.locator("textarea").first.fill("Très bien reçu, merci.")
    submit(page, form)


def department_has_an_email(tour: Tour, tab: Tab) -> None:
    """The CAF's department gets an email address, so that a request sent on to it is
    mailed with the link to its page."""
    for department in tour.api("GET", "/api/v1/departments", ADMIN).json():
        tour.api(
            "PATCH",
            f"/api/v1/departments/{department['code']}",
            ADMIN,
            json={"email": DEPARTMENT_EMAIL},
        ).raise_for_status()


def mail_links(server: Server, pattern: str) -> list[str]:
    """The addresses matching `pattern` in the emails `server` wrote to its outbox."""
    found: list[str] = []
    for path in sorted((server.folder / "var" / "outbox" / "email").glob("*.eml")):
        message: Message = email.message_from_bytes(path.read_bytes())
        for part in message.walk():
            if part.get_content_type() in ("text/plain", "text/html"):
                payload = part.get_payload(decode=True)
                if isinstance(payload, bytes):
                    found += re.findall(pattern, payload.decode("utf-8", "replace"))
    return found


def department_request(tour: Tour, tab: Tab) -> None:
    """The page the department opens from its email (the dispatcher sends every 2 s)."""
    deadline = time.monotonic() + MAIL_WAIT_SECONDS
    while time.monotonic() < deadline:
        links = mail_links(tour.server, r"/demande-transmise/[A-Za-z0-9_-]+")
        if links:
            tab.page.goto(links[-1])
            return
        time.sleep(0.5)
    raise Absent("no email to the department with its request's link")


def agent_page(tour: Tour, tab: Tab) -> None:
    page = tab.page
    if "/admin/agents" not in page.url:
        page.goto("/admin/agents")
    link = page.locator("main a[href^='/admin/agents/']")
    if link.count() == 0:
        raise Absent("no agent's page linked from /admin/agents")
    page.goto(link.first.get_attribute("href") or "")


ADDED: dict[str, list[Step]] = {
    # after the step of that name
    "booking-move": [Step("booking-moved", "resident", move_to_another_slot, "public")],
    "call-the-first-ticket": [Step("caf-has-an-email", "resident", department_has_an_email)],
    "ticket-done": [
        Step("department-request", "resident", department_request, "staff"),
    ],
    "feedback": [
        Step("feedback-sent", "resident", give_feedback, "public"),
        Step("ticket-leave", "resident", ticket(2, "/quitter"), "public"),
        Step("ticket-left", "resident", leave_the_queue, "public"),
    ],
    # Each tab of a mairie's settings is a page of its own; the day already opens the
    # first one, the hours and the screens.
    "admin-site-settings": [
        Step(f"admin-site-{tab}", "admin", go(f"/admin/sites/{MAIRIE}?onglet={tab}"), "staff")
        for tab in TABS
        if tab not in ("general", "horaires", "ecrans")
    ],
    "admin-catalog": [
        Step(
            "admin-catalog-service", "admin", go(f"/admin/catalogue/demarches/{DEMARCHE}"), "staff"
        ),
        Step("admin-catalog-need", "admin", go(f"/admin/catalogue/besoins/{NEED}"), "staff"),
        Step("admin-catalog-new", "admin", go("/admin/catalogue/demarches/nouvelle"), "staff"),
    ],
    "admin-agents": [Step("admin-agent-edit", "admin", agent_page, "staff")],
}


def the_day() -> list[Step]:
    """The screenshots' scenario with the steps above, each after its step."""
    steps: list[Step] = []
    for step in SCENARIO:
        steps.append(step)
        steps += ADDED.get(step.name, [])
    return steps


DAY = the_day()
PAGES = {step.name: step for step in DAY if step.audience}


# Running the day ------------------------------------------------------------------------


def measure(step: Step, page: Page, axe: Axe) -> Seen:
    seen = Seen()
    scroll = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    if scroll[0] > scroll[1]:
        seen.overflow = f"the page is {scroll[0]} px wide in a {scroll[1]} px window"
    seen.violations = axe(page)
    if step.audience == "public":
        seen.small = page.evaluate(SMALL_TARGETS_SCRIPT, TAP)
        seen.small += skip_link_when_focused(page)
    return seen


def skip_link_when_focused(page: Page) -> list[str]:
    """The skip link shows only once focused: measured then."""
    skip = page.locator("a.skip")
    if skip.count() == 0:
        return []
    skip.first.focus()
    box = skip.first.bounding_box()
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    if box and (box["height"] < TAP - 0.5 or box["width"] < TAP - 0.5):
        return [f"a.skip (focused) {round(box['width'])}×{round(box['height'])}"]
    return []


def look_at(step: Step, tab: Tab, axe: Axe) -> dict[str, Seen]:
    seen: dict[str, Seen] = {}
    for size, (width, height) in SIZES.items():
        tab.page.set_viewport_size({"width": width, "height": height})
        tab.page.wait_for_timeout(150)
        seen[size] = measure(step, tab.page, axe)
        seen[size].status = tab.status
    return seen


def run(tour: Tour, step: Step, axe: Axe) -> dict[str, Seen]:
    tab = tour.tab(step.persona)
    tab.anchor = None
    try:
        step.act(tour, tab)
        if step.audience:
            settle(tab.page)
            return look_at(step, tab, axe)
    except Exception as failure:  # one step failing must not end the day
        trouble = f"{type(failure).__name__}: {(str(failure).splitlines() or [''])[0][:300]}"
        return {size: Seen(trouble=trouble) for size in SIZES}
    return {}


@pytest.fixture(scope="module")
def day(browser: Browser, server: Server, axe: Axe) -> Iterator[dict[tuple[str, str], Seen]]:
    """Every page of the day, by name and size, as it was seen."""
    tour = Tour(server.base, browser, server)
    seen: dict[tuple[str, str], Seen] = {}
    try:
        for step in DAY:
            for size, result in run(tour, step, axe).items():
                seen[(step.name, size)] = result
        yield seen
    finally:
        for tab in tour.tabs.values():
            tab.page.context.close()


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("name", list(PAGES))
def test_the_page_fits_is_accessible_and_easy_to_tap(
    day: dict[tuple[str, str], Seen], name: str, size: str
) -> None:
    step = PAGES[name]
    seen = day.get((name, size))
    assert seen is not None, f"{name}: the day never reached this page"
    actions = [
        f"{step.name}: {day[(step.name, 'phone')].trouble}"
        for step in DAY
        if not step.audience and (step.name, "phone") in day
    ]
    assert not seen.trouble, f"{name}: not reached: {seen.trouble}\n" + "\n".join(actions)
    problems = []
    if seen.status != step.expect:
        problems.append(f"answered {seen.status}, expected {step.expect}")
    if seen.overflow:
        problems.append(f"horizontal overflow: {seen.overflow}")
    if seen.violations:
        problems.append(describe(seen.violations))
    if seen.small:
        problems.append(
            f"{len(seen.small)} target(s) under {TAP} px:\n    " + "\n    ".join(seen.small)
        )
    assert not problems, f"{name} at {size}:\n" + "\n".join(problems)
