"""Text messages in one GSM-7 segment: 160 characters of the GSM 03.38 alphabet."""

from __future__ import annotations

import unicodedata

SEGMENT = 160
BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENDED = set("^{}\\[~]|€")
REPLACEMENTS = {"’": "'", "‘": "'", "«": '"', "»": '"', "–": "-", "—": "-", "œ": "oe", "Œ": "OE",
                "\u00a0": " ", "\u202f": " ", "…": "..."}  # fmt: skip


def gsm7(text: str) -> str:
    """`text` in the GSM-7 alphabet: typographic signs simplified, and accents the
    alphabet lacks (ê, ç, â…) dropped, so that a text never switches to UCS-2 (70
    characters a segment)."""
    out = []
    for char in text:
        char = REPLACEMENTS.get(char, char)
        if all(c in BASIC or c in EXTENDED for c in char):
            out.append(char)
            continue
        plain = "".join(
            c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c)
        )
        out.append("".join(c for c in plain if c in BASIC or c in EXTENDED) or "?")
    return "".join(out)


def septets(text: str) -> int:
    """Length in GSM-7 septets: extended characters take two."""
    return sum(2 if char in EXTENDED else 1 for char in text)


def fits_one_segment(text: str) -> bool:
    return all(c in BASIC or c in EXTENDED for c in text) and septets(text) <= SEGMENT
