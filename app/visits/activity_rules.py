"""What La Coop de la médiation numérique records of an accompaniment (its activity
record), as guichet fills it from a finished visit: the value lists, the themes and
equipment of each démarche of the catalog, and the defaults a facilitator who changes
nothing gets. Pure: no database, no clock (see docs/decisions/0012-activity-records.md
for where each list comes from)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from app.errors import BadRequest

# La Coop's values, in its own order.
TYPES = ("individuel", "collectif", "demarche_administrative")
PLACES = ("lieu_activite", "domicile", "a_distance", "autre")
Autonomy = Literal["entierement_accompagne", "partiellement_autonome", "autonome"]
AUTONOMY: tuple[Autonomy, ...] = get_args(Autonomy)
Equipment = Literal["ordinateur", "telephone", "tablette", "autre", "aucun"]
EQUIPMENT: tuple[Equipment, ...] = get_args(Equipment)
DigitalTheme = Literal[
    "diagnostic_numerique",
    "prendre_en_main_du_materiel",
    "maintenance_de_materiel",
    "gere_ses_contenus_numeriques",
    "navigation_sur_internet",
    "email",
    "bureautique",
    "reseaux_sociaux",
    "sante",
    "banque_et_achats_en_ligne",
    "entrepreneuriat",
    "insertion_professionnelle",
    "securite_numerique",
    "parentalite",
    "scolarite_et_numerique",
    "creer_avec_le_numerique",
    "culture_numerique",
    "intelligence_artificielle",
    "aide_aux_demarches_administratives",
]
DIGITAL_THEMES: tuple[DigitalTheme, ...] = get_args(DigitalTheme)
PaperworkTheme = Literal[
    "papiers_elections_citoyennete",
    "famille_scolarite",
    "social_sante",
    "travail_formation",
    "logement",
    "transports_mobilite",
    "argent_impots",
    "justice",
    "etrangers_europe",
    "loisirs_sports_culture",
    "associations",
]
PAPERWORK_THEMES: tuple[PaperworkTheme, ...] = get_args(PaperworkTheme)
Theme = Literal[DigitalTheme, PaperworkTheme]
THEMES: tuple[Theme, ...] = DIGITAL_THEMES + PAPERWORK_THEMES
Referral = Literal[
    "administration",
    "mediation_numerique",
    "operateur_ou_organisme_en_charge",
    "aide_sociale",
    "insertion_professionnelle",
    "aide_aux_demarches_administratives",
    "autre",
]
REFERRALS: tuple[Referral, ...] = get_args(Referral)
AgeBand = Literal[
    "moins_de_douze",
    "douze_dix_huit",
    "dix_huit_vingt_quatre",
    "vingt_cinq_trente_neuf",
    "quarante_cinquante_neuf",
    "soixante_soixante_neuf",
    "soixante_dix_plus",
    "non_communique",
]
AGE_BANDS: tuple[AgeBand, ...] = get_args(AgeBand)
SocialStatus = Literal["scolarise", "sans_emploi", "en_emploi", "retraite", "non_communique"]
SOCIAL_STATUSES: tuple[SocialStatus, ...] = get_args(SocialStatus)
UNTOLD = "non_communique"

# A visit at a station is one person helped at the mairie: La Coop's individual
# accompaniment, démarches included (its démarche themes say which).
VISIT_TYPE = "individuel"
VISIT_PLACE = "lieu_activite"
DEFAULT_AUTONOMY = "partiellement_autonome"
# A request sent on to an expert department (CAF, housing, taxes…) is a referral to the
# body in charge of the démarche.
ESCALATION_REFERRAL = "operateur_ou_organisme_en_charge"
MAX_MINUTES = 480

PAPERWORK = "aide_aux_demarches_administratives"
# The themes and the equipment of each démarche of the catalog, by its code; a démarche
# not listed here is help with an administrative procedure, with no equipment said.
THEMES_BY_SERVICE: dict[str, tuple[str, ...]] = {
    "compte-paris": (PAPERWORK, "email"),
    "caf": (PAPERWORK, "famille_scolarite", "social_sante"),
    "logement": (PAPERWORK, "logement"),
    "dansmarue": ("navigation_sur_internet", "papiers_elections_citoyennete"),
    "paris-familles": (PAPERWORK, "famille_scolarite"),
    "impots": (PAPERWORK, "argent_impots"),
    "ameli": (PAPERWORK, "sante", "social_sante"),
    "france-travail": (PAPERWORK, "insertion_professionnelle", "travail_formation"),
    "ants": (PAPERWORK, "papiers_elections_citoyennete"),
    "numerisation": ("prendre_en_main_du_materiel", "gere_ses_contenus_numeriques", "email"),
    "accompagnement": (PAPERWORK, "navigation_sur_internet"),
}
EQUIPMENT_BY_SERVICE: dict[str, tuple[str, ...]] = {
    "compte-paris": ("ordinateur", "telephone"),
    "caf": ("ordinateur",),
    "logement": ("ordinateur",),
    "dansmarue": ("telephone",),
    "paris-familles": ("ordinateur",),
    "impots": ("ordinateur",),
    "ameli": ("ordinateur",),
    "france-travail": ("ordinateur",),
    "ants": ("ordinateur",),
    "numerisation": ("ordinateur", "autre"),
    "accompagnement": ("ordinateur",),
}
DEFAULT_THEMES = (PAPERWORK,)
NO_EQUIPMENT = ("aucun",)


def in_order(values: Iterable[str], order: Sequence[str]) -> tuple[str, ...]:
    """`values` once each, in the order of `order` (stored so, equal sets compare equal)."""
    chosen = set(values)
    return tuple(value for value in order if value in chosen)


def themes_of(services: Iterable[str]) -> tuple[str, ...]:
    """The themes of the démarches `services` (codes) together; help with paperwork when
    none is named."""
    found = in_order(
        (theme for code in services for theme in THEMES_BY_SERVICE.get(code, DEFAULT_THEMES)),
        THEMES,
    )
    return found or DEFAULT_THEMES


def equipment_of(services: Iterable[str]) -> tuple[str, ...]:
    """The equipment of the démarches `services` together; none said: "aucun"."""
    return tidy_equipment(
        item for code in services for item in EQUIPMENT_BY_SERVICE.get(code, NO_EQUIPMENT)
    )


def tidy_equipment(items: Iterable[str]) -> tuple[str, ...]:
    """`items` in La Coop's order; "aucun" alone when nothing else is said, and dropped
    beside something else (a ticked box says more than the default left ticked)."""
    chosen = in_order(items, EQUIPMENT)
    some = tuple(item for item in chosen if item != "aucun")
    return some or NO_EQUIPMENT


def measured_minutes(started_at: datetime | None, finished_at: datetime, fallback: int) -> int:
    """The visit's length in whole minutes from its start to its end (at least 1, at most
    `MAX_MINUTES`); the démarche's usual duration when it has no start."""
    if started_at is None or finished_at < started_at:
        return max(1, min(MAX_MINUTES, fallback))
    seconds = (finished_at - started_at).total_seconds()
    return max(1, min(MAX_MINUTES, round(seconds / 60)))


@dataclass(frozen=True)
class ActivityReport:
    """What the facilitator says of the accompaniment; each None takes its default from
    the démarches done, the visit's times and its outcome (`settle`)."""

    themes: tuple[str, ...] | None = None
    minutes: int | None = None
    equipment: tuple[str, ...] | None = None
    autonomy: str | None = None
    referral: str | None = None
    aidants_connect: bool = False
    age_band: str | None = None
    social_status: str | None = None


@dataclass(frozen=True)
class ActivityFacts:
    """The activity record of a visit, every field settled."""

    themes: tuple[str, ...]
    minutes: int
    equipment: tuple[str, ...]
    autonomy: str
    referral: str | None
    aidants_connect: bool
    age_band: str
    social_status: str


def _one_of(value: str | None, allowed: Sequence[str], code: str, what: str) -> None:
    if value is not None and value not in allowed:
        raise BadRequest(f"The {what} is one of {', '.join(allowed)}.", code=code)


def check_activity(report: ActivityReport) -> None:
    """Refuse what La Coop would not take, before anything changes."""
    if report.themes is not None:
        unknown = [theme for theme in report.themes if theme not in THEMES]
        if unknown:
            raise BadRequest(f"Unknown themes: {', '.join(unknown)}.", code="theme_unknown")
        if not report.themes:
            raise BadRequest("Say at least one theme of the help.", code="theme_required")
    if report.equipment is not None:
        unknown = [item for item in report.equipment if item not in EQUIPMENT]
        if unknown:
            raise BadRequest(f"Unknown equipment: {', '.join(unknown)}.", code="equipment_unknown")
    if report.minutes is not None and not 1 <= report.minutes <= MAX_MINUTES:
        raise BadRequest(
            f"The length of the help is 1 to {MAX_MINUTES} minutes.", code="minutes_invalid"
        )
    _one_of(report.autonomy, AUTONOMY, "autonomy_invalid", "autonomy")
    _one_of(report.referral, REFERRALS, "referral_invalid", "kind of structure referred to")
    _one_of(report.age_band, AGE_BANDS, "age_band_invalid", "age band")
    _one_of(report.social_status, SOCIAL_STATUSES, "social_status_invalid", "social status")


def settle(
    report: ActivityReport,
    *,
    services: Sequence[str],
    escalated: bool,
    started_at: datetime | None,
    finished_at: datetime,
    usual_minutes: int,
) -> ActivityFacts:
    """The record of a visit whose démarches done are `services` (codes), from what the
    facilitator said and, for what they left out, the defaults: the démarches' themes
    and equipment, the measured length, partly autonomous, a referral to the body in
    charge when the request was sent on (`escalated`), age and status not told."""
    check_activity(report)
    referral = report.referral
    if referral is None and escalated:
        referral = ESCALATION_REFERRAL
    return ActivityFacts(
        themes=in_order(report.themes, THEMES) if report.themes else themes_of(services),
        minutes=report.minutes or measured_minutes(started_at, finished_at, usual_minutes),
        equipment=(
            tidy_equipment(report.equipment)
            if report.equipment is not None
            else equipment_of(services)
        ),
        autonomy=report.autonomy or DEFAULT_AUTONOMY,
        referral=referral,
        aidants_connect=report.aidants_connect,
        age_band=report.age_band or UNTOLD,
        social_status=report.social_status or UNTOLD,
    )
