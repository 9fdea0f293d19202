"""The clock of the servers the tests start (`tests.server_clock`): the real one by day,
noon of the same day from 18:00 in Paris, so a mairie opened "all day today" stays open
while the tests run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.server_clock import ServerClock

PARIS = ZoneInfo("Europe/Paris")


def at(local: str) -> datetime:
    return datetime.fromisoformat(local).replace(tzinfo=PARIS).astimezone(UTC)


@pytest.mark.parametrize("local", ["2026-12-05 00:00", "2026-12-05 09:30", "2026-12-05 17:59"])
def test_by_day_a_server_keeps_the_real_clock(local: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TESTS_AT_NOON", raising=False)
    clock = ServerClock.for_tests(at(local))
    assert clock.shift == timedelta(0)
    assert clock.command("guichet", ["serve"]) == ["guichet", "serve"]
    assert clock.environment() == {}


@pytest.mark.parametrize(
    ("local", "back"),
    [
        ("2026-12-05 18:00", timedelta(hours=6)),
        ("2026-12-05 23:40", timedelta(hours=11, minutes=40)),
        ("2026-07-14 23:59:30", timedelta(hours=11, minutes=59, seconds=30)),
        ("2026-03-29 22:00", timedelta(hours=10)),  # the day summer time starts
    ],
)
def test_in_the_evening_a_server_is_set_back_to_noon_of_the_same_day(
    local: str, back: timedelta, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TESTS_AT_NOON", raising=False)
    now = at(local)
    clock = ServerClock.for_tests(now)
    assert clock.shift == -back
    noon = (now + clock.shift).astimezone(PARIS)
    assert (noon.date(), noon.hour, noon.minute) == (now.astimezone(PARIS).date(), 12, 0)
    command = clock.command("guichet", ["serve", "--demo"])
    assert command[1:4] == ["-m", "tests.server_clock", str(clock.shift.total_seconds())]
    assert command[4:] == ["serve", "--demo"]
    assert set(clock.environment()) == {"PYTHONPATH"}


def test_tests_at_noon_sets_it_back_by_day_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESTS_AT_NOON", "1")
    clock = ServerClock.for_tests(at("2026-12-05 08:15"))
    assert clock.shift == timedelta(hours=3, minutes=45)
