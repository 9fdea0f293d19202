"""Where the mairies are: distances between two points and the place a resident's words
("15", "75015", "paris-15", "Péclet") point to. Pure: no I/O."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar
from urllib.parse import quote_plus

from app.plain_text import plain

EARTH_RADIUS_KM = 6371.0088


class Located(Protocol):
    """What these functions read of a mairie (a `Site` row fits)."""

    @property
    def slug(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def arrondissements(self) -> Sequence[int]: ...
    @property
    def latitude(self) -> float | None: ...
    @property
    def longitude(self) -> float | None: ...


SiteT = TypeVar("SiteT", bound=Located)

_POSTCODE = re.compile(r"^75(0(0[1-9]|1[0-9]|20)|116)$", re.ASCII)
# "Paris" around a postcode or a number, as on an envelope: "75015 Paris", "Paris 15e".
_CITY = re.compile(r"\b(?:paris|france)\b", re.ASCII)
# "15", "15e", "15eme", "15ème", "15 e", "1er", "1re", "15e arrondissement", "paris 15"
_ARRONDISSEMENT = re.compile(r"^(\d{1,2})\s*(?:e|eme|er|re|ere)?(?:\s*arr\w*)?$", re.ASCII)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance between two points, in kilometres (haversine)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def between(one: Located, other: Located) -> float | None:
    """The distance in kilometres between two mairies; None if either has no position."""
    if one.latitude is None or one.longitude is None:
        return None
    if other.latitude is None or other.longitude is None:
        return None
    return distance_km(one.latitude, one.longitude, other.latitude, other.longitude)


def folded(text: str) -> str:
    """Lower case, without accents, apostrophes and dashes as spaces, spaces squeezed:
    "Mairie du 15ᵉ" and "mairie du 15e" compare equal."""
    return re.sub(r"[\s'’`\-_.,;:/–—]+", " ", plain(text)).strip()


def arrondissement_of(query: str) -> int | None:
    """The arrondissement (1 to 20) a postcode ("75015", "75116") or a number ("15", "15e",
    "1er"), with or without "Paris", names; None for anything else (digits other than
    0 to 9 included)."""
    text = " ".join(_CITY.sub(" ", folded(query)).split())
    compact = text.replace(" ", "")
    if _POSTCODE.match(compact):
        return 16 if compact == "75116" else int(compact[3:])
    match = _ARRONDISSEMENT.match(text)
    if match:
        number = int(match.group(1))
        if 1 <= number <= 20:
            return number
    return None


def site_for(query: str, sites: Iterable[SiteT]) -> SiteT | None:
    """The mairie a slug, a Paris postcode or an arrondissement number names."""
    text = folded(query)
    if not text:
        return None
    candidates = list(sites)
    for site in candidates:
        if folded(site.slug) == text:
            return site
    arrondissement = arrondissement_of(text)
    if arrondissement is None:
        return None
    return next((site for site in candidates if arrondissement in site.arrondissements), None)


def place_of(query: str, sites: Iterable[Located]) -> tuple[float, float] | None:
    """The position (latitude, longitude) of the mairie a slug, a Paris postcode
    (75001–75020, 75116) or an arrondissement number ("15", "15e") names; None otherwise,
    or when that mairie has no position."""
    site = site_for(query, sites)
    if site is None or site.latitude is None or site.longitude is None:
        return None
    return site.latitude, site.longitude


def search(query: str, sites: Iterable[SiteT]) -> tuple[SiteT | None, list[SiteT]]:
    """The mairie the resident's words name (a slug, a postcode, an arrondissement, or a
    part of a name, without regard to accents or case) and the others, nearest to it first;
    (None, the sites unchanged) when nothing matches."""
    candidates = list(sites)
    found = site_for(query, candidates)
    text = folded(query)
    if found is None and len(text) >= 2:
        found = _only(site for site in candidates if text in folded(site.name))
    if found is None and len(text) >= 3:
        found = _only(site for site in candidates if text in _where(site))
    if found is None:
        return None, candidates
    others = [site for site in candidates if site is not found]
    if found.latitude is None or found.longitude is None:
        return found, others
    return found, sorted(others, key=lambda site: _distance_or_far(found, site))


def _where(site: Located) -> str:
    """The address and the stations nearby, folded, for a search by street or metro."""
    parts = (getattr(site, "address", ""), getattr(site, "access", ""))
    return folded(" ".join(part or "" for part in parts))


def _only(matches: Iterable[SiteT]) -> SiteT | None:
    """The one match, or None when there are none or several ("mairie" names them all)."""
    found = list(matches)
    return found[0] if len(found) == 1 else None


def _distance_or_far(found: Located, site: Located) -> float:
    distance = between(found, site)
    return math.inf if distance is None else distance


def map_link(site: Located) -> str:
    """The mairie on OpenStreetMap: a marker at its position, else a search of its address."""
    if site.latitude is None or site.longitude is None:
        return f"https://www.openstreetmap.org/search?query={quote_plus(site.address)}"
    lat, lon = f"{site.latitude:.5f}", f"{site.longitude:.5f}"
    return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"
