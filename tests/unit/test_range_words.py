"""Opening ranges refused in words, with times written as every page writes them
("17 h 00", never "17:00"), and dates with a capital that keeps the month as it is."""

from __future__ import annotations

from datetime import date, time

from app.i18n import formats, language
from app.sites.rules import check_ranges

NBSP = "\u00a0"


def test_a_range_closing_before_it_opens_is_told_with_the_pages_times() -> None:
    token = language.set("fr")
    try:
        [problem] = check_ranges([(time(17), time(8, 30))])
    finally:
        language.reset(token)

    assert problem.text == (
        f"La plage 1 doit ouvrir avant de fermer : elle ouvre à 17{NBSP}h{NBSP}00 "
        f"et ferme à 8{NBSP}h{NBSP}30."
    )
    assert ":00" not in problem.text


def test_overlapping_ranges_are_told_with_the_pages_times() -> None:
    token = language.set("fr")
    try:
        [problem] = check_ranges([(time(9), time(17)), (time(12), time(18))])
    finally:
        language.reset(token)

    assert problem.text == (
        f"Deux plages se chevauchent : l'une ouvre à 12{NBSP}h{NBSP}00, avant que "
        f"l'autre ferme à 17{NBSP}h{NBSP}00."
    )
    assert problem.field == "ranges[1]"  # the one opening inside the other, typed second


def test_of_overlapping_ranges_the_one_opening_inside_the_other_is_said_wrong() -> None:
    """However they were typed: the second line's range opening first, the first line's
    opening inside it is the one whose field the page marks."""
    [problem] = check_ranges([(time(12), time(18)), (time(9), time(17))])

    assert problem.field == "ranges[0]"


def test_a_capital_leaves_an_english_month_as_it_is() -> None:
    token = language.set("en")
    try:
        english = formats.capitalised(formats.short_day(date(2026, 12, 3)))
    finally:
        language.reset(token)
    token = language.set("fr")
    try:
        french = formats.capitalised(formats.short_day(date(2026, 12, 9)))
    finally:
        language.reset(token)

    assert english == "Thursday 3 December"
    assert french == "Mercredi 9 décembre"


def test_reminder_hours_and_lists_are_said_in_each_language() -> None:
    token = language.set("fr")
    try:
        french = (
            formats.hours_before([2, 24]),
            formats.hours_before([1]),
            formats.hours_before([]),
            formats.semicolons(["fauteuil roulant", "voit mal"]),
        )
    finally:
        language.reset(token)
    token = language.set("en")
    try:
        english = (formats.hours_before([48, 1]), formats.semicolons(["a, b", "c"]))
    finally:
        language.reset(token)

    assert french == (
        "24 heures et 2 heures avant",
        "1 heure avant",
        "",
        "fauteuil roulant ; voit mal",
    )
    assert english == ("48 hours and 1 hour before", "a, b; c")
