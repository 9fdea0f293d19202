"""The catalogs: French complete for every sentence the code and templates mark, plural
forms as French says them, and days, times and durations written the French way."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from jinja2 import DictLoader, Environment

from app import i18n
from app.i18n import formats

ROOT = Path(__file__).resolve().parents[2]


def marked() -> set[str]:
    """The msgids `make messages` would gather, singular forms."""
    method_map = [
        ("app/**.py", "python"),
        ("app/**/templates/**.html", "jinja2"),
        ("app/**/templates/**.txt", "jinja2"),
    ]
    found = extract_from_dir(
        ROOT,
        method_map=method_map,
        options_map={"app/**/templates/**": {"extensions": "jinja2.ext.i18n"}},
        keywords={"gettext": None, "ngettext": (1, 2), "_": None},
    )
    return {message[2] if isinstance(message[2], str) else message[2][0] for message in found}


def test_the_french_catalog_translates_every_marked_sentence() -> None:
    path = i18n.LOCALES_DIR / "fr" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as source:
        catalog = read_po(source, locale="fr")
    translated = {
        message.id if isinstance(message.id, str) else message.id[0]
        for message in catalog
        if message.id and message.string and all(message.string)
    }
    missing = sorted(marked() - translated)
    assert missing == [], "run `make messages`"
    assert len(translated) >= 10


@pytest.mark.parametrize(
    ("total", "said"),
    [
        (0, "0 minute"),
        (1, "1 minute"),
        (2, "2 minutes"),
        (45, "45 minutes"),
        (60, "1 heure"),
        (75, "1\u00a0h\u00a015"),
        (120, "2 heures"),
        (125, "2\u00a0h\u00a005"),
    ],
)
def test_durations_take_the_french_plural(total: int, said: str) -> None:
    assert formats.minutes(total) == said


def test_days_and_times_are_written_the_french_way() -> None:
    first = datetime(2026, 12, 1, 9, 5, tzinfo=UTC)
    assert formats.day(first.date()) == "mardi 1er décembre 2026"
    assert formats.short_day(date(2026, 12, 2)) == "mercredi 2 décembre"
    assert formats.clock(first) == "9\u00a0h\u00a005"
    assert formats.clock(datetime(2026, 12, 1, 13, 0, tzinfo=UTC)) == "13\u00a0h\u00a000"
    assert formats.moment(first) == "mardi 1er décembre 2026 à 9\u00a0h\u00a005"
    assert formats.abbreviated(date(2026, 12, 30)) == "mer. 30/12"
    assert formats.month_year(date(2027, 2, 1)) == "février 2027"
    assert formats.weekday_name(6) == "dimanche"


def test_templates_translate_and_format_in_the_current_language() -> None:
    environment = Environment(
        loader=DictLoader(
            {
                "t.html": "{{ _('1er') }} · {{ when|clock }} · {{ ngettext('%(num)d minute', "
                "'%(num)d minutes', count) }}"
            }
        ),
        autoescape=True,
    )
    i18n.install(environment)

    text = environment.get_template("t.html").render(
        when=datetime(2026, 1, 1, 8, 30, tzinfo=UTC), count=0
    )

    assert text == "1er · 8\u00a0h\u00a030 · 0 minute"
