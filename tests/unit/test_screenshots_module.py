"""`make screenshots` (tests/screenshots.py): the module imports, and its scenario names
every page once, in the file names the team reads. The run itself needs a browser and a
server: it is not part of the suite."""

from __future__ import annotations

import re

from tests import screenshots


def test_the_scenario_pictures_the_residents_staff_and_lobby_pages() -> None:
    steps = screenshots.pictured()

    assert steps
    audiences = {step.audience for _, step in steps}
    assert audiences == {"public", "staff", "display"}
    names = [step.name for _, step in steps]
    assert len(names) == len(set(names))
    assert [number for number, _ in steps] == list(range(1, len(steps) + 1))
    for name in ("home", "booking-slots", "ticket-called", "reception", "station", "admin-agents"):
        assert name in names


def test_every_name_makes_a_plain_file_name() -> None:
    for number, step in screenshots.pictured():
        name = screenshots.file_name(number, step.name, 390)
        assert re.fullmatch(r"\d{2}-[a-z0-9-]+-390\.png", name), name

    assert screenshots.file_name(3, "mairie-paris-15", 390) == "03-mairie-paris-15-390.png"
    assert screenshots.file_name(3, "mairie-paris-15", 390, full=True) == (
        "03-mairie-paris-15-390-full.png"
    )


def test_the_sizes_are_those_of_the_issue() -> None:
    assert screenshots.SIZES["public"] == [(390, 844), (320, 640), (1366, 900)]
    assert screenshots.SIZES["staff"] == [(390, 844), (1366, 900)]
    assert screenshots.SIZES["display"] == [(1920, 1080)]


def test_only_takes_a_pattern_or_a_part_of_the_name() -> None:
    assert screenshots.wanted("admin-agents", None)
    assert screenshots.wanted("admin-agents", "admin-*")
    assert not screenshots.wanted("reception", "admin-*")
    assert screenshots.wanted("ticket-called", "ticket")
    assert not screenshots.wanted("home", "ticket")


def test_a_private_page_is_told_from_the_booking_steps() -> None:
    base = "http://127.0.0.1:8000"
    assert screenshots.private_token(f"{base}/rendez-vous/abc123?fait=reserve") == "abc123"
    assert screenshots.private_token(f"{base}/mairies/paris-15/rendez-vous/coordonnees") is None
    assert screenshots.private_token(f"{base}/rendez-vous/retrouver") is None
