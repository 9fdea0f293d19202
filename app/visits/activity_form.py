"""The activity record's part of the form that finishes a visit at a station: its fields
read from a post (kept as typed when refused), what of them is refused and beside which
field, and what the form offers (the choices in French, and each démarche's defaults,
ticked in advance)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.datastructures import FormMultiDict

from app import bounds
from app.errors import BadRequest
from app.i18n import gettext
from app.i18n.texts import label
from app.visits import activity_words as words
from app.visits.activity_rules import (
    AGE_BANDS,
    AUTONOMY,
    DEFAULT_AUTONOMY,
    DIGITAL_THEMES,
    EQUIPMENT,
    MAX_MINUTES,
    PAPERWORK_THEMES,
    REFERRALS,
    SOCIAL_STATUSES,
    UNTOLD,
    ActivityReport,
    check_activity,
    equipment_of,
    themes_of,
)

# The form's field each refusal of an activity record speaks of.
FIELDS = {
    "theme_unknown": "thematiques",
    "theme_required": "thematiques",
    "equipment_unknown": "materiel",
    "minutes_invalid": "duree",
    "autonomy_invalid": "autonomie",
    "referral_invalid": "orientation",
    "age_band_invalid": "tranche_age",
    "social_status_invalid": "statut_social",
}
MAX_CODE = 40


def _codes(form: FormMultiDict, name: str) -> tuple[str, ...]:
    return tuple(str(value)[:MAX_CODE] for value in form.getall(name, [])[: len(words.THEMES)])


def _listed(form: FormMultiDict, name: str) -> tuple[str, ...]:
    """The codes a hidden field lists, separated by spaces."""
    text = str(form.get(name, ""))[: len(words.THEMES) * (MAX_CODE + 1)]
    return tuple(code[:MAX_CODE] for code in text.split())


@dataclass(frozen=True)
class ActivityForm:
    """The activity record as the form sends it, its texts as typed. The themes and the
    equipment come with those the form ticked in advance (`proposed_*`): left as they
    were, they follow the démarches done, whichever were ticked beside them."""

    themes: tuple[str, ...] = ()
    proposed_themes: tuple[str, ...] = ()
    equipment: tuple[str, ...] = ()
    proposed_equipment: tuple[str, ...] = ()
    minutes: str = ""
    autonomy: str = ""
    referral: str = ""
    aidants_connect: bool = False
    age_band: str = ""
    social_status: str = ""

    @classmethod
    def of(cls, form: FormMultiDict) -> ActivityForm:
        def one(name: str) -> str:
            return str(form.get(name, ""))[:MAX_CODE].strip()

        return cls(
            themes=_codes(form, "thematiques"),
            proposed_themes=_listed(form, "thematiques_proposees"),
            equipment=_codes(form, "materiel"),
            proposed_equipment=_listed(form, "materiel_propose"),
            minutes=str(form.get("duree", ""))[:MAX_CODE].strip(),
            autonomy=one("autonomie"),
            referral=one("orientation"),
            aidants_connect=form.get("aidants_connect") == "oui",
            age_band=one("tranche_age"),
            social_status=one("statut_social"),
        )

    def report(self) -> ActivityReport:
        """What the facilitator said; what they left as the form offered it is None (its
        default). A length that is no number of minutes is 0, which is refused."""
        touched_themes = set(self.themes) != set(self.proposed_themes)
        touched_equipment = set(self.equipment) != set(self.proposed_equipment)
        minutes = None
        if self.minutes:
            minutes = bounds.parse_int(self.minutes, 1, MAX_MINUTES) or 0
        return ActivityReport(
            themes=self.themes if touched_themes else None,
            minutes=minutes,
            equipment=self.equipment if touched_equipment else None,
            autonomy=self.autonomy or None,
            referral=self.referral or None,
            aidants_connect=self.aidants_connect,
            age_band=self.age_band or None,
            social_status=self.social_status or None,
        )

    def refusal(self) -> tuple[str, str] | None:
        """The field refused and why, in words, if La Coop would not take the record."""
        try:
            check_activity(self.report())
        except BadRequest as refused:
            code = refused.code or "theme_unknown"
            message = words.REFUSALS.get(code, words.REFUSALS["theme_unknown"])
            return FIELDS.get(code, "thematiques"), gettext(message, num=MAX_MINUTES)
        return None


def _choices(codes: tuple[str, ...], labels: dict[str, str]) -> list[tuple[str, str]]:
    return [(code, label(labels, code)) for code in codes]


def form_choices() -> dict[str, Any]:
    """What the form offers, in the current language, and what it ticks in advance for a
    ticket of each démarche (`proposed`)."""
    return {
        "paperwork_themes": _choices(
            ("aide_aux_demarches_administratives", *PAPERWORK_THEMES), words.THEMES
        ),
        "digital_themes": _choices(
            tuple(t for t in DIGITAL_THEMES if t != "aide_aux_demarches_administratives"),
            words.THEMES,
        ),
        "equipment": _choices(EQUIPMENT, words.EQUIPMENT),
        "autonomy": _choices(AUTONOMY, words.AUTONOMY),
        "referrals": _choices(REFERRALS, words.REFERRALS),
        "age_bands": _choices(AGE_BANDS, words.AGE_BANDS),
        "social_statuses": _choices(SOCIAL_STATUSES, words.SOCIAL_STATUSES),
        "default_autonomy": DEFAULT_AUTONOMY,
        "untold": UNTOLD,
        "max_minutes": MAX_MINUTES,
        "proposed": proposed,
    }


def proposed(service_code: str) -> dict[str, tuple[str, ...]]:
    """What the form ticks in advance for a ticket of the démarche `service_code`."""
    return {"themes": themes_of([service_code]), "equipment": equipment_of([service_code])}
