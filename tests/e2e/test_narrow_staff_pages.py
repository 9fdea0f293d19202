"""The staff's pages on the narrowest phone (320 px): what an agent typed and the page
echoes (a search, an e-mail address) wraps instead of widening the page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.test_admin_pages import RECEPTION, fits
from tests.e2e.test_consoles import log_in

NARROWEST = {"width": 320, "height": 640}
LONGEST_SEARCH = 80  # the search field's maxlength


@pytest.fixture
def narrow_reception(browser: Browser, live_server: str) -> Iterator[Page]:
    """The 15e's reception console, logged in, in a window of 320 px."""
    context = browser.new_context(base_url=live_server, locale="fr-FR", viewport=NARROWEST)
    try:
        page = context.new_page()
        log_in(page, RECEPTION)
        yield page
    finally:
        context.close()


@pytest.mark.parametrize(
    "search",
    ["marie-christine.delaroche@example.org", "x" * LONGEST_SEARCH],
    ids=["e-mail address", "longest search"],
)
def test_a_search_echoed_by_the_reception_console_wraps_at_320_px(
    narrow_reception: Page, search: str
) -> None:
    narrow_reception.goto(f"/accueil/paris-15?q={search}")

    caption = narrow_reception.locator("table.appointments caption")
    assert search in caption.inner_text()
    assert fits(narrow_reception) == ""
