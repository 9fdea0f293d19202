"""The arrival code of a mairie: read as typed, whatever the keyboard's digits."""

from __future__ import annotations

from datetime import UTC, datetime

from app.queue.arrival_codes import arrival_code, arrival_code_holds, typed

SECRET = "a secret long enough for the tests of the arrival code"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def test_a_code_is_read_with_its_spaces_out_and_its_digits_in_any_script() -> None:
    assert typed(" 123 456\u00a0") == "123456"
    assert typed("١٢٣ ٤٥٦") == "123456"
    assert typed("１２３４５６") == "123456"
    assert typed("12a456") == "12a456"
    assert typed("   ") == ""


def test_the_code_of_the_moment_holds_however_the_phone_wrote_its_digits() -> None:
    code, _ = arrival_code(SECRET, 15, NOW)
    spaced = f"{code[:3]} {code[3:]}"

    for written in (code, spaced, code.translate(ARABIC_INDIC), spaced.translate(FULL_WIDTH)):
        assert arrival_code_holds(SECRET, 15, written, NOW), written
    assert not arrival_code_holds(SECRET, 15, f"{(int(code) + 1) % 10**6:06d}", NOW)
    assert not arrival_code_holds(SECRET, 15, "", NOW)
