"""Text as people type it, compared as they mean it: without case or accents."""

from __future__ import annotations

import unicodedata


def plain(text: str) -> str:
    """`text` in lower case, without its accents and with compatibility forms unfolded:
    "Zoé", "ZOE" and "zoe" are "zoe"; "15ᵉ" is "15e"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))
