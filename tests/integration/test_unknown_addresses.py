"""An address nothing answers, asked for by a browser, is a French page; asked for by an API
client, or under /api/, it stays problem details (both databases)."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.mark.parametrize(
    "path", ["/nulle-part", "/mairies/paris-15/nulle-part", "/poste/abc", "/ticket/a/b/c"]
)
async def test_an_unknown_address_in_a_browser_is_a_french_404_page(
    client: AsyncTestClient[object], path: str
) -> None:
    answer = await client.get(path, headers=BROWSER)

    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert '<html lang="fr">' in answer.text
    assert "Page introuvable" in answer.text
    assert "Not Found" not in answer.text


async def test_a_page_asked_with_a_method_it_does_not_take_is_a_french_page(
    client: AsyncTestClient[object],
) -> None:
    answer = await client.delete("/mairies/paris-15", headers=BROWSER)

    assert answer.status_code == 405
    assert answer.headers["content-type"].startswith("text/html")
    assert "Cette adresse ne s&#39;ouvre pas ainsi" in answer.text


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/nulle-part", {"Accept": "application/json"}),
        ("/nulle-part", {}),
        ("/api/v1/nulle-part", BROWSER),
        ("/static/nulle-part.css", BROWSER),
    ],
)
async def test_api_clients_and_api_addresses_keep_problem_details(
    client: AsyncTestClient[object], path: str, headers: dict[str, str]
) -> None:
    answer = await client.get(path, headers=headers)

    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["status"] == 404
