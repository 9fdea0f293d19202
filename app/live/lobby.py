"""The lobby screen's words, in the language its page is shown in (`?lang=en` in the
screen's address, else as for every page): the page's own texts come from the template,
and what display.js writes as the queue moves (a wait, a closed mairie's next opening,
the time, what the speech synthesis says) from `words()`, handed over in the page.

Each of these is a catalog entry the other pages use too (the staff's "environ 20
minutes", the clock's "9 h 30"), turned from Python's `%(name)s` into the `{name}` the
script fills in: one translation, whatever writes it."""

from __future__ import annotations

import re

from app import i18n
from app.i18n import gettext

PLACEHOLDER = re.compile(r"%\((\w+)\)\d*[sd]")
# The speech synthesis's voice and the dates' and times' language, by page language.
LOCALES = {"fr": "fr-FR", "en": "en-GB"}


def pattern(text: str) -> str:
    """`text` with its `%(name)s` / `%(name)02d` as `{name}`, for the script to fill."""
    return PLACEHOLDER.sub(r"{\1}", text)


def ngettext(singular: str, plural: str, number: int) -> str:
    """The form of a counted phrase for `number`, its placeholders left as they are (named
    as the catalog's extraction knows it)."""
    return i18n.translations(i18n.language.get()).ungettext(singular, plural, number)


def words() -> dict[str, str]:
    """What display.js writes, in the current language. Waits on the screen are rounded to
    five minutes, so a count of minutes is always plural, and of hours plural past one."""
    return {
        "locale": LOCALES.get(i18n.language.get(), "fr-FR"),
        "clock": pattern(gettext("%(hour)d h %(minute)02d")),
        "day": pattern(gettext("%(weekday)s %(day)s %(month)s")),
        "first": gettext("1er"),
        "minutes": pattern(ngettext("%(num)d minute", "%(num)d minutes", 5)),
        "hour": pattern(ngettext("%(num)d heure", "%(num)d heures", 1)),
        "hours": pattern(ngettext("%(num)d heure", "%(num)d heures", 2)),
        "hours_minutes": pattern(gettext("%(hours)d h %(minutes)02d")),
        "over": pattern(gettext("plus de %(duration)s")),
        "under": pattern(gettext("moins de %(duration)s")),
        "about": pattern(gettext("environ %(duration)s")),
        "between_minutes": pattern(
            ngettext("entre %(low)s et %(count)s minute", "entre %(low)s et %(count)s minutes", 5)
        ),
        "between": pattern(gettext("entre %(low)s et %(high)s")),
        "wait": pattern(gettext("Attente estimée pour un nouveau ticket : %(wait)s")),
        "closed": gettext("Mairie fermée en ce moment."),
        "opens_today": pattern(
            gettext("Mairie fermée en ce moment. Ouverture aujourd'hui à %(time)s.")
        ),
        "opens_later": pattern(
            gettext("Mairie fermée en ce moment. Prochaine ouverture : %(day)s à %(time)s.")
        ),
        "person": gettext("personne"),
        "people": gettext("personnes"),
        "new_call": gettext("nouvel appel"),
        "go_to": gettext("se présenter au"),
        "sound_on": gettext("Activer le son"),
        "sound_off": gettext("Couper le son"),
        "title": pattern(gettext("Appels – %(mairie)s")),
        "continued": gettext("Appels précédents (suite)"),
        "announce": pattern(gettext("Ticket %(letter)s %(number)s, %(station)s")),
    }
