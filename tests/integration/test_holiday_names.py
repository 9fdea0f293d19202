"""Public holidays named in the reader's language on the mairie's page and its closures
tab; a closure's own reason, typed by the staff, stays as written."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import Clock

BROWSER = {"Accept": "text/html"}


@pytest.fixture(autouse=True)
def late_november(clock: Clock) -> None:
    clock.set("2026-11-30 10:00")  # Christmas and New Year's Day within the next 60 days


async def test_a_mairie_page_names_the_holidays_in_the_reader_s_language(
    client: AsyncTestClient[object],
) -> None:
    french = (await client.get("/mairies/paris-15", headers=BROWSER)).text
    english = (await client.get("/mairies/paris-15?lang=en", headers=BROWSER)).text

    assert "(Noël)" in french
    assert "(Christmas Day)" in english
    assert "Noël" not in english
    assert "<strong>Friday 25 December 2026</strong>:" in english
