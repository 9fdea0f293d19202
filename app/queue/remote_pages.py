"""The queue from a phone, as pages (`app.queue.remote`): joining a mairie's queue
(`/mairies/{slug}/file`), arriving there with the code of the moment, from the tracking
page's form or from the lobby's QR code (`/arrivee/{slug}`). Plain forms: no JavaScript
needed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from app import i18n
from app.booking.contacts import texting_number
from app.booking.pages import needs_of
from app.booking.schemas import Token
from app.booking.throttling import throttle_booking
from app.errors import BadRequest, Conflict, Forbidden, NotFound
from app.i18n import N_, gettext
from app.i18n.texts import refusal
from app.queue import remote, views
from app.queue.arrival_codes import typed
from app.queue.eta_words import eta_words
from app.queue.models import Ticket, TicketStatus
from app.queue.pages import PRIVATE, tracking_context
from app.sites.models import Site
from app.sites.opening import opening_of
from app.sites.schemas import Slug
from app.sites.service import get_site, list_needs, list_services
from app.throttle import UNKNOWN_LINKS, client_key
from app.web.public import PublicController, Visitor

# The browser that took a ticket holds its link until the end of the day, so that the
# lobby's QR code leads to it (`/arrivee/{slug}`).
TICKET_COOKIE = "guichet_ticket"
MAX_CODE = 12

# What the pages say when a ticket cannot be taken from a phone, by the refusal's code.
REFUSED = {
    remote.Refusal.OFF: N_(
        "Cette mairie ne donne pas de ticket à distance : venez sur place, ou prenez rendez-vous."
    ),
    remote.Refusal.CLOSED: N_(
        "La mairie est fermée en ce moment : les tickets à distance se prennent pendant ses "
        "heures d'ouverture."
    ),
    remote.Refusal.FULL: N_(
        "Tous les tickets à distance de cette heure sont déjà pris : réessayez un peu plus "
        "tard, ou prenez rendez-vous."
    ),
    remote.Refusal.TOO_LATE: N_(
        "L'attente finirait après la fermeture de la mairie : revenez un autre jour, ou "
        "prenez rendez-vous."
    ),
}
JOIN_LIMITS = {
    "phone_day_full": N_(
        "Ce numéro de portable a déjà pris trois tickets à distance aujourd'hui : venez "
        "directement à la mairie, ou appelez le 3975."
    ),
    "address_day_full": N_(
        "Trop de tickets ont été pris à distance depuis votre connexion aujourd'hui dans "
        "cette mairie : venez directement, ou appelez le 3975."
    ),
}
PHONE_TAKEN = N_(
    "Ce numéro de portable a déjà un ticket dans la file d'une mairie aujourd'hui : "
    "quittez d'abord cette file (depuis la page de ce ticket)."
)
NOT_MOBILE = N_(
    "Les SMS ne partent que vers un numéro de portable (06, 07, d'outre-mer ou étranger) : "
    "indiquez un portable."
)
LOCKED = N_(
    "Trop de codes erronés pour ce ticket : montrez-le à l'accueil de la mairie, qui "
    "enregistre votre arrivée."
)
UNKNOWN_NEED = N_("Une des aides cochées n'est plus proposée : vérifiez votre choix.")
# The QR code's page: a code of the moment, a stale one (scan again), a ticket locked.
QR_STATUSES = {None: 200, "arrival_code": 400, "arrival_locked": 403}
WRONG_CODE = N_(
    "Ce n'est pas le code affiché en ce moment à la mairie : relisez le code sur l'écran "
    "de la salle d'attente ou à l'accueil, puis recommencez."
)


@dataclass
class JoinForm:
    """What the join form holds, as typed (shown again with its mistakes)."""

    service: str = ""
    besoins: tuple[str, ...] = ()
    telephone: str = ""
    trajet: int | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def entered(cls, form: Any) -> JoinForm:
        travel = str(form.get("trajet", "")).strip()
        return cls(
            service=str(form.get("service", ""))[:40].strip(),
            besoins=needs_of(form.getall("besoins", [])),
            telephone=str(form.get("telephone", ""))[:40].strip(),
            trajet=int(travel) if travel in {str(m) for m in remote.TRAVEL_MINUTES} else None,
        )


def form_errors(entered: JoinForm, services: list[str], needs: list[str]) -> dict[str, str]:
    """French messages per field (keyed by the id of the field they lead to), before
    anything is written. `services`, `needs`: the codes offered, in the page's order."""
    errors: dict[str, str] = {}
    if entered.service not in services:
        first = services[0] if services else ""
        errors[f"demarche-{first}"] = gettext("Choisissez une démarche.")
    if not set(entered.besoins) <= set(needs):
        first = needs[0] if needs else ""
        errors[f"besoin-{first}"] = gettext(UNKNOWN_NEED)
    if not entered.telephone:
        errors["telephone"] = gettext(
            "Indiquez votre numéro de portable : nous y envoyons le lien de votre ticket."
        )
    else:
        try:
            texting_number(entered.telephone)
        except BadRequest as error:
            code = error.code
            errors["telephone"] = (
                gettext(NOT_MOBILE) if code == "phone_not_mobile" else refusal(code)
            )
    if entered.trajet is None:
        errors["trajet-20"] = gettext("Dites combien de temps il vous faut pour venir.")
    return errors


def end_of_day(site: Site, now: datetime) -> int:
    """Seconds from `now` to the next midnight at the site: how long the ticket cookie lasts."""
    local = now.astimezone(ZoneInfo(site.timezone))
    midnight = datetime.combine(local.date() + timedelta(days=1), time(), local.tzinfo)
    return max(60, int((midnight - local).total_seconds()))


async def join_context(visitor: Visitor, site: Site, entered: JoinForm) -> dict[str, Any]:
    """The join page's values: the choices, the wait now, why joining is not possible (if
    so), and the form as typed."""
    session, now = visitor.session, visitor.now
    state = await remote.join_state(session, site, now)
    opening = (
        await opening_of(session, site, now) if state.reason == remote.Refusal.CLOSED else None
    )
    services = await list_services(session)
    return {
        "site": site,
        "services": services,
        "needs": await list_needs(session),
        "travel_choices": remote.TRAVEL_MINUTES,
        "state": state,
        "eta_words": eta_words(state.eta_minutes),
        "refused": gettext(REFUSED[state.reason]) if state.reason else None,
        "opening": opening,
        "entered": entered,
        "errors": entered.errors,
    }


async def join_page(visitor: Visitor, site: Site, entered: JoinForm, status: int = 200) -> Template:
    page = await join_context(visitor, site, entered)
    return Template("remote_join.html", context=page, status_code=status)


async def arrival_page(
    visitor: Visitor, token: str, status: int, error: str | None = None
) -> Template:
    """The tracking page again, with what went wrong with the arrival code."""
    page = await tracking_context(visitor.context, token)
    page["arrival_error"] = error
    return Template("tracking.html", context=page, status_code=status, headers=PRIVATE)


async def own_ticket(visitor: Visitor, site: Site) -> Ticket | None:
    """The remote ticket of `site` whose link this browser holds (`TICKET_COOKIE`), if any.
    A link that leads nowhere counts against the address's budget of lookups, as it does
    in an address (`throttle.rate_limits`): a cookie is no way round it."""
    token = visitor.request.cookies.get(TICKET_COOKIE, "")[:64]
    if not token:
        return None
    lookups, address = visitor.request.app.state.limits.token_lookups, client_key(visitor.request)
    lookups.check(address, UNKNOWN_LINKS)
    try:
        ticket = await views.ticket_by_token(visitor.session, token)
    except NotFound:
        return None
    lookups.refund(address)
    if ticket.site_id != site.id:
        return None
    return ticket


async def refusal_of_code(visitor: Visitor, ticket: Ticket, site: Site, code: str) -> str | None:
    """Why `code`, presented for the remote `ticket`, does not let its holder in (the code
    of `remote.judge_code`'s refusal; None when it holds)."""
    try:
        await remote.judge_code(
            visitor.session, ticket, site, code, secret=visitor.settings.secret_key, now=visitor.now
        )
    except Forbidden as wrong:
        return wrong.code
    return None


def digits(code: str) -> str:
    """The arrival code as typed (`arrival_codes.typed`), kept short."""
    return typed(code)[:MAX_CODE]


class RemotePages(PublicController):
    @get("/mairies/{slug:str}/file")
    async def join_form(self, slug: Slug, visitor: NamedDependency[Visitor]) -> Template:
        site = await get_site(visitor.session, slug)
        return await join_page(visitor, site, JoinForm(trajet=20))

    @post("/mairies/{slug:str}/file")
    async def join(self, slug: Slug, visitor: NamedDependency[Visitor]) -> Template | Redirect:
        throttle_booking(visitor.request)
        session = visitor.session
        site = await get_site(session, slug)
        entered = JoinForm.entered(await visitor.request.form())
        services = [service.code for service in await list_services(session)]
        needs = [need.code for need in await list_needs(session)]
        entered.errors = form_errors(entered, services, needs)
        if entered.errors:
            return await join_page(visitor, site, entered, 400)
        try:
            ticket = await remote.join(
                session,
                site.slug,
                service_code=entered.service,
                phone=entered.telephone,
                needs=entered.besoins,
                travel_minutes=entered.trajet or 20,
                language=i18n.language.get(),
                secret=visitor.settings.secret_key,
                now=visitor.now,
                client=client_key(visitor.request),
                per_address_per_day=visitor.settings.bookings_per_address_per_day,
            )
        except Conflict as refused:
            if refused.code == "phone_has_ticket":
                entered.errors = {"telephone": gettext(PHONE_TAKEN)}
            elif refused.code in JOIN_LIMITS:
                entered.errors = {"formulaire": gettext(JOIN_LIMITS[refused.code])}
            # Else the queue closed or filled meanwhile: the page says why.
            return await join_page(visitor, site, entered, 409)
        except BadRequest as refused:
            entered.errors = {"formulaire": refusal(refused.code)}
            return await join_page(visitor, site, entered, 400)
        return Redirect(
            f"/ticket/{ticket.token}",
            status_code=303,
            cookies=[
                Cookie(
                    key=TICKET_COOKIE,
                    value=ticket.token,
                    max_age=end_of_day(site, visitor.now),
                    path="/",
                    httponly=True,
                    secure=visitor.request.url.scheme == "https",
                    samesite="lax",
                )
            ],
        )

    @post("/ticket/{token:str}/arrivee")
    async def arrive(self, token: Token, visitor: NamedDependency[Visitor]) -> Template | Redirect:
        code = digits(str((await visitor.request.form()).get("code", "")))
        try:
            await remote.arrive(
                visitor.session,
                token,
                code,
                secret=visitor.settings.secret_key,
                now=visitor.now,
            )
        except Forbidden as refused:
            said = LOCKED if refused.code == "arrival_locked" else WRONG_CODE
            return await arrival_page(visitor, token, 403, gettext(said))
        except Conflict:
            pass  # Arrived already (or over): the page says where the ticket stands.
        return Redirect(f"/ticket/{token}", status_code=303)

    @get("/arrivee/{slug:str}")
    async def arrival(self, slug: Slug, visitor: NamedDependency[Visitor]) -> Template:
        site = await get_site(visitor.session, slug)
        code = digits(visitor.request.query_params.get("code", ""))
        ticket = await own_ticket(visitor, site)
        waits = ticket is not None and ticket.status == TicketStatus.REMOTE
        # The code is judged only for the holder of a ticket here, and counted as the
        # ticket's page counts it (a wrong one brings the lock nearer): to anyone else,
        # every code gets the same page, so that the page tells nobody which code holds.
        refused = None
        if ticket is not None and waits:
            refused = await refusal_of_code(visitor, ticket, site, code)
        page = {
            "site": site,
            "code": code,
            "fresh": refused is None,
            "locked": refused == "arrival_locked",
            "ticket": ticket,
            "remote": waits,
        }
        return Template(
            "remote_arrival.html",
            context=page,
            status_code=QR_STATUSES[refused],
            headers=PRIVATE,
        )
