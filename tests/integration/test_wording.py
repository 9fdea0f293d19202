"""The wording of the whole service over a scripted day at the Mairie du 15e, on both
databases (issue 16): every page a resident or an agent can open, and every email and
text the day writes, read as people read them, with none of the slips that make a
service look unfinished: "0 personne(s)", "1 minutes", "0 à 38 minutes", "(1e)",
"13 h / 00", a time written with spaces a line may end at (but in a text message), a
point médian in what residents read, a leftover "None" or "%(name)s", and, once English
is offered, a French sentence left in an English page.

The day is chosen for what it makes the pages say: it is Tuesday 1st December (a date
on the 1st of the month), a mairie is closed all day and another until 13 h, the queue
holds 0, 1, 2 and then many people, waits of 0 and 1 minute and of more than an hour,
a ticket is called, visits end (one sent on to an expert department), appointments are
booked, moved, cancelled and called off by the mairie; a resident takes a ticket from
their phone, is told to leave home, is passed over while away and their ticket closes.

The pages are found from the app's routes: a GET route outside the API that this test
does not open fails it (`NOT_PAGES` says which addresses are not pages, and why).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from babel.messages.pofile import read_po
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app import i18n
from app.config import Settings
from app.db import Database
from app.notify import render
from app.notify.models import OutboxMessage
from app.partners.sessions import COOKIE as PARTNER_COOKIE
from app.queue import arrival_codes, remote
from app.scheduler import Scheduler
from app.sites.models import Need, Service
from app.sites.service import get_site
from tests.conftest import STAFF_PASSWORD, Staff
from tests.post import PUBLIC_URL, Post
from tests.routes import fill

SITE = "paris-15"
TUESDAY = "2026-12-01"
SESSION_COOKIE = "guichet_session"
PARIS = ZoneInfo("Europe/Paris")

# Addresses outside the JSON API that answer a GET but are no page of the service.
NOT_PAGES = {
    "/api/": "the JSON API",
    "/static/": "style sheets, scripts and pictures",
    "/display/static/": "the lobby screen's scripts and style sheet",
    "/schema": "the API's documentation, in English for developers",
    "/health/": "probes for the orchestrator",
    "/metrics": "figures for the monitoring",
    "/open-data/": "files of the national open-data standards, worded as the standards say",
    "/favicon.ico": "the icon browsers ask for",
}
# Pages this test cannot render, each with its reason.
UNRENDERED: dict[str, str] = {
    # Off without GUICHET_OIDC_ISSUER, as in this day: tests/oidc opens them with a provider.
    "/mon-espace": "a resident's space, with sign-in only",
    "/mon-espace/connexion": "a redirect to the OpenID provider",
    "/mon-espace/connexion/retour": "the OpenID provider's way back",
    "/mon-espace/coordonnees": "a resident's saved details, with sign-in only",
    "/mon-espace/suppression": "deleting a resident's space, with sign-in only",
    # Off without GUICHET_STAFF_OIDC_ISSUER: tests/oidc/test_staff_sign_in.py opens them.
    "/agents/connexion": "a redirect to the staff's OpenID provider",
    "/agents/connexion/retour": "the staff's OpenID provider's way back",
}
# Pages read by an expert department or a partner (a CCAS), not by residents: held to the
# staff's rules.
PARTNER_PAGES = {
    "/demande-transmise/{token:str}",
    "/partenaires",
    "/partenaires/mairies/{slug:str}/rendez-vous",
    "/partenaires/demandes/{reference:str}",
}
# Messages read by an expert department or a partner.
PARTNER_MESSAGES = {"department_request", "partner_copy"}


# Reading a page as people read it --------------------------------------------------------

SKIPPED = {"script", "style", "template"}
BLOCKS = {
    "address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "dialog",
    "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2",
    "h3", "h4", "h5", "h6", "header", "hr", "legend", "li", "main", "nav", "ol", "option",
    "p", "section", "select", "summary", "table", "tbody", "td", "tfoot", "th", "thead",
    "title", "tr", "ul", "label", "button", "input", "textarea", "svg", "text", "tspan",
}  # fmt: skip
SPOKEN = ("aria-label", "alt", "title", "placeholder", "aria-description", "aria-valuetext")
BUTTON_INPUTS = {"submit", "button", "reset"}
WHITESPACE = re.compile(r"[ \t\r\n\f]+")


class VisibleText(HTMLParser):
    """The texts of a page a person sees or hears: its text in blocks (a paragraph, a
    cell, a button), whitespace folded as a browser folds it, and the texts of the
    attributes a screen reader or a tooltip says; not its scripts nor its styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[list[str]] = [[]]
        self.attributes: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED:
            self.skipping += 1
            return
        if tag in BLOCKS:
            self.blocks.append([])
        values = {name: value or "" for name, value in attrs}
        self.attributes += [values[name] for name in SPOKEN if values.get(name)]
        if tag == "input" and values.get("type") in BUTTON_INPUTS and values.get("value"):
            self.attributes.append(values["value"])

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in SKIPPED:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in BLOCKS:
            self.blocks.append([])

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.blocks[-1].append(data)

    def texts(self) -> list[str]:
        folded = [WHITESPACE.sub(" ", "".join(block)).strip(" ") for block in self.blocks]
        return [text for text in folded + self.attributes if text.strip()]


def visible_texts(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    parser.close()
    return parser.texts()


def plain_texts(text: str) -> list[str]:
    """A plain text (an email's, a text message's) line by line."""
    return [line.rstrip() for line in text.splitlines() if line.strip()]


# The slips ------------------------------------------------------------------------------

SPACE = "[ \u00a0\u202f]"
COUNTED = (
    "minutes|heures|jours|semaines|personnes|tickets|rendez-vous|créneaux|postes|mairies|"
    "visites|demandes|messages|agents|appels|places|fois|secondes|démarches|besoins|lignes"
)
NOT_A_NUMBER_BEFORE = r"(?<![\d.,\u00a0\u202f])"
SLIPS: list[tuple[str, re.Pattern[str]]] = [
    ("a plural in brackets", re.compile(r"\((?:s|e|es|x|nt)\)")),
    (
        "a plural after 0 or 1",
        re.compile(rf"{NOT_A_NUMBER_BEFORE}\b[01]{SPACE}(?:{COUNTED})\b(?!-)"),
    ),
    ("a range from 0", re.compile(rf"{NOT_A_NUMBER_BEFORE}\b0{SPACE}à\b")),
    ("1e for 1er", re.compile(r"(?<![\w-])1e\b(?!-)")),
    ("a time as h / mm", re.compile(rf"\bh{SPACE}*/")),
    ("two spaces", re.compile(rf"\S{SPACE}{{2,}}\S")),
    ("a space before a comma", re.compile(rf"{SPACE},")),
    ("a value left out", re.compile(r"\b(?:None|null|undefined|NaN)\b")),
    ("a placeholder left in", re.compile(r"\{\{|\}\}|\{%|%\}|%\(\w+\)[sd]")),
]
# What residents read is written without point médian ("arrivé·e").
USAGER_SLIPS: list[tuple[str, re.Pattern[str]]] = [
    ("a point médian", re.compile("[·⋅]")),
]
# Pages and emails write a time in one piece, with no-break spaces ("9\u00a0h\u00a030",
# "1\u00a0h\u00a015"), so that a narrow screen never ends a line between "9 h" and "30"; text
# messages alone write it with plain spaces (GSM-7 has no other).
NOT_SMS_SLIPS: list[tuple[str, re.Pattern[str]]] = [
    ("a time that may part at a line's end", re.compile(r"\b\d{1,2} h \d{2}\b")),
]


@dataclass(frozen=True)
class Finding:
    where: str
    slip: str
    text: str

    def __str__(self) -> str:
        return f"{self.where}: {self.slip}: «{self.text}»"


def around(text: str, match: re.Match[str], width: int = 40) -> str:
    start, end = max(0, match.start() - width), min(len(text), match.end() + width)
    return text[start:end]


# An address (a ticket's link, with its random token) is not prose: "…Njs1e-Q…" is no slip.
ADDRESS = re.compile(r"\S+\.\w{2,}/\S*")


def slips_in(where: str, texts: list[str], *, usager: bool, sms: bool = False) -> list[Finding]:
    rules = SLIPS + (USAGER_SLIPS if usager else []) + ([] if sms else NOT_SMS_SLIPS)
    return [
        Finding(where, name, around(text, match))
        for text in (ADDRESS.sub("<adresse>", text) for text in texts)
        for name, pattern in rules
        for match in pattern.finditer(text)
    ]


# English: no French sentence left -------------------------------------------------------

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")
WORDS_AT_LEAST = 4


def french_fragments(translated: dict[str, str]) -> list[str]:
    """The parts of the French msgids whose English differs (or is missing), between
    their placeholders, long enough (4 words) to be a sentence rather than a name or a
    word both languages share."""
    fragments = set()
    for msgid, msgstr in translated.items():
        if msgstr == msgid:
            continue
        for part in PLACEHOLDER.split(msgid):
            part = WHITESPACE.sub(" ", part).strip(" .,:;!?«»")
            if len(part.split()) >= WORDS_AT_LEAST:
                fragments.add(part)
    return sorted(fragments, key=len, reverse=True)


def english_catalog() -> dict[str, str]:
    """msgid → English msgstr (a plural entry by its singular)."""
    path = i18n.LOCALES_DIR / "en" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as source:
        catalog = read_po(source, locale="en")
    pairs = {}
    for message in catalog:
        if not message.id:
            continue
        msgid = message.id[0] if isinstance(message.id, tuple) else message.id
        msgstr = message.string[0] if isinstance(message.string, tuple) else message.string
        pairs[str(msgid)] = str(msgstr or "")
    return pairs


async def catalogue_names(db: Database) -> list[str]:
    """The names of the démarches and needs, as the database holds them."""
    async with db.session() as session:
        services = await session.scalars(select(Service.name))
        needs = await session.scalars(select(Need.name))
        return [WHITESPACE.sub(" ", name) for name in (*services, *needs)]


def french_in(where: str, texts: list[str], fragments: list[str]) -> list[Finding]:
    found = []
    for text in texts:
        folded = WHITESPACE.sub(" ", text)
        for fragment in fragments:
            if fragment in folded:
                found.append(Finding(where, "French left in English", fragment))
                break
    return found


# The pages of the app --------------------------------------------------------------------


def page_routes(app: Litestar) -> set[str]:
    """The path templates of the GET routes outside `NOT_PAGES`: the service's pages."""
    return {
        route.path
        for route in app.routes
        if isinstance(route, HTTPRoute)
        and not route.path.startswith(tuple(NOT_PAGES))
        and any("GET" in handler.http_methods for handler in route.route_handlers)
    }


@dataclass
class Reader:
    """Opens pages as a resident (no session) or as an agent (their session's cookie),
    and keeps what each said; in English too once English is offered."""

    post: Post
    db: Database
    findings: list[Finding] = field(default_factory=list)
    covered: set[str] = field(default_factory=set)
    sessions: dict[str, str] = field(default_factory=dict)
    pages: int = 0
    english: list[str] | None = None

    @property
    def client(self) -> AsyncTestClient[Litestar]:
        return self.post.client

    async def log_in(self, who: str, email: str) -> None:
        """Open `who`'s session; its cookie is sent only with `who`'s pages."""
        response = await self.client.post(
            "/connexion",
            data={"email": email, "password": STAFF_PASSWORD},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        self.sessions[who] = response.cookies[SESSION_COOKIE]
        self.client.cookies.clear()

    async def log_in_all(self, day: Day) -> None:
        for who in ("admin", "manager", "reception", "facilitator"):
            await self.log_in(who, day.emails[who])

    def _where(self, path: str, who: str | None, lang: str = "fr") -> str:
        local = self.post.clock().astimezone(PARIS).strftime("%a %d/%m %H:%M")
        reader = who or "resident"
        return f"{path} ({reader}, {local}{', ' + lang if lang != 'fr' else ''})"

    async def page(
        self,
        template: str,
        *,
        who: str | None = None,
        query: dict[str, Any] | list[tuple[str, Any]] | None = None,
        expect: int | tuple[int, ...] = 200,
        **values: Any,
    ) -> str:
        """Open the page of route `template` with its parameters `values`, read it, and
        return its HTML."""
        path = fill(template, values)
        if query:
            path = f"{path}?{urlencode(query, doseq=True)}"
        headers = {"Cookie": f"{SESSION_COOKIE}={self.sessions[who]}"} if who else {}
        response = await self.client.get(path, headers=headers, follow_redirects=True)
        assert not (who and response.url.path == "/connexion" != path), f"{path}: {who} logged out"
        expected = expect if isinstance(expect, tuple) else (expect,)
        assert response.status_code in expected, (
            f"{path}: {response.status_code}\n{response.text[:800]}"
        )
        assert response.headers["content-type"].startswith("text/html"), (
            f"{path}: {response.headers['content-type']}"
        )
        self.covered.add(template)
        self.pages += 1
        usager = who is None and template not in PARTNER_PAGES
        where = self._where(path, who)
        self.findings += slips_in(where, visible_texts(response.text), usager=usager)
        if self.english is not None and who is None:
            await self._in_english(path, usager)
        return response.text

    async def _in_english(self, path: str, usager: bool) -> None:
        assert self.english is not None
        joiner = "&" if "?" in path else "?"
        response = await self.client.get(
            f"{path}{joiner}lang=en",
            headers={"Accept-Language": "en-GB,en;q=0.9"},
            follow_redirects=True,
        )
        where = self._where(path, None, "en")
        texts = visible_texts(response.text)
        self.findings += french_in(where, texts, self.english)
        self.findings += slips_in(where, texts, usager=usager)
        self.client.cookies.clear()

    async def form(self, path: str, data: dict[str, Any], expect: int) -> str:
        """Send a resident's form and read the page it answers with (a summary, the form
        again with its mistakes)."""
        response = await self.client.post(path, data=data, follow_redirects=True)
        assert response.status_code == expect, f"POST {path}: {response.status_code}"
        self.pages += 1
        where = self._where(f"POST {path}", None)
        self.findings += slips_in(where, visible_texts(response.text), usager=True)
        return response.text


# The day ---------------------------------------------------------------------------------


class Day:
    """The day's people, its agents and the scheduler's jobs, run as the clock moves."""

    def __init__(self, post: Post, db: Database, settings: Settings) -> None:
        self.post, self.client, self.clock = post, post.client, post.clock
        self.db, self.settings = db, settings
        self.staff = Staff(db, post.client)
        self.scheduler = Scheduler(db, settings, post.clock, post.dispatcher, "test")
        self.emails: dict[str, str] = {}
        self.headers: dict[str, dict[str, str]] = {}
        self.stations: dict[str, int] = {}
        self.appointments: dict[str, Any] = {}
        self.tickets: dict[str, Any] = {}

    async def open(self) -> Day:
        site = (await self.client.get(f"/api/v1/sites/{SITE}")).json()
        self.stations = {station["name"]: station["id"] for station in site["stations"]}
        for role, sites in (
            ("admin", ()),
            ("manager", (SITE,)),
            ("reception", (SITE,)),
            ("facilitator", (SITE,)),
        ):
            self.emails[role] = await self.staff.agent(role, *sites)
        await self.renew_tokens()
        return self

    async def renew_tokens(self) -> None:
        """Bearer tokens for the day (they last a day in tests)."""
        for role, email in self.emails.items():
            token = await self.staff.token(email)
            self.headers[role] = {"Authorization": f"Bearer {token}"}

    async def at(self, when: str) -> None:
        self.clock.set(when if " " in when else f"{TUESDAY} {when}")
        await self.scheduler.missed_sweep()
        await self.scheduler.closing_sweep()
        await self.scheduler.remote_sweep()
        await self.post.send_due()

    async def api(self, method: str, path: str, who: str | None = None, **kwargs: Any) -> Any:
        headers = self.headers[who] if who else {}
        response = await self.client.request(method, path, headers=headers, **kwargs)
        assert response.status_code in (200, 201, 204), f"{method} {path}: {response.text}"
        return response.json() if response.content else None

    async def book(self, name: str, when: str, **fields: Any) -> Any:
        body = {"site": SITE, "service": "caf", "start": when, "name": name, **fields}
        by_phone = fields.get("channel") == "phone"
        booked = await self.api(
            "POST", "/api/v1/appointments", "reception" if by_phone else None, json=body
        )
        self.appointments[name] = booked
        return booked

    async def walk_in(self, name: str, **fields: Any) -> Any:
        ticket = await self.api(
            "POST",
            f"/api/v1/sites/{SITE}/tickets",
            "reception",
            json={"service": "caf", **fields},
        )
        self.tickets[name] = ticket
        await self.post.send_due()
        return ticket

    async def check_in(self, name: str) -> Any:
        ticket = await self.api(
            "POST",
            f"/api/v1/sites/{SITE}/check-ins",
            "reception",
            json={"reference": self.appointments[name]["reference"]},
        )
        self.tickets[name] = ticket
        return ticket

    async def call(self, station: str) -> Any:
        called = await self.api(
            "POST", f"/api/v1/stations/{self.stations[station]}/call-next", "facilitator"
        )
        await self.post.send_due()
        return called

    async def act(self, ticket: Any, action: str, **visit: Any) -> None:
        await self.api(
            "POST",
            f"/api/v1/tickets/{ticket['id']}/{action}",
            "facilitator",
            json=visit or None,
        )
        await self.post.send_due()

    def name_of(self, ticket: Any) -> str:
        return next(name for name, held in self.tickets.items() if held["id"] == ticket["id"])


async def the_days_before(day: Day, reader: Reader) -> None:
    """Monday 30 November: settings, closures, bookings; the residents' pages."""
    await day.api(
        "PATCH",
        "/api/v1/departments/caf",
        "admin",
        json={"email": "demandes.caf@partenaires.example.org"},
    )
    await day.api(
        "PATCH", f"/api/v1/admin/sites/{SITE}", "manager", json={"reminder_hours": [48, 24, 2]}
    )
    await day.api(
        "POST",
        f"/api/v1/admin/sites/{SITE}/closures",
        "manager",
        json={
            "starts_at": "2026-12-10T08:00:00+01:00",
            "ends_at": "2026-12-10T20:00:00+01:00",
            "reason": "Élections",
        },
    )
    await day.api(
        "PUT",
        f"/api/v1/admin/sites/{SITE}/hours-exceptions/2026-12-24",
        "manager",
        json={"ranges": [{"opens": "08:30", "closes": "12:00"}], "reason": "Veille de Noël"},
    )
    await day.api(
        "POST",
        "/api/v1/admin/sites/paris-14/closures",
        "admin",
        json={
            "starts_at": f"{TUESDAY}T00:00:00+01:00",
            "ends_at": "2026-12-02T00:00:00+01:00",
            "reason": "Travaux",
        },
    )
    long = {"needs": ["accompagnement-long"]}
    await day.book("Ada Lovelace", f"{TUESDAY}T10:00:00+01:00", email="ada@example.org")
    await day.book(
        "Bruno Martin",
        f"{TUESDAY}T09:00:00+01:00",
        phone="06 11 22 33 44",
        reminders_by_sms=True,
        channel="phone",
    )
    await day.book(
        "Chloé Bernard",
        f"{TUESDAY}T11:00:00+01:00",
        email="chloe@example.org",
        phone="06 22 33 44 55",
        reminders_by_sms=True,
    )
    # Those who gave only a mobile number are told of every change by text.
    by_phone = {"reminders_by_sms": True, "channel": "phone"}
    await day.book("Denis Petit", f"{TUESDAY}T14:00:00+01:00", phone="06 77 88 99 00", **by_phone)
    await day.book("Hugo Blanc", f"{TUESDAY}T15:00:00+01:00", phone="07 81 22 33 44", **by_phone)
    await day.book(
        "Emma Roux", f"{TUESDAY}T11:30:00+01:00", phone="06 33 44 55 66", **by_phone, **long
    )
    await day.book("Farid Haddad", f"{TUESDAY}T14:00:00+01:00", email="farid@example.org", **long)
    await day.book("Gaëlle Morel", f"{TUESDAY}T14:00:00+01:00", email="gaelle@example.org", **long)
    # At 9:00 and 16:00 too, the first of two takes Poste 5, the second Poste 6.
    await day.book("Inès Garnier", f"{TUESDAY}T09:00:00+01:00", email="ines@example.org", **long)
    await day.book(
        "Karim Diallo", f"{TUESDAY}T16:00:00+01:00", phone="06 98 76 54 32", **by_phone, **long
    )
    await day.book("Léa Fontaine", f"{TUESDAY}T16:00:00+01:00", email="lea@example.org", **long)
    await day.book("Jules Faure", "2026-12-02T10:00:00+01:00", email="jules@example.org")
    await day.post.send_due()

    # Looking for a mairie, and booking.
    await reader.page("/")
    await reader.page("/", query={"q": "15"})
    await reader.page("/", query={"q": "75015"})
    await reader.page("/", query={"q": "Montmartre"})
    await reader.page("/", query={"q": "zzz"})
    for slug in (SITE, "paris-14", "paris-19", "paris-20"):
        await reader.page("/mairies/{slug:str}", slug=slug)
    flow = "/mairies/{slug:str}/rendez-vous"
    await reader.page(flow, slug=SITE)
    await reader.page(flow, slug=SITE, query={"erreur": "demarche"}, expect=400)
    await reader.page(f"{flow}/creneaux", slug=SITE, query={"service": "caf"})
    await reader.page(f"{flow}/creneaux", slug=SITE, query={"service": "caf", "du": TUESDAY})
    await reader.page(
        f"{flow}/creneaux",
        slug=SITE,
        query=[("service", "caf"), ("besoins", "accompagnement-long"), ("besoins", "vue")],
    )
    slot = f"{TUESDAY}T15:30:00+01:00"
    await reader.page(f"{flow}/coordonnees", slug=SITE, query={"service": "caf", "debut": slot})
    past = "2026-11-29T10:00:00+01:00"
    await reader.page(
        f"{flow}/coordonnees",
        slug=SITE,
        query={"service": "caf", "debut": past},
        expect=(409, 422),
    )
    contact = {"service": "caf", "debut": slot, "nom": "Marie Curie", "besoins": "vue"}
    await reader.form(
        f"/mairies/{SITE}/rendez-vous/coordonnees",
        {**contact, "email": "marie@example.org", "telephone": "06 12 34 56 78"},
        200,
    )
    await reader.form(
        f"/mairies/{SITE}/rendez-vous/coordonnees", {**contact, "email": "marie@"}, 422
    )
    await reader.page("/premier-creneau")
    await reader.page("/premier-creneau", query={"demarche": "caf"})
    await reader.page(
        "/premier-creneau",
        query={"demarche": "caf", "besoins": "fauteuil", "pres-de": "75015", "ordre": "distance"},
    )
    await reader.page("/premier-creneau", query={"demarche": ""}, expect=400)
    await reader.page("/rendez-vous/retrouver")
    await reader.form(
        "/rendez-vous/retrouver", {"reference": "15-AAAAAA", "contact": "x@example.org"}, 422
    )

    # Their appointments: booked, moved, cancelled.
    ada = day.appointments["Ada Lovelace"]["token"]
    await reader.page("/r/{token:str}", token=ada)
    for flag in ("confirme", "sans-rappels"):
        await reader.page("/rendez-vous/{token:str}", token=ada, query={flag: "1"})
    await reader.page("/rendez-vous/{token:str}/annuler", token=ada)
    await reader.page("/rendez-vous/{token:str}/deplacer", token=ada)
    chloe = day.appointments["Chloé Bernard"]["token"]
    await day.api(
        "POST",
        f"/api/v1/appointments/{chloe}/reschedule",
        json={"start": "2026-12-03T10:00:00+01:00"},
    )
    await reader.page("/rendez-vous/{token:str}", token=chloe, query={"deplace": "1"})
    hugo = day.appointments["Hugo Blanc"]["token"]
    await day.api(
        "POST",
        f"/api/v1/appointments/{hugo}/reschedule",
        json={"start": "2026-12-02T10:00:00+01:00"},
    )
    denis = day.appointments["Denis Petit"]["token"]
    await day.api("POST", f"/api/v1/appointments/{denis}/cancel")
    await reader.page("/rendez-vous/{token:str}", token=denis, query={"annule": "1"})
    jules = day.appointments["Jules Faure"]["token"]
    await day.api("POST", f"/api/v1/appointments/{jules}/cancel")
    await reader.page("/rendez-vous/{token:str}", token=jules)
    await day.post.send_due()


async def earlier_slots(day: Day, reader: Reader) -> None:
    """Two people ask for an earlier slot, one by email, one by text only: each is offered
    one, and the pages of each step are read."""
    await day.book("Lucie Bonnet", "2026-12-04T10:00:00+01:00", email="lucie@example.org")
    await day.book(
        "Marc Lefèvre",
        "2026-12-04T10:30:00+01:00",
        phone="06 55 44 33 22",
        reminders_by_sms=True,
        channel="phone",
    )
    lucie = day.appointments["Lucie Bonnet"]["token"]
    marc = day.appointments["Marc Lefèvre"]["token"]
    page = "/rendez-vous/{token:str}/plus-tot"
    await reader.page(page, token=lucie)
    await reader.form(f"/rendez-vous/{lucie}/plus-tot", {"avant": "31/12/2030"}, 422)
    await reader.form(f"/rendez-vous/{lucie}/plus-tot", {"avant": "03/12/2026"}, 200)
    await day.api("POST", f"/api/v1/appointments/{marc}/waitlist", json={})
    await day.scheduler.offer_round()
    await reader.page("/p/{token:str}", token=marc)
    await reader.page(page, token=marc)
    await reader.page("/rendez-vous/{token:str}", token=marc)
    for flag in ("demande", "laisse", "arrete", "expire"):
        await reader.page(page, token=lucie, query={flag: "1"})
    await reader.page("/accueil/{slug:str}/plus-tot", who="reception", slug=SITE)
    await reader.form(f"/rendez-vous/{marc}/plus-tot/laisser", {}, 200)
    await reader.form(f"/rendez-vous/{lucie}/plus-tot/prendre", {}, 200)
    await reader.form(f"/rendez-vous/{marc}/plus-tot/arreter", {}, 200)
    await day.post.send_due()


async def a_station_breaks(day: Day, reader: Reader) -> None:
    """Tuesday 7:30: Poste 5 is out of order all day; Emma is kept at Poste 6, Farid's
    appointment is called off. Before opening: the mairie closed, nobody waiting."""
    await day.at("07:30")
    await day.renew_tokens()
    await day.api(
        "POST",
        f"/api/v1/admin/sites/{SITE}/outages",
        "manager",
        json={
            "station_id": day.stations["Poste 5"],
            "starts_at": f"{TUESDAY}T08:30:00+01:00",
            "ends_at": f"{TUESDAY}T17:00:00+01:00",
            "reason": "Écran en panne",
        },
    )
    await day.post.send_due()
    farid = day.appointments["Farid Haddad"]["token"]
    await reader.page("/rendez-vous/{token:str}", token=farid)
    await reader.page("/rendez-vous/{token:str}/reprendre", token=farid)
    emma = day.appointments["Emma Roux"]["token"]
    await reader.page("/rendez-vous/{token:str}", token=emma)
    await day.at("08:00")
    await staff_pages(day, reader, "before opening")
    for slug in (SITE, "paris-14", "paris-19"):
        await reader.page("/mairies/{slug:str}", slug=slug)


async def staff_pages(day: Day, reader: Reader, moment: str) -> None:
    """The consoles as each agent sees them at this moment (sessions end after two hours
    without activity: each agent logs in again)."""
    await reader.log_in_all(day)
    for who in ("reception", "manager", "facilitator", "admin"):
        await reader.page("/console", who=who)
    await reader.page("/accueil/{slug:str}", who="reception", slug=SITE)
    await reader.page("/accueil/{slug:str}/file", who="reception", slug=SITE)
    await reader.page("/accueil/{slug:str}/code-arrivee", who="reception", slug=SITE)
    await reader.page("/accueil/{slug:str}", who="reception", slug=SITE, query={"q": "lovelace"})
    for station in ("Poste 2", "Poste 5"):
        await reader.page(
            "/poste/{station_id:int}", who="facilitator", station_id=day.stations[station]
        )
        await reader.page(
            "/poste/{station_id:int}/file", who="facilitator", station_id=day.stations[station]
        )


async def the_queue_fills(day: Day, reader: Reader) -> None:
    """8:30: the first walk-ins, one a minute, each seeing how many are before them; then
    many more, whose wait runs past an hour."""
    await day.at("08:30")
    await day.walk_in("W1", phone="06 44 55 66 77")
    await track(day, reader, "W1")  # nobody before
    await reader.page("/accueil/{slug:str}", who="reception", slug=SITE)  # waited 0 minutes
    await day.at("08:31")
    await day.walk_in("W2")
    await track(day, reader, "W2")  # one before
    await reader.page("/accueil/{slug:str}/file", who="reception", slug=SITE)  # 1 minute
    await day.at("08:32")
    await day.walk_in("W3", phone="06 55 66 77 88", needs=["vue"])
    await track(day, reader, "W3")  # two before
    await from_a_phone(day, reader)
    for number in range(4, 19):
        await day.at(f"08:{29 + number}")
        fields: dict[str, Any] = {"needs": ["accompagnement-long"]} if number % 5 == 0 else {}
        if number == 18:
            fields["phone"] = "06 66 77 88 99"
        await day.walk_in(f"W{number}", **fields)
    await track(day, reader, "W18")  # many before, more than an hour
    await track(day, reader, "W10")
    await day.at("08:50")
    await day.check_in("Bruno Martin")
    await staff_pages(day, reader, "a full queue")


async def from_a_phone(day: Day, reader: Reader) -> None:
    """8:32: a resident an hour away takes a ticket from their phone and opens the first
    text's link (which confirms the number). The sweep of 8:33 tells them to leave home;
    the call of W4, who came after them, passes them over, and they never come: their
    ticket is held, then closed."""
    await reader.page("/mairies/{slug:str}/file", slug=SITE)
    ticket = await day.api(
        "POST",
        f"/api/v1/sites/{SITE}/remote-tickets",
        json={"service": "caf", "phone": "06 77 88 99 00", "travel_minutes": 60},
    )
    day.tickets["From a phone"] = ticket
    async with day.db.session() as session:
        data = await session.scalar(
            select(OutboxMessage.data).where(OutboxMessage.kind == "joined")
        )
        assert data is not None, "no first text to the holder of a ticket taken from a phone"
        secret = day.settings.secret_key
        now = day.clock()
        assert await remote.confirm(
            session, ticket["token"], data["confirmation"], secret=secret, now=now
        )
    await day.post.send_due()
    await reader.page("/ticket/{token:str}", token=ticket["token"])  # not there yet
    async with day.db.session() as session:
        site = await get_site(session, SITE)
        code = arrival_codes.arrival_code(day.settings.secret_key, site.id, day.clock())[0]
    await reader.page("/arrivee/{slug:str}", slug=SITE, query={"code": code})  # no cookie


async def track(day: Day, reader: Reader, name: str) -> None:
    token = day.tickets[name]["token"]
    await reader.page("/ticket/{token:str}", token=token)
    await reader.page("/ticket/{token:str}/etat", token=token)
    await reader.page("/t/{token:str}", token=token)


async def the_morning(day: Day, reader: Reader) -> None:
    """The stations call and serve; Ada's request is sent on to the CAF."""
    await day.at("08:51")
    first = await day.call("Poste 2")
    name = day.name_of(first)
    await track(day, reader, name)  # called
    await track(day, reader, "W2")  # next
    await reader.page("/ticket/{token:str}/quitter", token=day.tickets["W2"]["token"])
    await day.act(first, "start")
    await reader.page(
        "/poste/{station_id:int}", who="facilitator", station_id=first["station"]["id"]
    )
    await day.at("09:10")
    await day.act(
        first, "finish", outcome="escalated", department="logement", note="Dossier à compléter"
    )
    token = day.tickets[name]["token"]
    await reader.page("/ticket/{token:str}/avis", token=token)
    await reader.page("/ticket/{token:str}/avis", token=token, query={"merci": "1"})
    await reader.page("/a/{token:str}", token=token)
    await day.at("09:55")
    await day.check_in("Ada Lovelace")
    minute = 56
    ada = day.tickets["Ada Lovelace"]
    for _ in range(40):
        await day.at(f"{9 + minute // 60:02d}:{minute % 60:02d}")
        minute += 2
        called = None
        for station in ("Poste 1", "Poste 2", "Poste 3", "Poste 4", "Poste 6"):
            called = await day.call(station)
            if called is None:
                continue
            await day.act(called, "start")
            if called["id"] == ada["id"]:
                break
            outcome = "alone" if called["id"] % 2 else "solved"
            await day.act(called, "finish", outcome=outcome)
        if called is not None and called["id"] == ada["id"]:
            break
    else:
        raise AssertionError("Ada was never called")
    await track(day, reader, "Ada Lovelace")
    await day.act(
        ada, "finish", outcome="escalated", department="caf", note="Attestation manquante"
    )
    await day.at("11:15")
    await track(day, reader, "W18")
    await reader.page("/rendez-vous/{token:str}", token=day.appointments["Ada Lovelace"]["token"])


async def the_departments_answer(day: Day, reader: Reader, db: Database) -> None:
    """The requests sent on move forward, the residents being told; the CAF's page."""
    requests = await day.api("GET", "/api/v1/escalations", "manager")
    assert len(requests) == 2, requests
    for request in requests:
        for status, message in (
            ("in_progress", "Le dossier est à l'étude."),
            ("answered", "Votre attestation est disponible dans votre espace en ligne."),
        ):
            await day.api(
                "POST",
                f"/api/v1/escalations/{request['reference']}/status",
                "manager",
                json={"status": status, "message": message},
            )
    await day.post.send_due()
    async with db.session() as session:
        data = await session.scalar(
            select(OutboxMessage.data).where(OutboxMessage.kind == "department_request")
        )
    assert data is not None, "no request was emailed to a department"
    token = data["department_token"]
    await reader.page("/demande-transmise/{token:str}", token=token)
    await reader.page("/demande-transmise/{token:str}", token=token, query={"fait": "1"})


async def partners_refer(day: Day, reader: Reader) -> None:
    """A CCAS, whose account the CAF's requests were sent on to for the day, books for a
    person on its page (the copy of the confirmation comes to it) and reads a request."""
    ccas = await day.api(
        "POST",
        "/api/v1/admin/partners",
        "admin",
        json={"name": "CCAS du 15e", "email": "ccas15@example.org", "sites": [SITE]},
    )
    await day.api("PATCH", "/api/v1/departments/caf", "admin", json={"partner": ccas["id"]})
    await reader.page("/partenaires")  # the login form
    opened = await reader.client.post(
        "/partenaires/connexion", data={"cle": ccas["key"]}, follow_redirects=False
    )
    assert opened.status_code == 303, opened.text
    cookie = opened.cookies[PARTNER_COOKIE]

    async def as_partner(template: str, **values: Any) -> str:
        """The page as the partner sees it (the reader forgets cookies after each page)."""
        reader.client.cookies.set(PARTNER_COOKIE, cookie)
        return await reader.page(template, **values)

    home = await as_partner("/partenaires")
    csrf = re.search(r'name="csrf" value="([^"]+)"', home)
    assert csrf is not None
    for day_of_month in range(2, 12):  # the first day with a free slot
        jour = f"2026-12-{day_of_month:02d}"
        form = await as_partner(
            "/partenaires/mairies/{slug:str}/rendez-vous",
            slug=SITE,
            query={"service": "caf", "jour": jour},
        )
        slot = re.search(r'name="debut" id="[^"]+" value="([^"]+)"', form)
        if slot is not None:
            break
    assert slot is not None, "no free slot for the partner"
    reader.client.cookies.set(PARTNER_COOKIE, cookie)
    booked = await reader.client.post(
        "/partenaires/mairies/paris-15/rendez-vous",
        data={
            "csrf": csrf.group(1),
            "service": "caf",
            "jour": jour,
            "debut": html.unescape(slot.group(1)),
            "nom": "Marcel Pagnol",
            "email": "marcel.pagnol@example.org",
        },
        follow_redirects=False,
    )
    assert booked.status_code == 303, booked.text
    path, _, query = booked.headers["location"].partition("?")
    await as_partner(path, query=parse_qsl(query))  # the referral just booked
    requests = await day.api("GET", "/api/v1/escalations", "manager")
    to_caf = next(request for request in requests if request["department"] == "caf")
    await as_partner("/partenaires/demandes/{reference:str}", reference=to_caf["reference"])
    reader.client.cookies.set(PARTNER_COOKIE, cookie)
    await reader.client.post("/partenaires/deconnexion", data={"csrf": csrf.group(1)})
    reader.client.cookies.clear()
    await day.api("PATCH", "/api/v1/departments/caf", "admin", json={"partner": None})


async def the_offices(day: Day, reader: Reader) -> None:
    """Mid-morning at the desks and in the administration."""
    await staff_pages(day, reader, "mid-morning")  # logs everyone in again
    await reader.page("/accueil/{slug:str}/rendez-vous", who="reception", slug=SITE)
    await reader.page(
        "/accueil/{slug:str}/rendez-vous",
        who="reception",
        slug=SITE,
        query={"service": "caf", "besoins": "vue"},
    )
    ticket_id = day.tickets["W18"]["id"]
    await reader.page(
        "/accueil/{slug:str}/tickets/{ticket_id:int}/imprimer",
        who="reception",
        slug=SITE,
        ticket_id=ticket_id,
    )
    for name in ("Bruno Martin", "Emma Roux"):
        await reader.page(
            "/accueil/{slug:str}/rendez-vous/{reference:str}/imprimer",
            who="reception",
            slug=SITE,
            reference=day.appointments[name]["reference"],
        )
    for filtre in ("ouvertes", "toutes"):
        await reader.page(
            "/demandes/{slug:str}", who="manager", slug=SITE, query={"filtre": filtre}
        )
    await reader.page("/statistiques", who="admin")
    await reader.page("/statistiques/{slug:str}", who="manager", slug=SITE)
    await reader.page("/admin", who="admin")
    await reader.page("/admin", who="manager")
    await reader.page("/admin/sites/{slug:str}", who="admin", slug=SITE)
    await reader.page("/admin/sites/{slug:str}", who="manager", slug=SITE)
    await reader.page("/admin/catalogue", who="admin")
    await reader.page("/admin/catalogue/demarches/{code:str}", who="admin", code="caf")
    await reader.page("/admin/catalogue/demarches/nouvelle", who="admin")
    await reader.page("/admin/catalogue/besoins/{code:str}", who="admin", code="vue")
    await reader.page("/admin/catalogue/besoins/nouveau", who="admin")
    await reader.page("/admin/agents", who="admin")
    await reader.page("/admin/agents", who="manager")
    agents = await day.api("GET", "/api/v1/admin/agents", "admin")
    for agent in agents[:3]:
        await reader.page("/admin/agents/{agent_id:int}", who="admin", agent_id=agent["id"])
    await reader.page("/admin/journal", who="admin")
    await reader.page("/admin/journal", who="manager")
    await reader.page("/admin/donnees-personnelles", who="admin")
    await reader.page(
        "/admin/donnees-personnelles", who="admin", query={"fait": "efface", "lignes": "1"}
    )
    await reader.page("/display/{slug:str}", slug=SITE)
    await reader.page("/connexion")
    await reader.page("/connexion", query={"suite": "/console"})


async def closing_time(day: Day, reader: Reader) -> None:
    """17:00: those still waiting are told the mairie closes; the evening's pages."""
    await day.at("17:00")
    await day.at("17:30")
    await track(day, reader, "W18")
    await staff_pages(day, reader, "after closing")
    await reader.page("/statistiques/{slug:str}", who="manager", slug=SITE)
    for slug in (SITE, "paris-19"):
        await reader.page("/mairies/{slug:str}", slug=slug)
    await reader.page("/")


# The messages ----------------------------------------------------------------------------


async def messages_read(db: Database) -> list[Finding]:
    """Every message the day wrote (sent, pending or given way), rendered with the data it
    holds, and the slips in what it says."""
    async with db.session() as session:
        rows = list(await session.execute(select(OutboxMessage.kind, OutboxMessage.channel,
                                                 OutboxMessage.data)))  # fmt: skip
    findings: list[Finding] = []
    kinds: set[tuple[str, str]] = set()
    for kind, channel, data in rows:
        template = render.template_of(kind)
        kinds.add((template, channel))
        usager = kind not in PARTNER_MESSAGES
        if channel == "sms":
            text = render.sms(kind, data, PUBLIC_URL).text
            findings += slips_in(f"text {kind}", [text], usager=usager, sms=True)
        else:
            subject, text, html = render.email(kind, data, PUBLIC_URL)
            findings += slips_in(f"email {kind} (subject)", [subject], usager=usager)
            findings += slips_in(f"email {kind} (text)", plain_texts(text), usager=usager)
            findings += slips_in(f"email {kind} (html)", visible_texts(html), usager=usager)
    wanted = {(kind, "email") for kind in (*render.EMAIL_KINDS, *PARTNER_MESSAGES)} | {
        (kind, "sms") for kind in render.SMS_KINDS
    }
    missing = sorted(f"{kind} ({channel})" for kind, channel in wanted - kinds)
    assert not missing, f"the day wrote no message of these kinds: {', '.join(missing)}"
    return findings


# The test --------------------------------------------------------------------------------


async def test_every_page_and_message_of_a_day_reads_without_a_slip(
    post: Post, db: Database, settings: Settings
) -> None:
    app: Litestar = post.client.app  # type: ignore[assignment]
    day = await Day(post, db, settings).open()
    reader = Reader(post, db)
    if "en" in i18n.LANGUAGES:
        # The names of the démarches and needs are the catalogue's data, kept in French
        # for every visitor: a msgid that happens to lie inside one is not a slip.
        names = await catalogue_names(db)
        reader.english = [
            fragment
            for fragment in french_fragments(english_catalog())
            if not any(fragment in name for name in names)
        ]
    await reader.log_in_all(day)
    await the_days_before(day, reader)
    await earlier_slots(day, reader)
    await a_station_breaks(day, reader)
    await the_queue_fills(day, reader)
    await the_morning(day, reader)
    await the_departments_answer(day, reader, db)
    await partners_refer(day, reader)
    await the_offices(day, reader)
    await closing_time(day, reader)
    reader.findings += await messages_read(db)

    forgotten = page_routes(app) - reader.covered - set(UNRENDERED)
    assert not forgotten, f"pages this test does not open: {sorted(forgotten)}"
    unique = list(dict.fromkeys(str(finding) for finding in reader.findings))
    assert not unique, f"{len(unique)} slips in {reader.pages} pages:\n" + "\n".join(unique)


def test_the_reader_sees_the_slips_and_not_the_random_in_an_address() -> None:
    seen = {
        finding.slip
        for finding in slips_in(
            "sample", ["le 1e décembre", "0 personne(s)", "1 minutes"], usager=True
        )
    }
    assert seen == {"1e for 1er", "a plural in brackets", "a plural after 0 or 1"}
    address = "Suivre : example.org/ticket/6ub4vB1qXCcxULOGGBNjs1e-Q_824VUD (1 e)"
    assert slips_in("sample", [address, "https://x.fr/1e-(s)"], usager=True) == []
