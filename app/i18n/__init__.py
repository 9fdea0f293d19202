"""The message catalogs: every sentence a person reads (pages, refusals, messages) comes
from a gettext catalog of `locales/<language>/LC_MESSAGES/messages.po`, with its plural
forms. French is the language of the sources (the msgids) and of the service; English
comes as one more catalog (a msgid it does not translate yet is shown in French).

`language` is the language of what is being rendered now: a request's (chosen by
`app/web/language.py`), a message's (its resident's, `speaking` around its rendering).

The catalogs are read from their `.po` files when first used (no compiled `.mo` file
to keep in step). `make messages` gathers the msgids of the code and templates into
`messages.pot` and updates each catalog from it (Babel's `pybabel`).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import Environment
from markupsafe import Markup, escape

LOCALES_DIR = Path(__file__).parent / "locales"
DEFAULT_LANGUAGE = "fr"
# The languages people may choose, the service's own first.
LANGUAGES = (DEFAULT_LANGUAGE, "en")

# The language of what is being rendered now (a request's, a message's).
language: ContextVar[str] = ContextVar("language", default=DEFAULT_LANGUAGE)


def known(lang: str | None) -> str:
    """`lang` if people may choose it, else the service's language (a row or a message
    written before a language was recorded, a value from elsewhere)."""
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


@contextmanager
def speaking(lang: str | None) -> Iterator[str]:
    """Render in `lang` (or French, if it is not one of ours) within the block, whatever
    the language around it, which comes back after it even when the block raises: a
    message is written in its resident's language, not the agent's or the scheduler's."""
    chosen = known(lang)
    token = language.set(chosen)
    try:
        yield chosen
    finally:
        language.reset(token)


@cache
def translations(lang: str) -> Translations:
    """The catalog of `lang`, compiled in memory from its `.po` file; none yet (a language
    whose catalog is still being written) shows the msgids, in French."""
    path = LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return Translations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=lang)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain="messages")


def N_(message: str) -> str:
    """Mark `message` for the catalog where it is defined (at import time, when there is
    no language yet); `gettext` translates it where it is shown."""
    return message


def gettext(message: str, **values: Any) -> str:
    """`message` in the current language, with `values` put in (`%(name)s`)."""
    text = translations(language.get()).ugettext(message)
    return text % values if values else text


def ngettext(singular: str, plural: str, number: int, **values: Any) -> str:
    """The form of `singular`/`plural` the current language uses for `number` (French
    says "0 personne", "1 personne", "2 personnes"), with `number` as `%(num)d`."""
    text = translations(language.get()).ungettext(singular, plural, number)
    return text % {"num": number, **values}


def lang_attribute(text_language: object) -> Markup:
    """` lang="fr"` for a text in `text_language` shown in what is rendered in another
    language (a démarche with no English name, a mairie's own notes, on an English page),
    so that a screen reader says it as the language it is in; nothing when it is in the
    language being rendered, or unknown (None, undefined)."""
    known = isinstance(text_language, str) and text_language in LANGUAGES
    if not known or text_language == language.get():
        return Markup("")
    return Markup(' lang="{}"').format(text_language)


def lang_span(text: object, text_language: object) -> Markup:
    """`text` in a `<span lang="fr">` where `lang_attribute` marks it (a name in a
    sentence or a label), else `text` alone: a page in French keeps its plain words."""
    mark = lang_attribute(text_language)
    return Markup("<span{}>{}</span>").format(mark, text) if mark and text else escape(text)


def install(environment: Environment) -> None:
    """Let `environment`'s templates translate (`{% trans %}`, `_()`, `ngettext()`, in
    the current language), format days and times (`|day`, `|clock`, `|minutes`…) and
    mark a text in another language than the page's (`<dd{{ lang_attr("fr") }}>`, or
    `{{ lang_span(name, "fr") }}` in a sentence)."""
    from app.i18n import formats  # formats translates through this module

    environment.add_extension("jinja2.ext.i18n")
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        lambda message: translations(language.get()).ugettext(message),
        lambda singular, plural, number: translations(language.get()).ungettext(
            singular, plural, number
        ),
        newstyle=True,
    )
    environment.globals["current_language"] = language.get
    environment.globals["lang_attr"] = lang_attribute
    environment.globals["lang_span"] = lang_span
    names = (
        "day",
        "short_day",
        "clock",
        "moment",
        "minutes",
        "abbreviated",
        "month_year",
        "listed",
        "semicolons",
    )
    for name in names:
        environment.filters[name] = getattr(formats, name)
