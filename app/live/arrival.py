"""The arrival QR code of a mairie's paired lobby screens: the address of its arrival page
with the code of the moment (`app.queue.arrival_codes.arrival_code`), drawn as an SVG data: URI.

The code is public in the waiting room, never on the internet: only paired screens are
given it (`app.live.hub`), and only while the mairie is open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlencode

import segno

from app.queue.arrival_codes import ARRIVAL_CODE_EVERY, arrival_code

QR_ERROR_LEVEL = "m"  # a screen seen from across the room, a little glare: 15 % may be lost
QR_SCALE = 4


@dataclass(frozen=True)
class ArrivalQr:
    """The QR code shown on a mairie's paired screens until `until`, and its code."""

    code: str
    qr: str  # data:image/svg+xml URI
    until: datetime


def arrival_address(base_url: str, slug: str, code: str) -> str:
    """The address a phone opens on reading the QR code: the mairie's arrival page, with
    the code filled in."""
    return f"{base_url.rstrip('/')}/arrivee/{quote(slug)}?{urlencode({'code': code})}"


def qr_data_uri(address: str) -> str:
    """`address` as a QR code, an SVG data: URI an <img> shows (the same at every call)."""
    return segno.make(address, error=QR_ERROR_LEVEL).svg_data_uri(scale=QR_SCALE)


@dataclass(frozen=True)
class ArrivalCodes:
    """What draws a mairie's arrival QR code: the secret of its codes, and the public
    address of this service."""

    secret: str
    base_url: str

    def at(self, site_id: int, slug: str, now: datetime) -> ArrivalQr:
        """The QR code of `site_id` at `now`: its code of the moment in its arrival page's
        address. About 10 ms of CPU: callers on the event loop run it in a thread."""
        code, until = arrival_code(self.secret, site_id, now)
        return ArrivalQr(code, qr_data_uri(arrival_address(self.base_url, slug, code)), until)


def still_holds(known: ArrivalQr | None, now: datetime) -> bool:
    """Whether `known` is still the code of the moment at `now` (no need to draw it again)."""
    return known is not None and known.until - ARRIVAL_CODE_EVERY <= now < known.until
