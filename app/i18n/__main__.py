"""`python -m app.i18n`: complete the catalog of the sources' language (French) after
`pybabel update`: a msgid left untranslated there is its own translation, each plural
form taking the singular where the language's rule says "one" and the plural elsewhere.
It also writes the project's own header over the placeholders `pybabel` leaves in the
template and the catalogs ("FULL NAME <EMAIL@ADDRESS>", "ORGANIZATION").
"""

from __future__ import annotations

from gettext import c2py

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from app.i18n import DEFAULT_LANGUAGE, LOCALES_DIR

# Numbers that land in every plural form of the languages we know.
SAMPLES = (0, 1, 2, 3, 5, 11, 21, 101, 1_000_000)


TEMPLATE = LOCALES_DIR.parent / "messages.pot"
HEADER = {
    "": "guichet's sentences, gathered from the code and templates by `make messages`.\n"
    "Each language's catalog is made from this template.",
    DEFAULT_LANGUAGE: "guichet in French, the language of its sources: `make messages`\n"
    "completes it (each sentence is its own translation). Edit a msgstr here\n"
    "to reword a sentence without touching the code.",
}


def tidy(catalog: Catalog, comment: str) -> None:
    """The project's header in place of `pybabel`'s placeholders."""
    catalog.header_comment = "\n".join(f"# {line}" for line in comment.splitlines())
    catalog.project, catalog.version = "guichet", "1"
    catalog.copyright_holder = "guichet"
    catalog.msgid_bugs_address = ""
    catalog.last_translator = "guichet"
    catalog.language_team = "guichet"


def tidy_template() -> None:
    with TEMPLATE.open("rb") as source:
        catalog = read_po(source)
    tidy(catalog, HEADER[""])
    with TEMPLATE.open("wb") as target:
        write_po(target, catalog, omit_header=False, no_location=True, sort_output=True)


def complete(lang: str = DEFAULT_LANGUAGE) -> int:
    path = LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as source:
        catalog = read_po(source, locale=lang)
    locale = Locale.parse(lang)
    filled = 0
    for message in catalog:
        if not message.id or (message.string and all(message.string)):
            continue
        if isinstance(message.id, tuple):
            singular, plural = message.id
            # Which CLDR category each gettext form stands for, by a number that lands in it.
            forms = [_sample(catalog, index) for index in range(catalog.num_plurals)]
            message.string = tuple(
                singular if locale.plural_form(number) == "one" else plural for number in forms
            )
        else:
            message.string = message.id
        filled += 1
    tidy(catalog, HEADER.get(lang, f"guichet in {lang}."))
    with path.open("wb") as target:
        write_po(target, catalog, omit_header=False, no_location=True, sort_output=True)
    return filled


def _sample(catalog: Catalog, index: int) -> int:
    """A number whose gettext plural form is `index`."""
    rule = c2py(catalog.plural_expr)
    return next(number for number in SAMPLES if rule(number) == index)


if __name__ == "__main__":
    tidy_template()
    print(f"{complete()} messages completed in the French catalog")
