"""`make screenshots` (tests/screenshots.py): the module imports, and its scenario names
every page once, in the file names the team reads. The run itself needs a browser and a
server: it is not part of the suite."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

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


def test_the_english_reader_sees_the_residents_pages() -> None:
    english = [step.name for _, step in screenshots.pictured() if step.persona == "english"]

    for name in (
        "home-en",
        "mairie-paris-15-en",
        "booking-demarche-en",
        "booking-slots-en",
        "booking-contact-en",
        "booking-summary-en",
        "booking-done-en",
        "appointment-en",
        "ticket-next-en",
        "not-found-en",
    ):
        assert name in english
    assert all(name.endswith("-en") for name in english)


def test_the_staff_pages_added_lately_are_pictured() -> None:
    names = [step.name for _, step in screenshots.pictured()]

    for name in (
        "reception-booked",
        "reception-booking-slip",
        "reception-ticket-slip",
        "station-visit",
        "station-transfer",
        "station-finished",
        "reception-closed",
        "reception-closed-warning",
        "admin-journal",
        "figures-paris-comparison",
    ):
        assert name in names
    # Every tab of a mairie's settings, as the administration names them.
    for tab in ("general", "rendez-vous", "file", "messages", "horaires", "postes", "ecrans"):
        assert f"admin-site-{tab}" in names


def test_the_day_goes_in_order() -> None:
    """The closure comes before the warning it causes and is called off afterwards; a
    visit is started before it is finished; the walk-in tickets exist before their pages."""
    order = [step.name for step in screenshots.SCENARIO]

    def before(first: str, then: str) -> None:
        assert order.index(first) < order.index(then), (first, then)

    before("booking-done-en", "appointment-en")
    before("open-and-issue-tickets", "ticket-next-en")
    before("reception-booked", "reception-booking-slip")
    before("station-visit", "station-transfer")
    before("station-transfer", "station-finished")
    before("close-the-mairie", "reception-closed-warning")
    before("reception-closed-warning", "reopen-the-mairie")
    before("reopen-the-mairie", "display-paris-15")


def test_every_step_belongs_to_one_part_of_the_day() -> None:
    titles = [title for title, _ in screenshots.PARTS]
    assert len(titles) == len(set(titles))
    for step in screenshots.SCENARIO:
        assert screenshots.part_of(step.name) in titles


def test_the_index_groups_the_pictures_by_part_in_file_order() -> None:
    picture = screenshots.Picture
    report = screenshots.Report(
        pictures=[
            picture("02-home-en-390.png", "home-en", 200, "no", "lang=fr"),
            picture("01-home-390.png", "home", 200, "no"),
            picture("03-reception-1366.png", "reception", 200, "YES 400>390 (table)"),
        ]
    )

    page = screenshots.index_html(report, "2026-03-02 09:00")

    residents = page.index("A resident on a phone")
    english = page.index("A resident reading English")
    reception = page.index("<h2 id='part-3'>Staff log in; reception</h2>")
    assert residents < english < reception
    assert page.index("01-home-390.png") < page.index("02-home-en-390.png")
    assert "lang=fr" in page
    assert "<h3>03-reception</h3>" in page


def test_french_left_in_an_english_page_is_found() -> None:
    texts = [
        "Book an appointment",
        "Mairie du 15e arrondissement",
        "31 rue Péclet",
        "Allocations familiales (CAF)",
        "Vous recevrez un SMS avant votre tour.",
        "You will get a text before your turn.",
        "Un e-mail de confirmation a été envoyé à a…@example.org.",
        "An e-mail was sent to a…@example.org on Thursday.",
        "Vous recevrez un SMS avant votre tour.",
    ]

    assert screenshots.french_in(texts) == [
        "Vous recevrez un SMS avant votre tour.",
        "Un e-mail de confirmation a été envoyé à a…@example.org.",
    ]


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


def test_the_server_takes_a_free_port_unless_told() -> None:
    free = screenshots.server_port(screenshots.arguments([]))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", free))  # nothing listens there

    assert screenshots.server_port(screenshots.arguments(["--port", str(free)])) == free


def test_a_port_already_listened_on_is_refused_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another server on the port would answer the readiness check in the demo server's
    stead, and the run would picture that other server's pages."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(screenshots.PortTaken):
            screenshots.server_port(screenshots.arguments(["--port", str(port)]))

        assert screenshots.main(["--port", str(port), "--out", str(tmp_path / "out")]) == 1

    assert f"port {port} is taken" in capsys.readouterr().out
    assert not (tmp_path / "out").exists()


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
