"""The activity record's rules (La Coop de la médiation numérique): the value lists, each
démarche's themes and equipment, and the defaults a facilitator who changes nothing
gets; the API's and the form's doors read the same lists."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar.datastructures import FormMultiDict

from app.errors import BadRequest
from app.sites.demo import SERVICES
from app.visits import activity_words, commands
from app.visits.activity_form import ActivityForm
from app.visits.activity_rules import (
    AGE_BANDS,
    AUTONOMY,
    EQUIPMENT,
    EQUIPMENT_BY_SERVICE,
    MAX_MINUTES,
    PAPERWORK_THEMES,
    REFERRALS,
    SOCIAL_STATUSES,
    THEMES,
    THEMES_BY_SERVICE,
    ActivityFacts,
    ActivityReport,
    check_activity,
    equipment_of,
    measured_minutes,
    settle,
    themes_of,
    tidy_equipment,
)

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def settled(
    report: ActivityReport, *services: str, minutes: int = 20, escalated: bool = False
) -> ActivityFacts:
    return settle(
        report,
        services=list(services),
        escalated=escalated,
        started_at=START,
        finished_at=START + timedelta(minutes=minutes),
        usual_minutes=30,
    )


def test_every_demarche_of_the_demo_catalog_has_its_themes_and_equipment() -> None:
    codes = {service["code"] for service in SERVICES}

    assert set(THEMES_BY_SERVICE) == codes
    assert set(EQUIPMENT_BY_SERVICE) == codes
    for themes in THEMES_BY_SERVICE.values():
        assert themes
        assert set(themes) <= set(THEMES)
    for items in EQUIPMENT_BY_SERVICE.values():
        assert set(items) <= set(EQUIPMENT) - {"aucun"}


def test_the_doors_and_the_words_hold_the_same_lists_as_the_rules() -> None:
    assert get_args(commands.Theme) == THEMES
    assert get_args(commands.Equipment) == EQUIPMENT
    assert get_args(commands.Autonomy) == AUTONOMY
    assert get_args(commands.Referral) == REFERRALS
    assert get_args(commands.AgeBand) == AGE_BANDS
    assert get_args(commands.SocialStatus) == SOCIAL_STATUSES
    assert tuple(activity_words.THEMES) == THEMES
    assert tuple(activity_words.EQUIPMENT) == EQUIPMENT
    assert tuple(activity_words.AUTONOMY) == AUTONOMY
    assert tuple(activity_words.REFERRALS) == REFERRALS
    assert tuple(activity_words.AGE_BANDS) == AGE_BANDS
    assert tuple(activity_words.SOCIAL_STATUSES) == SOCIAL_STATUSES


def test_a_visit_left_as_offered_takes_the_demarches_defaults() -> None:
    facts = settled(ActivityReport(), "caf", "impots", minutes=25)

    assert facts.themes == (
        "aide_aux_demarches_administratives",
        "famille_scolarite",
        "social_sante",
        "argent_impots",
    )
    assert facts.equipment == ("ordinateur",)
    assert facts.minutes == 25
    assert facts.autonomy == "partiellement_autonome"
    assert facts.referral is None
    assert facts.aidants_connect is False
    assert (facts.age_band, facts.social_status) == ("non_communique", "non_communique")


def test_an_unknown_demarche_is_help_with_paperwork_and_no_equipment() -> None:
    assert themes_of(["added-by-an-administrator"]) == ("aide_aux_demarches_administratives",)
    assert themes_of([]) == ("aide_aux_demarches_administratives",)
    assert equipment_of(["added-by-an-administrator"]) == ("aucun",)
    assert equipment_of(["added-by-an-administrator", "dansmarue"]) == ("telephone",)


def test_a_request_sent_on_is_a_referral_to_the_body_in_charge_unless_said_otherwise() -> None:
    assert settled(ActivityReport(), "caf", escalated=True).referral == (
        "operateur_ou_organisme_en_charge"
    )
    said = ActivityReport(referral="aide_sociale")
    assert settled(said, "caf", escalated=True).referral == "aide_sociale"
    assert settled(said, "caf").referral == "aide_sociale"


def test_what_the_facilitator_says_wins_in_la_coops_order() -> None:
    said = ActivityReport(
        themes=("logement", "email", "logement"),
        minutes=45,
        equipment=("telephone", "ordinateur"),
        autonomy="autonome",
        aidants_connect=True,
        age_band="soixante_dix_plus",
        social_status="retraite",
    )

    facts = settled(said, "caf", minutes=10)

    assert facts.themes == ("email", "logement")
    assert facts.equipment == ("ordinateur", "telephone")
    assert facts.minutes == 45
    assert (facts.autonomy, facts.aidants_connect) == ("autonome", True)
    assert (facts.age_band, facts.social_status) == ("soixante_dix_plus", "retraite")


@pytest.mark.parametrize(
    ("items", "kept"),
    [
        ((), ("aucun",)),
        (("aucun",), ("aucun",)),
        (("aucun", "tablette"), ("tablette",)),
        (("autre", "ordinateur", "autre"), ("ordinateur", "autre")),
    ],
)
def test_no_equipment_is_said_only_alone(items: tuple[str, ...], kept: tuple[str, ...]) -> None:
    assert tidy_equipment(items) == kept


@pytest.mark.parametrize(
    ("report", "code"),
    [
        (ActivityReport(themes=("cuisine",)), "theme_unknown"),
        (ActivityReport(themes=()), "theme_required"),
        (ActivityReport(equipment=("scanner",)), "equipment_unknown"),
        (ActivityReport(minutes=0), "minutes_invalid"),
        (ActivityReport(minutes=MAX_MINUTES + 1), "minutes_invalid"),
        (ActivityReport(autonomy="un_peu"), "autonomy_invalid"),
        (ActivityReport(referral="mairie"), "referral_invalid"),
        (ActivityReport(age_band="42"), "age_band_invalid"),
        (ActivityReport(social_status="cadre"), "social_status_invalid"),
    ],
)
def test_what_la_coop_would_not_take_is_refused(report: ActivityReport, code: str) -> None:
    with pytest.raises(BadRequest) as refused:
        check_activity(report)

    assert refused.value.code == code


@given(
    started=st.one_of(st.none(), st.integers(-600, 10_000)),
    lasted=st.integers(0, 100_000),
    usual=st.integers(5, 240),
)
def test_the_measured_length_is_always_a_length_la_coop_takes(
    started: int | None, lasted: int, usual: int
) -> None:
    finished = START + timedelta(seconds=lasted)
    start = None if started is None else START + timedelta(seconds=started)

    minutes = measured_minutes(start, finished, usual)

    assert 1 <= minutes <= MAX_MINUTES
    if start is not None and start <= finished < start + timedelta(minutes=MAX_MINUTES - 1):
        assert minutes == max(1, round((finished - start).total_seconds() / 60))


@given(services=st.lists(st.sampled_from([*THEMES_BY_SERVICE, "other"]), min_size=1, max_size=4))
def test_the_defaults_always_give_a_record_la_coop_takes(services: list[str]) -> None:
    facts = settled(ActivityReport(), *services)

    assert facts.themes
    assert list(facts.themes) == sorted(facts.themes, key=THEMES.index)
    assert facts.equipment
    assert ("aucun" in facts.equipment) == (facts.equipment == ("aucun",))
    check_activity(
        ActivityReport(
            themes=facts.themes,
            minutes=facts.minutes,
            equipment=facts.equipment,
            autonomy=facts.autonomy,
            age_band=facts.age_band,
            social_status=facts.social_status,
        )
    )


def test_paperwork_themes_are_la_coops_demarches() -> None:
    assert set(PAPERWORK_THEMES) >= {
        "papiers_elections_citoyennete",
        "famille_scolarite",
        "social_sante",
        "travail_formation",
        "logement",
        "transports_mobilite",
        "argent_impots",
        "justice",
        "etrangers_europe",
    }


def form(**fields: str | list[str]) -> ActivityForm:
    pairs = [
        (name, value)
        for name, values in fields.items()
        for value in ([values] if isinstance(values, str) else values)
    ]
    return ActivityForm.of(FormMultiDict(pairs))


def test_the_form_left_as_offered_says_nothing_and_a_change_says_what_is_ticked() -> None:
    offered: dict[str, str | list[str]] = {
        "thematiques": ["aide_aux_demarches_administratives", "logement"],
        "thematiques_proposees": "aide_aux_demarches_administratives logement",
        "materiel": ["ordinateur"],
        "materiel_propose": "ordinateur",
    }

    untouched = form(**offered, autonomie="autonome").report()
    changed = form(**{**offered, "thematiques": ["logement"], "materiel": []}).report()

    assert (untouched.themes, untouched.equipment) == (None, None)
    assert untouched.autonomy == "autonome"
    assert changed.themes == ("logement",)
    assert changed.equipment == ()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"duree": "douze"}, "duree"),
        ({"duree": "0"}, "duree"),
        ({"duree": "481"}, "duree"),
        ({"thematiques": [], "thematiques_proposees": "logement"}, "thematiques"),
        ({"thematiques": ["cuisine"]}, "thematiques"),
        ({"materiel": ["scanner"]}, "materiel"),
        ({"autonomie": "un_peu"}, "autonomie"),
        ({"orientation": "mairie"}, "orientation"),
        ({"tranche_age": "42"}, "tranche_age"),
        ({"statut_social": "cadre"}, "statut_social"),
    ],
)
def test_the_form_says_which_field_is_refused(fields: dict[str, str], field: str) -> None:
    refused = form(**fields).refusal()

    assert refused is not None
    assert refused[0] == field
    assert refused[1]


def test_an_empty_form_is_refused_nothing() -> None:
    assert form().refusal() is None
    assert form(duree="30", aidants_connect="oui").report().aidants_connect is True
