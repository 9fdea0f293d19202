"""How the figures page writes its numbers and days, without a database: waits of an
hour or more as durations ("1 h 08", not "68 min"), one day as "le …", and the charts'
descriptions for screen readers as sentences rather than a list glued by semicolons."""

from __future__ import annotations

from datetime import date

from app.stats.charts import Axes, Bar, bars, columns
from app.stats.pages import first_upper, period_label, span, wait


def test_a_wait_under_an_hour_is_in_minutes_and_from_an_hour_on_in_hours() -> None:
    assert wait(None) == "–"
    assert wait(12.5) == "12,5 min"
    assert wait(59.4) == "59,4 min"
    assert wait(68) == "1\u00a0h\u00a008"
    assert wait(67.6) == "1\u00a0h\u00a008"
    assert wait(120) == "2 heures"
    assert "68 min" not in wait(68)


def test_one_day_is_le_and_several_are_du_au() -> None:
    day = date(2026, 12, 1)

    assert span(day, day) == "le mardi 1er décembre 2026"
    assert span(day, date(2026, 12, 3)) == "du mardi 1er décembre 2026 au jeudi 3 décembre 2026"
    assert first_upper(span(day, day)) == "Le mardi 1er décembre 2026"
    assert period_label(day, day, "week") == "mardi 1er décembre"
    assert period_label(day, date(2026, 12, 6), "week") == "du 1/12 au 6/12"


def test_a_chart_is_described_a_sentence_per_bar() -> None:
    items = [Bar("lundi", 12.5, "12,5 min"), Bar("mardi", 68, "1\u00a0h\u00a008")]
    axes = Axes("Jour", "Attente, en minutes")

    for draw in (bars, columns):
        svg = str(draw("essai", "Attente par jour", items, axes))
        assert '<desc id="essai-d">Lundi : 12,5 min. Mardi : 1\u00a0h\u00a008.</desc>' in svg
    assert '<desc id="vide-d">Aucune donnée.</desc>' in str(bars("vide", "Rien", [], axes))
