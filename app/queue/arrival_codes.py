"""The arrival code of a mairie: six digits shown on its screens and at reception, that
change every five minutes, at a second of their own for each mairie, and that a holder of
a ticket taken from a phone types on arriving (`remote.arrive`). Pure: no database."""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from datetime import datetime, timedelta

ARRIVAL_CODE_EVERY = timedelta(minutes=5)
ARRIVAL_CODE_DIGITS = 6


def _phase(site_id: int) -> int:
    """The second of the period at which the mairie's code turns, its own: a network's
    screens are not all redrawn in the same second."""
    return site_id * 7919 % int(ARRIVAL_CODE_EVERY.total_seconds())


def _window(site_id: int, now: datetime) -> int:
    return int((now.timestamp() - _phase(site_id)) // ARRIVAL_CODE_EVERY.total_seconds())


def _code_of(secret: str, site_id: int, window: int) -> str:
    mac = hmac.new(secret.encode(), f"guichet arrival {site_id} {window}".encode(), hashlib.sha256)
    return str(int.from_bytes(mac.digest()[:8], "big") % 10**ARRIVAL_CODE_DIGITS).zfill(
        ARRIVAL_CODE_DIGITS
    )


def arrival_code(secret: str, site_id: int, now: datetime) -> tuple[str, datetime]:
    """The mairie's arrival code at `now`, and until when it is shown (it is taken for one
    more period after that, for someone who read it just before it changed)."""
    window = _window(site_id, now)
    turns = (window + 1) * ARRIVAL_CODE_EVERY.total_seconds() + _phase(site_id)
    return _code_of(secret, site_id, window), datetime.fromtimestamp(turns, tz=now.tzinfo)


def typed(code: str) -> str:
    """A code as typed, its spaces out and its digits in any script (a phone's keyboard in
    Arabic, full-width ones) read as the screens show them."""
    return "".join(
        str(unicodedata.decimal(c)) if c.isdecimal() else c for c in "".join(code.split())
    )


def arrival_code_holds(secret: str, site_id: int, code: str, now: datetime) -> bool:
    """Whether `code` is the site's code of now or of the period just before, typed with
    or without the space the screens and reception show in it."""
    given = typed(code).encode()
    window = _window(site_id, now)
    return any(
        hmac.compare_digest(given, _code_of(secret, site_id, w).encode())
        for w in (window, window - 1)
    )
