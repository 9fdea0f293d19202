"""What names an appointment: its reference, read out over the phone, and the token of
its private link; and how the database says two appointments would hold one station."""

from __future__ import annotations

import secrets

from sqlalchemy.exc import IntegrityError

REFERENCE_ALPHABET = "3456789ACDEFGHJKMNPQRTUVWXY"
CODE_LENGTH = 6  # a reference's own characters, after its arrondissement's


def reference_prefix(slug: str) -> str:
    """PC for paris-centre, 15 for paris-15: what reception reads out first."""
    last = slug.rsplit("-", 1)[-1]
    if last.isdigit():
        return last.zfill(2)
    return "".join(part[0] for part in slug.split("-") if part)[:3].upper()


def new_reference(slug: str) -> str:
    code = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{reference_prefix(slug)}-{code}"


def typed_characters(text: str) -> str:
    """The letters and digits of a reference as someone typed it, in capitals: spaces,
    dashes and anything else left out ("15 7kq2m9" is "157KQ2M9")."""
    return "".join(char for char in text.upper() if char.isascii() and char.isalnum())


def normalised_reference(text: str) -> str:
    """A reference as written on the confirmation, from what someone typed: `15 7kq2m9`,
    `15-7KQ2M9` and `157KQ2M9` are `15-7KQ2M9`; empty for what cannot be one."""
    letters = typed_characters(text)
    if not CODE_LENGTH + 1 <= len(letters) <= CODE_LENGTH + 3:
        return ""
    return f"{letters[:-CODE_LENGTH]}-{letters[-CODE_LENGTH:]}"


def new_token() -> str:
    """192 random bits for the private link."""
    return secrets.token_urlsafe(24)


def is_overlap(exc: IntegrityError) -> bool:
    """Whether the database refused two appointments holding one station at once."""
    return getattr(exc.orig, "sqlstate", None) == "23P01" or "no_overlap" in str(exc.orig)
