"""The one reader of numbers, days and instants that clients send (app/bounds.py)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from app import bounds


@pytest.mark.parametrize(
    "text",
    ["²", "٣", "४", "１２", "1²", "3.0", "1e3", "", " ", "+", "-", "0x10", "1_000", None],
)
def test_a_number_is_written_with_the_ascii_digits_only(text: str | None) -> None:
    assert bounds.parse_int(text, -(10**9), 10**9) is None


@pytest.mark.parametrize(
    ("text", "low", "high", "expected"),
    [
        ("12", 0, 99, 12),
        (" 7 ", 0, 9, 7),
        ("-3", -5, 5, -3),
        ("0", 1, 5, None),
        ("6", 1, 5, None),
        ("99999999999999999999", 1, bounds.LARGEST_ID, None),
        ("-99999999999999999999", -(2**63), 0, None),
        ("9" * 10_000, 0, 10, None),
    ],
)
def test_a_number_lies_within_the_callers_bounds(
    text: str, low: int, high: int, expected: int | None
) -> None:
    assert bounds.parse_int(text, low, high) == expected


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01",
        "9999-12-31",
        "1999-12-31",
        "2101-01-01",
        "2026-02-30",
        "2026-1-1",
        "²026-01-01",
    ],
)
def test_a_far_or_impossible_day_is_none(text: str) -> None:
    assert bounds.parse_date(text) is None


def test_a_day_within_bounds_is_read() -> None:
    assert bounds.parse_date("2026-12-01") == date(2026, 12, 1)
    assert bounds.parse_date("2100-12-31") == date(2100, 12, 31)
    assert bounds.parse_date("2026-12-01", high=date(2026, 11, 30)) is None


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-05:00",
        "9999-12-31T23:59:59+14:00",
        "2100-12-31T23:30:00-12:00",
        "2026-12-01T09:00:00",
        "2026-12-01T09:00:00+0٣:00",
        "2026-12-01",
        "x" * 10_000,
    ],
)
def test_a_far_instant_or_one_without_an_offset_is_none(text: str) -> None:
    assert bounds.parse_datetime(text) is None


def test_an_instant_with_an_offset_is_read() -> None:
    instant = bounds.parse_datetime("2026-12-01T09:00:00+01:00")

    assert instant == datetime.fromisoformat("2026-12-01T08:00:00+00:00")


def test_a_request_body_with_a_far_instant_names_the_field() -> None:
    with pytest.raises(ValueError, match="start"):
        bounds.check_instant(datetime.fromisoformat("9999-12-31T23:00:00-05:00"), "start")


@pytest.mark.parametrize(
    ("path", "plain"),
    [
        ("/api/v1/stations/48/call-next", True),
        ("/api/v1/stations/+48/call-next", False),
        ("/api/v1/stations/ 48/call-next", False),
        ("/api/v1/stations/4_8/call-next", False),
        ("/api/v1/stations/४८/call-next", False),
        ("/api/v1/stations/４８/call-next", False),
        ("/api/v1/stations/-48/call-next", False),
    ],
)
def test_an_id_in_the_path_is_written_in_ascii_digits(path: str, plain: bool) -> None:
    template = "/api/v1/stations/{station_id}/call-next"

    assert bounds.path_ids_plain(template, path, {"station_id": 48}) is plain


def test_only_the_ids_of_a_path_are_looked_at() -> None:
    template = "/api/v1/admin/sites/{slug}/screens/{screen_id}"
    values = {"slug": "+paris-15", "screen_id": 7}

    assert bounds.path_ids_plain(template, "/api/v1/admin/sites/+paris-15/screens/7", values)
    assert not bounds.path_ids_plain(template, "/api/v1/admin/sites/paris-15/screens/+7", values)
