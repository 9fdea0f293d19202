"""The page of earlier slots, reached from an appointment's private page or from the link
of an offer's message (`/p/{token}` in a text): ask to be told when an earlier slot frees
up (optionally before a day), take or leave the slot held for you, stop the offers. Plain
forms: no JavaScript needed."""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from litestar import get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from app import bounds
from app.booking.models import Appointment, AppointmentStatus
from app.booking.queries import SlotRefused, get_by_token
from app.booking.schemas import Token
from app.booking.throttling import throttle_booking
from app.errors import DomainError, Gone
from app.i18n import N_, formats, gettext
from app.waitlist import commands
from app.waitlist.models import OFFERS_PER_DAY
from app.web.public import PublicController, Visitor, short_link

PAGE = "/rendez-vous/{token}/plus-tot"
# What the page says on coming back from a form, by the flag in its query.
NOTICES = (
    ("demande", N_("C'est noté : nous vous prévenons dès qu'un créneau plus tôt se libère.")),
    ("laisse", N_("Ce créneau est laissé à la personne suivante. Nous continuons à chercher.")),
    ("arrete", N_("C'est noté : vous ne recevrez plus de proposition de créneau plus tôt.")),
    (
        "expire",
        N_(
            "Ce créneau n'est plus réservé pour vous : le délai est passé, ou la mairie ne "
            "peut plus le donner. Nous continuons à chercher."
        ),
    ),
)

# Why asking was refused, in the page's words, by the refusal's code.
ASK_REFUSALS = {
    "unreachable": N_(
        "Nous ne pouvons vous prévenir que par e-mail ou par SMS : ce rendez-vous n'a ni "
        "adresse e-mail ni numéro de portable. Appelez le 3975."
    ),
    "too_close": N_(
        "Votre rendez-vous est trop proche : aucun créneau plus tôt ne peut plus être réservé "
        "avant lui."
    ),
    "not_movable": N_("Ce rendez-vous ne peut plus être déplacé."),
}
# What is wrong with the day given (`avant`): an offer's slot starts on an earlier day,
# and none can be offered before the day after the first one a slot could be offered on.
BEFORE_TOO_EARLY = N_(
    "Aucun créneau ne peut vous être proposé avant le %(day)s. Indiquez le %(first)s ou un "
    "jour plus tard, au plus tard celui de votre rendez-vous."
)
BEFORE_OUT_OF_RANGE = N_(
    "Indiquez le %(first)s ou un jour plus tard, au plus tard celui de votre rendez-vous."
)
BEFORE_NONE = N_("Votre rendez-vous est trop proche pour choisir un jour : laissez ce champ vide.")


def _private(page: dict[str, Any], status: int = 200) -> Template:
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    return Template("earlier.html", context=page, status_code=status, headers=headers)


async def _page(visitor: Visitor, appointment: Appointment, **extra: Any) -> dict[str, Any]:
    now = visitor.now
    site = appointment.site
    tz = ZoneInfo(site.timezone)
    found = await commands.standing(visitor.session, appointment.id, now)
    start = appointment.starts_at.astimezone(tz)
    changeable = appointment.status == AppointmentStatus.BOOKED and now < appointment.starts_at
    offer = found.offer
    flag = next((text for key, text in NOTICES if visitor.request.query_params.get(key)), None)
    page: dict[str, Any] = {
        "appointment": appointment,
        "token": appointment.token,
        "when": formats.moment(start),
        "changeable": changeable,
        "waiting": found.wish is not None,
        "before": formats.day(found.wish.before) if found.wish and found.wish.before else None,
        "offer": None,
        "notice": gettext(flag) if flag else None,
        "per_day": OFFERS_PER_DAY,
        "earliest_day": commands.first_day_before(site, now).isoformat(),
        "latest_day": start.date().isoformat(),
        "entered_before": "",
        "error": None,
        **extra,
    }
    if offer is not None:
        offered = offer.starts_at.astimezone(tz)
        page["offer"] = {
            "when": formats.moment(offered),
            "until": formats.moment(offer.expires_at.astimezone(tz)),
        }
    return page


def _before(text: str, first: date, last: date) -> tuple[date | None, str | None]:
    """The day typed in the form (nothing: none), or what is wrong with it: it must be
    from `first` (`commands.first_day_before`) to `last` (the appointment's day)."""
    text = text.strip()
    if not text:
        return None, None
    written = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)  # as typed without a picker
    if written:
        text = f"{written[3]}-{int(written[2]):02d}-{int(written[1]):02d}"
    day = bounds.parse_date(text)
    if day is None:
        return None, gettext("Indiquez une date, par exemple 15/12/2026.")
    if first > last:
        return None, gettext(BEFORE_NONE)
    if day < first:
        return None, gettext(BEFORE_TOO_EARLY, day=formats.day(day), first=formats.day(first))
    if day > last:
        return None, gettext(BEFORE_OUT_OF_RANGE, first=formats.day(first))
    return day, None


class EarlierPages(PublicController):
    @get(PAGE.replace("{token}", "{token:str}"))
    async def earlier(self, token: Token, visitor: NamedDependency[Visitor]) -> Template:
        appointment = await get_by_token(visitor.session, token)
        return _private(await _page(visitor, appointment))

    short = short_link("/p/{token:str}", PAGE)

    @post(PAGE.replace("{token}", "{token:str}"))
    async def ask(self, token: Token, visitor: NamedDependency[Visitor]) -> Template | Redirect:
        throttle_booking(visitor.request)
        appointment = await get_by_token(visitor.session, token)
        form = await visitor.request.form()
        typed = str(form.get("avant", ""))[:40]
        tz = ZoneInfo(appointment.site.timezone)
        last = appointment.starts_at.astimezone(tz).date()
        first = commands.first_day_before(appointment.site, visitor.now)
        before, problem = _before(typed, first, last)
        if problem is None:
            try:
                await commands.ask(visitor.session, token, before, visitor.now)
            except DomainError as refused:
                if refused.code == "before_invalid":  # the first day moved on meanwhile
                    problem = gettext(BEFORE_OUT_OF_RANGE, first=formats.day(first))
                elif refused.code not in ASK_REFUSALS:
                    raise
                else:
                    problem = gettext(ASK_REFUSALS[refused.code])
        if problem is not None:
            appointment = await get_by_token(visitor.session, token)
            page = await _page(visitor, appointment, error=problem, entered_before=typed)
            return _private(page, status=422)
        return Redirect(f"/rendez-vous/{token}/plus-tot?demande=1", status_code=303)

    @post(PAGE.replace("{token}", "{token:str}") + "/prendre")
    async def accept(self, token: Token, visitor: NamedDependency[Visitor]) -> Redirect:
        throttle_booking(visitor.request)
        try:
            await commands.accept(visitor.session, token, visitor.now)
        except (Gone, SlotRefused):
            return Redirect(f"/rendez-vous/{token}/plus-tot?expire=1", status_code=303)
        return Redirect(f"/rendez-vous/{token}?deplace=1", status_code=303)

    @post(PAGE.replace("{token}", "{token:str}") + "/laisser")
    async def decline(self, token: Token, visitor: NamedDependency[Visitor]) -> Redirect:
        throttle_booking(visitor.request)
        await commands.decline(visitor.session, token, visitor.now)
        return Redirect(f"/rendez-vous/{token}/plus-tot?laisse=1", status_code=303)

    @post(PAGE.replace("{token}", "{token:str}") + "/arreter")
    async def stop(self, token: Token, visitor: NamedDependency[Visitor]) -> Redirect:
        throttle_booking(visitor.request)
        await commands.stop(visitor.session, token, visitor.now)
        return Redirect(f"/rendez-vous/{token}/plus-tot?arrete=1", status_code=303)
