"""What names an appointment: its reference, read out over the phone, and the token of
its private link; and how the database says two appointments would hold one station."""

from __future__ import annotations

import secrets

from sqlalchemy.exc import IntegrityError

REFERENCE_ALPHABET = "3456789ACDEFGHJKMNPQRTUVWXY"


def reference_prefix(slug: str) -> str:
    """PC for paris-centre, 15 for paris-15: what reception reads out first."""
    last = slug.rsplit("-", 1)[-1]
    if last.isdigit():
        return last.zfill(2)
    return "".join(part[0] for part in slug.split("-") if part)[:3].upper()


def new_reference(slug: str) -> str:
    code = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))
    return f"{reference_prefix(slug)}-{code}"


def new_token() -> str:
    """192 random bits for the private link."""
    return secrets.token_urlsafe(24)


def is_overlap(exc: IntegrityError) -> bool:
    """Whether the database refused two appointments holding one station at once."""
    return getattr(exc.orig, "sqlstate", None) == "23P01" or "no_overlap" in str(exc.orig)
