"""Partners' keys and what a partner may be called: pure rules, no I/O.

A key reads `gp_<lookup>_<secret>`: `gp_` says what it is (to a person, to a secret
scanner, to the guards that send it here rather than to the staff's tokens), `lookup` is a
short public id that finds the partner's row, and `secret` holds 256 random bits. Only the
SHA-256 of the whole key is kept, and it is compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

KEY_PREFIX = "gp_"
LOOKUP_LENGTH = 10
SECRET_BYTES = 32
LONGEST_KEY = 100  # anything longer is no key of ours
MAX_NAME = 120
MAX_SITES = 30
_KEY_SHAPE = re.compile(
    rf"{KEY_PREFIX}(?P<lookup>[a-z0-9]{{{LOOKUP_LENGTH}}})_(?P<secret>[A-Za-z0-9_-]{{43}})",
    re.ASCII,
)
_LOOKUP_ALPHABET = "abcdefghijkmnopqrstuvwxyz23456789"


@dataclass(frozen=True)
class NewKey:
    """A key just made: shown once, then only its `lookup` and `digest` are kept."""

    key: str
    lookup: str
    digest: str


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> NewKey:
    lookup = "".join(secrets.choice(_LOOKUP_ALPHABET) for _ in range(LOOKUP_LENGTH))
    key = f"{KEY_PREFIX}{lookup}_{secrets.token_urlsafe(SECRET_BYTES)}"
    return NewKey(key=key, lookup=lookup, digest=key_digest(key))


def looks_like_a_key(value: str) -> bool:
    """Whether `value` is meant as a partner's key (its prefix), valid or not."""
    return value.startswith(KEY_PREFIX)


def lookup_of(key: str) -> str | None:
    """The public id a well-formed key carries, else None (not one of ours)."""
    if len(key) > LONGEST_KEY:
        return None
    found = _KEY_SHAPE.fullmatch(key)
    return found.group("lookup") if found else None


def key_matches(key: str, digest: str) -> bool:
    """Whether `key` is the one whose digest was kept, compared in constant time."""
    return hmac.compare_digest(key_digest(key), digest)


def clean_name(value: str) -> str | None:
    """One line of printable text, spaces folded, 1 to MAX_NAME characters; None if not."""
    text = " ".join(value.split())
    if not text or len(text) > MAX_NAME or not text.isprintable():
        return None
    return text
