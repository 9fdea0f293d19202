"""What a message says: Jinja templates, one per kind and channel, rendered in the current
language (`app.i18n.language`: the dispatcher sets the resident's). An email's first line
is its subject; a text is written in GSM-7's letters, to fit one segment."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from app import i18n
from app.i18n import formats
from app.i18n.texts import ESCALATION_STATUSES, label
from app.notify.sms import SmsText, prepare

EMAIL_KINDS = (
    "confirmation",
    "reminder_24h",
    "reminder_2h",
    "reminder",
    "moved",
    "station_changed",
    "cannot_take_place",
    "cancelled",
    "follow_up",
    "escalation",
    "offer",
)
# Texts to the holder of today's ticket; those after "queue_closed" are to a ticket taken
# from a phone (`app/queue/remote.py`).
SMS_KINDS = (
    *EMAIL_KINDS,
    "turn_near",
    "queue_closed",
    "joined",
    "leave_now",
    "held",
    "not_arrived",
)
# Emails to the mairie's partners rather than to a resident, in French: a request sent on
# to an expert department, the copy of a booking to the partner who referred the person.
TO_PARTNERS = ("department_request", "partner_copy")
# Kinds whose text may take two segments: the first text of a ticket taken from a phone
# carries its whole link (a short link would lose the confirmation code); an earlier slot
# offered says which, until when, and what its link does.
TWO_SEGMENTS = frozenset({"joined", "offer"})
_templates = Environment(
    loader=PackageLoader("app.notify", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    keep_trailing_newline=False,
)
i18n.install(_templates)


def localized(data: dict[str, Any], zone: ZoneInfo | None) -> dict[str, Any]:
    """`data` with the words it keeps already written (dates, times, a request's state)
    written again in the current language: they were written in the language of the
    change that caused the message (an agent's, the scheduler's), not necessarily the
    resident's; the démarche's name and documents are taken in the current language when
    they were kept in it (`translations`). `zone`: the site's, to read the appointment's
    start in (None: kept)."""
    again = {key: value for key, value in data.items() if key != "translations"}
    translated = data.get("translations")
    if isinstance(translated, dict) and isinstance(translated.get(i18n.language.get()), dict):
        again.update(translated[i18n.language.get()])
    if zone is not None and isinstance(data.get("starts_at"), str):
        start = datetime.fromisoformat(data["starts_at"]).astimezone(zone)
        again.update(
            when=formats.moment(start),
            day=formats.day(start.date()),
            day_short=formats.abbreviated(start.date()),
            time=formats.clock(start),
        )
    if isinstance(data.get("offered"), list):
        again["offered"] = [_offered(slot) for slot in data["offered"]]
    if isinstance(data.get("offer_start"), str):
        offered = datetime.fromisoformat(data["offer_start"])
        again["offer_when"] = formats.moment(offered)
        again["offer_short"] = f"{formats.abbreviated(offered.date())} {formats.clock(offered)}"
    if isinstance(data.get("until"), str):
        # Kept with the site's offset: read on its wall clock.
        until = datetime.fromisoformat(data["until"])
        again["until_time"] = formats.clock(until)
        again["until_when"] = formats.moment(until)
    if isinstance(data.get("status"), str) and "status_label" in data:
        again["status_label"] = label(ESCALATION_STATUSES, data["status"])
    return again


def _offered(slot: Any) -> Any:
    """A free slot offered in place of an appointment called off, in the current language
    (its `start` holds the site's offset)."""
    if not isinstance(slot, dict) or not isinstance(slot.get("start"), str):
        return slot
    start = datetime.fromisoformat(slot["start"])
    short = f"{formats.abbreviated(start.date())} {formats.clock(start)}"
    return {**slot, "when": formats.moment(start), "short": short}


def context(data: dict[str, Any], base_url: str) -> dict[str, Any]:
    token = data.get("token", "")
    # The full links of an email open in the message's language; the short ones of a text
    # message stay short (the person's browser language decides there).
    lang = i18n.language.get()
    asked = "" if lang == i18n.DEFAULT_LANGUAGE else f"?lang={lang}"
    # The first text's link confirms the number when opened (`app.queue.remote.confirm`).
    confirmation = data.get("confirmation", "")
    return {
        **data,
        "base_url": base_url,
        "confirm_url": f"{base_url}/ticket/{token}?confirmer={confirmation}",
        "manage_url": f"{base_url}/rendez-vous/{token}{asked}",
        "short_url": f"{base_url}/r/{token}",
        "earlier_url": f"{base_url}/rendez-vous/{token}/plus-tot{asked}",
        "short_earlier_url": f"{base_url}/p/{token}",
        "ticket_url": f"{base_url}/ticket/{token}{asked}",
        "short_ticket_url": f"{base_url}/t/{token}",
        "feedback_url": f"{base_url}/ticket/{token}/avis{asked}",
        "short_feedback_url": f"{base_url}/a/{token}",
    }


def template_of(kind: str) -> str:
    """The template of a kind of message: a site may set reminders at other hours than
    24 and 2, which share the one that says the date rather than "tomorrow"."""
    if kind not in SMS_KINDS and kind.startswith("reminder_"):
        return "reminder"
    return kind


def email(kind: str, data: dict[str, Any], base_url: str) -> tuple[str, str, str]:
    """The subject, the text and the HTML of an email."""
    values = context(data, base_url)
    name = template_of(kind)
    subject, _, text = _templates.get_template(f"email/{name}.txt").render(values).partition("\n")
    html = _templates.get_template(f"email/{name}.html").render(subject=subject, **values)
    return subject.strip(), text.strip() + "\n", html


def sms(kind: str, data: dict[str, Any], base_url: str) -> SmsText:
    """A text on one line, in GSM-7 unless what it carries needs UCS-2 (`app/notify/sms.py`)."""
    text = _templates.get_template(f"sms/{template_of(kind)}.txt").render(context(data, base_url))
    return prepare(" ".join(text.split()))
