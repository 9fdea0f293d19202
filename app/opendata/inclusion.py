"""The mairies and what their desks help with, as data·inclusion's structures and services
(its schema v1, the `data-inclusion-schema` package's `Structure` and `Service`). Values are
the schema's own, as strings: the app does not need the package, the tests validate every
record with it. Pure: `api.py` reads the data.

A service is one démarche of the catalog at one mairie, not one "help with online
procedures" per mairie: the schema's service is an offer someone asks for, with its own
name, description, themes and documents to bring, and a worker looking for help with a
CAF file or an ameli account finds it by its theme only if the démarche carries it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from app.opendata import places
from app.opendata.places import Mairie

SOURCE = "guichet"
# The whole commune of Paris in INSEE's official geographic code (its arrondissements have
# their own, 75101 to 75120).
PARIS_CODE = "75056"
# The schema's networks: a mairie belongs to its commune's.
NETWORKS = ("communes",)
# The schema's type: individual help, the closest of its six (accompagnement, aide
# financière or matérielle, atelier, formation, information).
SERVICE_TYPE = "accompagnement"
PUBLICS = ("tous-publics",)
MODES_ACCUEIL = ("en-presentiel",)
# A partner (a CCAS, a France Services) books for the people it follows, as they do.
MOBILISABLE_PAR = ("professionnels", "usagers")
FREE = "gratuit"

ONLINE = "numerique--acceder-a-des-services-en-ligne"
BASICS = "numerique--maitriser-les-fondamentaux-du-numerique"
PAPERWORK = (
    "difficultes-administratives-ou-juridiques--accompagnement-aux-demarches-administratives"
)
RIGHTS = "difficultes-administratives-ou-juridiques--accompagnement-pour-lacces-aux-droits"
# The schema's themes of each démarche of the catalog; one not listed here is help with an
# administrative procedure online.
THEMES_BY_CODE: dict[str, tuple[str, ...]] = {
    "compte-paris": (ONLINE, BASICS, PAPERWORK),
    "caf": (ONLINE, PAPERWORK, RIGHTS),
    "logement": (
        ONLINE,
        PAPERWORK,
        "logement-hebergement--sinformer-sur-les-demarches-liees-a-lacces-au-logement",
    ),
    "dansmarue": (ONLINE, BASICS),
    "ameli": (ONLINE, PAPERWORK, RIGHTS, "sante--acces-aux-soins"),
    "france-travail": (
        ONLINE,
        PAPERWORK,
        "preparer-sa-candidature--organiser-ses-demarches-de-recherche-demploi",
    ),
    "numerisation": (ONLINE, BASICS),
}
DEFAULT_THEMES = (ONLINE, PAPERWORK)

HELPED = (
    "Un médiateur numérique de la mairie vous aide, gratuitement et un par un, à faire "
    "cette démarche en ligne, sur rendez-vous ou sans."
)
NAME_MAX = 150


@dataclass(frozen=True)
class Demarche:
    """What a service says of one démarche of the catalog."""

    code: str
    name: str
    description: str
    documents: Sequence[str]


def structure_id(mairie: Mairie) -> str:
    """The schema's id: the source's and its own, joined by `--`."""
    return f"{SOURCE}--{mairie.slug}"


def _place(mairie: Mairie) -> dict[str, Any]:
    """Where the mairie is, as both records say it."""
    street, postcode = places.split_address(mairie.address, mairie.arrondissements)
    return {
        "commune": places.COMMUNE,
        "code_postal": postcode,
        "code_insee": places.insee_code(postcode),
        "adresse": street,
        "complement_adresse": None,
        "longitude": mairie.longitude,
        "latitude": mairie.latitude,
        "telephone": None,
        "courriel": None,
    }


def structure(mairie: Mairie, base_url: str, today: date) -> dict[str, Any]:
    """One structure: the mairie, its hours in OSM's `opening_hours` format as the national
    places file has them, the Ville de Paris's SIRET (`places.CITY_SIRET`)."""
    page = f"{base_url}/mairies/{mairie.slug}"
    detail = (
        "Des médiateurs numériques aident chacun, un par un, à faire ses démarches en ligne "
        "et à se servir des outils numériques, sur rendez-vous ou sans."
    )
    return {
        "source": SOURCE,
        "id": structure_id(mairie),
        "nom": mairie.name,
        "date_maj": mairie.updated.isoformat(),
        "description": f"{detail} Accès : {mairie.access}" if mairie.access else detail,
        "lien_source": page,
        "siret": places.CITY_SIRET,
        **_place(mairie),
        "site_web": page,
        "horaires_accueil": places.opening_hours(mairie.calendar, today) or None,
        "accessibilite_lieu": None,
        "reseaux_porteurs": list(NETWORKS),
    }


def service_name(demarche: Demarche) -> str:
    """ "Impôts en ligne, avec un médiateur numérique": the démarche's name alone when that
    would pass the schema's length."""
    name = f"{demarche.name}, avec un médiateur numérique"
    return name if len(name) <= NAME_MAX else demarche.name[:NAME_MAX]


def service(mairie: Mairie, demarche: Demarche, base_url: str) -> dict[str, Any]:
    """One service: a démarche of the catalog at a mairie, booked on its booking page (where
    the person also says what they need: a wheelchair, longer help) or, where the mairie
    takes people without an appointment, by coming."""
    description = " ".join(part for part in (demarche.description.strip(), HELPED) if part)
    modes = ["utiliser-lien-mobilisation"]
    if mairie.walk_ins:
        modes.insert(0, "se-presenter")
    documents = [document.strip() for document in demarche.documents if document.strip()]
    return {
        "source": SOURCE,
        "structure_id": structure_id(mairie),
        "id": f"{structure_id(mairie)}--{demarche.code}",
        "nom": service_name(demarche),
        "description": description,
        "lien_source": f"{base_url}/mairies/{mairie.slug}",
        "date_maj": mairie.updated.isoformat(),
        "type": SERVICE_TYPE,
        "thematiques": sorted(THEMES_BY_CODE.get(demarche.code, DEFAULT_THEMES)),
        "frais": FREE,
        "frais_precisions": None,
        "publics": list(PUBLICS),
        "publics_precisions": None,
        "conditions_acces": f"À apporter : {' ; '.join(documents)}." if documents else None,
        **_place(mairie),
        "modes_accueil": list(MODES_ACCUEIL),
        "zone_eligibilite": [PARIS_CODE],
        "contact_nom_prenom": None,
        "lien_mobilisation": f"{base_url}/mairies/{mairie.slug}/rendez-vous",
        "modes_mobilisation": modes,
        "mobilisable_par": list(MOBILISABLE_PAR),
        "mobilisation_precisions": None,
        "volume_horaire_hebdomadaire": None,
        "nombre_semaines": None,
        # Empty: the structure's hours are the service's, as the schema reads it.
        "horaires_accueil": None,
    }
