"""Every language the service offers (`app.i18n.LANGUAGES`) says every sentence: each msgid
of `messages.pot` has its translation in that language's catalog, not empty, not left
fuzzy (gettext would show the French), with all the plural forms the language has, and
with the same placeholders as the msgid (a missing one drops a figure, an unknown one
breaks the page). A language listed without its catalog fails here, by name."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from app import i18n

TEMPLATE = Path(i18n.__file__).parent / "messages.pot"
# %(name)s, %(num)d and the like: what `gettext(…, name=…)` and `{% trans %}` fill in.
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]")
# ngettext always passes the number; a form may say it in words ("une minute").
THE_NUMBER = "num"


def may_drop(message: Message) -> set[str]:
    """What a form of a plural entry may leave out: the number (said in words), and what
    the singular msgid itself leaves out ("ce rendez-vous" / "ces %(count)s rendez-vous")."""
    if not message.pluralizable:
        return set()
    singular, *plurals = msgids(message)
    everything = set().union(*(placeholders(text) for text in plurals))
    return {THE_NUMBER} | (everything - placeholders(singular))


def catalog_path(lang: str) -> Path:
    return i18n.LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po"


@cache
def template() -> Catalog:
    with TEMPLATE.open("rb") as source:
        return read_po(source)


@cache
def catalog(lang: str) -> Catalog:
    path = catalog_path(lang)
    if not path.is_file():
        pytest.fail(
            f"{lang!r} is in LANGUAGES but has no catalog at "
            f"{path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}: "
            "run `make messages` and translate it",
            pytrace=False,
        )
    with path.open("rb") as source:
        return read_po(source, locale=lang)


def key(message: Message) -> str:
    """A message by its msgid (a plural one by its singular)."""
    return str(message.id[0] if isinstance(message.id, tuple | list) else message.id)


def msgids(message: Message) -> list[str]:
    return [str(part) for part in message.id] if message.pluralizable else [str(message.id)]


def forms(message: Message) -> list[str]:
    if isinstance(message.string, tuple | list):
        return [str(form or "") for form in message.string]
    return [str(message.string or "")]


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def short(text: str, width: int = 70) -> str:
    return text if len(text) <= width else f"{text[: width - 1]}…"


def wanted() -> list[Message]:
    return [message for message in template() if message.id]


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_sentence_has_its_translation(lang: str) -> None:
    translated = {key(message): message for message in catalog(lang) if message.id}
    untranslated = []
    for message in wanted():
        found = translated.get(key(message))
        if found is None:
            untranslated.append(f"missing from the catalog: {short(key(message))!r}")
        elif found.fuzzy:
            untranslated.append(f"fuzzy (shown in French): {short(key(message))!r}")
        elif not all(form.strip() for form in forms(found)):
            untranslated.append(f"no translation: {short(key(message))!r}")
    assert not untranslated, (
        f"{len(untranslated)} sentences not in {lang} ({catalog_path(lang)}):\n"
        + "\n".join(untranslated)
    )


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_plural_sentences_have_every_form_of_the_language(lang: str) -> None:
    found = catalog(lang)
    expected = found.num_plurals
    short_of = [
        f"{short(key(message))!r}: {len(forms(message))} forms of {expected}"
        for message in found
        if message.id and message.pluralizable and len(forms(message)) != expected
    ]
    assert not short_of, f"plural entries of {lang} without all their forms:\n" + "\n".join(
        short_of
    )


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_translations_keep_the_placeholders_of_their_msgid(lang: str) -> None:
    changed = []
    for message in catalog(lang):
        if not message.id:
            continue
        given = set().union(*(placeholders(text) for text in msgids(message)))
        for index, form in enumerate(forms(message)):
            if not form:
                continue  # said by the test above
            used = placeholders(form)
            dropped = given - used - may_drop(message)
            unknown = used - given
            if dropped or unknown:
                what = ", ".join(
                    [f"drops %({name})" for name in sorted(dropped)]
                    + [f"adds %({name})" for name in sorted(unknown)]
                )
                changed.append(f"{short(key(message))!r} form {index}: {what}")
    assert not changed, f"translations of {lang} that change placeholders:\n" + "\n".join(changed)


def test_the_template_offers_french_first() -> None:
    """French is the language of the msgids and of the service: the default, listed."""
    assert i18n.DEFAULT_LANGUAGE == "fr"
    assert "fr" in i18n.LANGUAGES
    assert len(wanted()) >= 10
