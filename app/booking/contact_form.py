"""The contact details of a booking's form, as a resident types them for themselves or as
reception or a partner types them for someone: what the reminders will be, the checks
of each field in words, and what whoever booked is told of the reminders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.booking import commands, contacts
from app.booking.models import Appointment
from app.errors import DomainError
from app.i18n import gettext
from app.i18n.texts import refusal
from app.sites.models import Site


@dataclass(frozen=True)
class ContactDetails:
    """A person's contact details and the reminders they want, named as the booking form
    names its fields."""

    nom: str = ""
    email: str = ""
    telephone: str = ""
    rappels_email: bool = True
    rappels_sms: bool = False


@dataclass(frozen=True)
class ContactForm(ContactDetails):
    # Typed by reception or a partner for someone: the boxes as ticked, read by `reminders`.
    for_someone: bool = False

    @classmethod
    def entered(cls, form: Any) -> ContactForm:
        """The contact details of a posted form. The reminders are what the boxes say when
        they were shown (`rappels_vus`, or one of them ticked); else decided from what was
        filled: by email when an email is given, by SMS when only a phone is."""
        email = str(form.get("email", ""))[:254].strip()
        telephone = str(form.get("telephone", ""))[:40].strip()
        by_email, by_sms = form.get("rappels_email") == "oui", form.get("rappels_sms") == "oui"
        if not (form.get("rappels_vus") == "oui" or by_email or by_sms):
            by_email, by_sms = bool(email), bool(telephone) and not email
        # A box kept for a channel whose field was emptied since reminds by nothing.
        by_email, by_sms = by_email and bool(email), by_sms and bool(telephone)
        return cls(
            nom=str(form.get("nom", ""))[:200],
            email=email,
            telephone=telephone,
            rappels_email=by_email,
            rappels_sms=by_sms,
        )

    @classmethod
    def someone(cls, form: Any) -> ContactForm:
        """The contact details reception or a partner typed for someone, the boxes as
        ticked (a refused form shows them so)."""
        return cls(
            nom=str(form.get("nom", "")),
            email=str(form.get("email", "")).strip(),
            telephone=str(form.get("telephone", "")).strip(),
            rappels_email=form.get("rappels_email") == "oui",
            rappels_sms=form.get("rappels_sms") == "oui",
            for_someone=True,
        )

    def reminders(self) -> tuple[bool, bool]:
        """By e-mail, by SMS. For someone: the ticked boxes that can reach the person (SMS
        to a mobile only); when some are ticked but none can (e-mail ticked, only a mobile
        given), as residents booking for themselves are, by e-mail if given, else by SMS
        to a mobile; no box ticked, no reminder."""
        if not self.for_someone:
            return self.rappels_email, self.rappels_sms
        mobile = contacts.is_mobile(self.telephone)
        by_email, by_sms = self.rappels_email and bool(self.email), self.rappels_sms and mobile
        if (self.rappels_email or self.rappels_sms) and not (by_email or by_sms):
            by_email, by_sms = bool(self.email), not self.email and mobile
        return by_email, by_sms

    def request(
        self, site: Site, code: str, needs: tuple[str, ...], start: datetime, **more: Any
    ) -> commands.BookingRequest:
        """The booking of the slot `start` at `site` for the démarche `code` and `needs`,
        for the person of this form; `more`: the request's other fields (its channel, its
        client)."""
        by_email, by_sms = self.reminders()
        return commands.BookingRequest(
            site=site.slug,
            service=code,
            start=start,
            contact=contacts.contact(self.nom, self.email or None, self.telephone or None),
            needs=needs,
            reminders_by_email=by_email,
            reminders_by_sms=by_sms,
            **more,
        )


def reminded_by(appointment: Appointment) -> dict[str, bool]:
    """How the person booked for is reminded, as said to whoever booked: whether their
    mairie sends reminders at all, by e-mail, by SMS (to a mobile only)."""
    sends = bool(appointment.site.reminder_hours)
    phone = appointment.phone or ""
    return {
        "site_reminds": sends,
        "by_email": sends and appointment.reminders_by_email and bool(appointment.email),
        "by_sms": sends and appointment.reminders_by_sms and contacts.is_mobile(phone),
    }


def contact_errors(entered: ContactForm) -> dict[str, str]:
    """French messages per field, from the domain's own checks."""
    errors: dict[str, str] = {}
    checks: list[tuple[str, str, Callable[[str], str]]] = [
        ("nom", entered.nom, contacts.normalise_name),
        ("email", entered.email, contacts.deliverable_email),
        ("telephone", entered.telephone, contacts.e164),
    ]
    for field, value, check in checks:
        if field != "nom" and not value:
            continue
        try:
            check(value)
        except DomainError as error:
            errors[field] = refusal(error.code)
    if not entered.email and not entered.telephone:
        errors["email"] = refusal("contact_missing")
    if entered.rappels_sms and not entered.telephone and "telephone" not in errors:
        errors["telephone"] = gettext("Indiquez un numéro de téléphone pour recevoir des SMS.")
    texts = entered.rappels_sms or not entered.email
    if texts and entered.telephone and not contacts.is_mobile(entered.telephone):
        errors.setdefault("telephone", refusal("phone_not_mobile"))
    return errors
