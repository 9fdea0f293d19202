"""Text messages: in GSM-7 whenever the text can be, in UCS-2 only when it must, and
counted in segments.

GSM-7 (the GSM 03.38 alphabet) has its own accented letters — é è ù ì ò à É Ç Ä Ö Ñ Ü
ä ö ñ ü ß Å å Æ æ Ø ø — and 160 characters fit one segment (153 a segment once a text
needs several); the characters of its extension table (€ [ ] { } ^ ~ | \\) take two.
A text holding a character GSM-7 lacks (ê, ç, â, î, ô, œ kept as written, a name in
another script) goes in UCS-2, as written: 70 characters a segment, 67 once it needs
several. Typographic signs (’ « » – … and the narrow spaces) are written with their
plain GSM-7 equivalents first, so that they alone never switch a text to UCS-2.

Accents are never dropped: a text is sent as the person's phone will show it. The
templates are written in GSM-7's letters, so that a text goes in UCS-2 only when a name
it carries needs it, and every template fits one GSM-7 segment with the longest names
(a unit test renders them all).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum

SEGMENT = 160  # GSM-7 septets in a text of one segment
CONCATENATED = 153  # a segment of a longer text: the rest carries the header
UCS2_SEGMENT = 70  # UTF-16 code units
UCS2_CONCATENATED = 67
BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENDED = set("^{}\\[~]|€\f")
REPLACEMENTS = {"’": "'", "‘": "'", "«": '"', "»": '"', "“": '"', "”": '"', "–": "-", "—": "-",
                "\u00a0": " ", "\u202f": " ", "…": "...", "œ": "oe", "Œ": "OE"}  # fmt: skip


class Encoding(StrEnum):
    GSM7 = "gsm7"
    UCS2 = "ucs2"


@dataclass(frozen=True)
class SmsText:
    """A text as it goes: its characters, its encoding, and how many segments it takes
    (each billed as one message)."""

    text: str
    encoding: Encoding
    segments: int


def is_gsm7(text: str) -> bool:
    return all(char in BASIC or char in EXTENDED for char in text)


def septets(text: str) -> int:
    """Length in GSM-7 septets: extended characters take two."""
    return sum(2 if char in EXTENDED else 1 for char in text)


def _units(char: str, encoding: Encoding) -> int:
    if encoding is Encoding.GSM7:
        return 2 if char in EXTENDED else 1
    return 2 if ord(char) > 0xFFFF else 1  # a surrogate pair in UTF-16


def segments(text: str, encoding: Encoding) -> int:
    """How many segments `text` takes in `encoding`. A character is never cut between two
    segments (an extended GSM-7 one with its escape, a UTF-16 surrogate pair)."""
    single, concatenated = (
        (SEGMENT, CONCATENATED) if encoding is Encoding.GSM7 else (UCS2_SEGMENT, UCS2_CONCATENATED)
    )
    widths = [_units(char, encoding) for char in text]
    if sum(widths) <= single:
        return 1
    count, used = 1, 0
    for width in widths:
        if used + width > concatenated:
            count, used = count + 1, 0
        used += width
    return count


def prepare(text: str) -> SmsText:
    """`text` as it will be sent: composed (an accent typed as a separate mark joins its
    letter), typographic signs made plain, then GSM-7 if every character is in it, else
    UCS-2 with every character kept."""
    composed = unicodedata.normalize("NFC", text)
    plain = "".join(REPLACEMENTS.get(char, char) for char in composed)
    encoding = Encoding.GSM7 if is_gsm7(plain) else Encoding.UCS2
    return SmsText(plain, encoding, segments(plain, encoding))


def fits_one_segment(text: str) -> bool:
    """Whether `text` goes as one GSM-7 segment (the aim of every template)."""
    sent = prepare(text)
    return sent.encoding is Encoding.GSM7 and sent.segments == 1
