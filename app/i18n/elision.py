"""French elision before a name: "le compte de Jeanne" but "le compte d'Inès", "d'Hélène",
"d'Yves". A name is a value, so a sentence cannot write its "de" or "d'" in advance: the
code that knows the name chooses, by `elides`, between the two forms of a sentence, each a
msgid of its own (so that every language keeps its own words), or writes `of_name`.

French elides "de" (and "le", "que"…) before a vowel sound: a vowel, accented or not; a
mute h ("Hélène", "Hugo"), but not an aspirate h ("de Hugues", "du hall"); a y before a
consonant ("d'Yves") but not before a vowel ("de Yann"). A name starting with anything
else (a digit, a quotation mark, a bracket) is not elided: "de « Accueil »", "de 2 postes".
"""

from __future__ import annotations

from app.plain_text import plain

VOWELS = frozenset("aeiouœæ")
# Words starting with an aspirate h, or a vowel that does not elide, among those a name or
# a label of the service may start with (lowercased, without accents).
NOT_ELIDED = frozenset(
    (
        "hache",
        "haie",
        "hall",
        "hameau",
        "hamac",
        "hanche",
        "handicap",
        "hangar",
        "harpe",
        "hasard",
        "haut",
        "hauteur",
        "hibou",
        "hollande",
        "homard",
        "hongrie",
        "honte",
        "hors",
        "hotte",
        "houx",
        "hublot",
        "hugues",
        "huit",
        "huitieme",
        "onze",
        "onzieme",
        "oui",
        "ouistiti",
        "yacht",
    )
)


def elides(name: str) -> bool:
    """Whether French writes "d'" rather than "de" before `name` (its first word)."""
    words = plain(name).split()
    word = words[0] if words else ""
    if not word or not word[0].isalpha():
        return False
    head = word.split("-")[0].split("'")[0]
    if head in NOT_ELIDED or (head.endswith("s") and head[:-1] in NOT_ELIDED):
        return False
    first = word[0]
    if first in VOWELS:
        return True
    if first == "y":  # a vowel before a consonant ("Yves"), a consonant before a vowel
        return len(word) > 1 and word[1] not in VOWELS and word[1] != "y"
    return first == "h"  # a mute h, as for most first names ("Hélène", "Hugo", "Henri")


def of_name(name: str) -> str:
    """ "de Jeanne Martin", "d'Inès Benali": French only, where the sentence around it is
    French (a msgid whose "de" is kept outside the value is better for the catalogs)."""
    stripped = name.strip()
    return f"d'{stripped}" if elides(stripped) else f"de {stripped}"
