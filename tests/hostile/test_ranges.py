"""Date ranges no screen or person would ask for, against a real server: years of free
slots, a century of figures, the audit log at the ends of the calendar. Each is a 400
problem, never a computation that runs for minutes or a 500."""

from __future__ import annotations

import httpx
import pytest

from tests.hostile.conftest import Served

pytestmark = pytest.mark.slow

REFUSED = [
    "/api/v1/sites/paris-15/availability?service=caf&from=2026-12-01&to=2036-12-01",
    "/api/v1/sites/paris-15/availability?service=caf&from=0001-01-01&to=0001-01-31",
    "/api/v1/sites/paris-15/availability?service=caf&from=9999-12-01&to=9999-12-31",
    "/api/v1/sites/paris-15/availability?service=caf&to=9999-12-31",
    "/api/v1/sites/paris-15/hours?from=2026-01-01&to=2126-01-01",
    "/api/v1/sites/paris-15/hours?from=9999-12-31",
    "/api/v1/stats?from=1926-01-01&to=2026-01-01",
    "/api/v1/stats?site=paris-15&from=1926-01-01&to=2026-01-01&by=month",
    "/api/v1/stats?to=9999-12-31",
    "/api/v1/stats?from=0001-01-01&to=0001-01-05",
    "/api/v1/stats?from=9999-12-01&to=9999-12-31&by=week",
    "/api/v1/stats.csv?from=1926-01-01&to=2026-01-01",
    "/api/v1/stats.csv?to=0001-01-01",
    "/api/v1/audit?from=0001-01-01",
    "/api/v1/audit?to=9999-12-31",
    "/api/v1/audit?from=1900-01-01&to=2999-12-31",
]


@pytest.mark.parametrize("url", REFUSED)
def test_a_range_too_long_or_off_the_calendar_is_a_400_problem(served: Served, url: str) -> None:
    response = httpx.get(f"{served.server.base}{url}", headers=served.headers, timeout=30)

    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["detail"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/sites/paris-15/availability?service=caf&from=2026-12-01&to=2027-01-31",
        "/api/v1/stats?from=2026-01-01&to=2026-11-26&by=month",
        "/api/v1/audit?from=2000-01-01&to=2100-12-31",
    ],
)
def test_the_longest_ranges_allowed_are_answered(served: Served, url: str) -> None:
    response = httpx.get(f"{served.server.base}{url}", headers=served.headers, timeout=60)

    assert response.status_code == 200, response.text
