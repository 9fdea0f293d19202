"""The words of the journal (`app.audit.words`): one sentence per action the service
records, their variants, and the names of the values its details carry. Every action has
its sentence here; tests/unit/test_journal_words.py fails on one without words."""

from __future__ import annotations

from app.i18n import N_
from app.i18n.elision import elides
from app.i18n.texts import ROLES as ROLES  # the history names roles as the pages do
from app.sites.late_rule_names import LATE_RULES as LATE_RULES  # and late-arrival rules

# What each action did, said after the agent's name. Values: %(name)s (what was acted
# on: an agent, a station, a démarche…), %(reference)s (a ticket's number, an
# appointment's or a request's reference), %(weekday)s, %(day)s, %(start)s, %(end)s,
# %(status)s.
SENTENCES = {
    "auth.login": N_("a ouvert une session"),
    "auth.login_failed": N_("a saisi un mauvais mot de passe"),
    "auth.login_refused": N_("n'a pas pu ouvrir de session"),
    "auth.locked": N_("a vu son compte bloqué après des erreurs de mot de passe"),
    "auth.slowed": N_("a vu ses connexions ralenties après des erreurs de mot de passe"),
    "appointment.booked": N_("a pris le rendez-vous %(reference)s pour une personne"),
    "appointment.moved": N_("a déplacé le rendez-vous %(reference)s pour la personne"),
    "appointment.cancelled": N_("a annulé le rendez-vous %(reference)s pour la personne"),
    "appointments.released": N_("a annulé les réservations en ligne suspectes du %(day)s"),
    "ticket.issued": N_("a donné le ticket %(reference)s"),
    "ticket.checked_in": N_("a enregistré une arrivée : ticket %(reference)s"),
    "ticket.checked_in_late": N_("a enregistré une arrivée en retard : ticket %(reference)s"),
    "ticket.called": N_("a appelé le ticket %(reference)s"),
    "ticket.recall": N_("a rappelé le ticket %(reference)s"),
    "ticket.start": N_("a pris en charge le ticket %(reference)s"),
    "ticket.finish": N_("a terminé la prise en charge du ticket %(reference)s"),
    "ticket.no_show": N_("a marqué absent le ticket %(reference)s"),
    "ticket.cancel": N_("a annulé le ticket %(reference)s"),
    "ticket.transfer": N_("a transféré le ticket %(reference)s"),
    "ticket.closed": N_("a clos le ticket %(reference)s à la fermeture"),
    "ticket.joined": N_("a pris à distance le ticket %(reference)s"),
    "ticket.arrived": N_("a enregistré l'arrivée du ticket à distance %(reference)s"),
    "ticket.held": N_("a gardé sa place au ticket à distance %(reference)s, absent à son tour"),
    "ticket.not_arrived": N_("a clos le ticket à distance %(reference)s, jamais arrivé"),
    "escalation.moved": N_("a fait passer la demande %(reference)s à l'étape « %(status)s »"),
    "department.created": N_("a ajouté le service expert « %(name)s »"),
    "department.changed": N_("a modifié le service expert « %(name)s »"),
    "service.created": N_("a ajouté la démarche « %(name)s » au catalogue"),
    "service.changed": N_("a modifié la démarche « %(name)s »"),
    "service.retired": N_("a retiré la démarche « %(name)s » du catalogue"),
    "service.restored": N_("a proposé à nouveau la démarche « %(name)s »"),
    "need.created": N_("a ajouté le besoin « %(name)s » au catalogue"),
    "need.changed": N_("a modifié le besoin « %(name)s »"),
    "need.retired": N_("a retiré le besoin « %(name)s » du catalogue"),
    "need.restored": N_("a proposé à nouveau le besoin « %(name)s »"),
    "agent.created": N_("a créé le compte de %(name)s"),
    "agent.renamed": N_("a changé le nom du compte de %(name)s"),
    "agent.role_changed": N_("a changé le rôle de %(name)s"),
    "agent.sites_changed": N_("a changé les mairies de %(name)s"),
    "agent.disabled": N_("a désactivé le compte de %(name)s"),
    "agent.enabled": N_("a réactivé le compte de %(name)s"),
    "agent.password_reset": N_("a changé le mot de passe de %(name)s"),
    "agent.unlocked": N_("a débloqué le compte de %(name)s"),
    "webhook.created": N_("a enregistré le webhook vers %(name)s"),
    "webhook.deleted": N_("a supprimé le webhook vers %(name)s"),
    "partner.created": N_("a créé le compte partenaire « %(name)s »"),
    "partner.revoked": N_("a révoqué la clé du partenaire « %(name)s »"),
    "site.settings_changed": N_("a modifié les réglages de la mairie"),
    "station.created": N_("a ajouté le poste « %(name)s »"),
    "station.changed": N_("a modifié le poste « %(name)s »"),
    "station.out_of_service": N_(
        "a mis le poste « %(name)s » hors service du %(start)s au %(end)s"
    ),
    "station.back_in_service": N_("a remis le poste « %(name)s » en service"),
    "hours.changed": N_("a modifié les horaires du %(weekday)s"),
    "hours_exception.added": N_("a fixé des horaires particuliers pour le %(day)s"),
    "hours_exception.deleted": N_("a retiré les horaires particuliers du %(day)s"),
    "closure.added": N_("a fermé la mairie du %(start)s au %(end)s"),
    "closure.deleted": N_("a annulé une fermeture exceptionnelle de la mairie"),
    "screen.paired": N_("a associé l'écran d'affichage « %(name)s »"),
    "screen.revoked": N_("a retiré l'écran d'affichage « %(name)s »"),
    "person.erased": N_("a effacé les données d'une personne, à sa demande"),
    "resident.erased": N_("a supprimé son espace et ses données"),
}
# The sentences above that say "de" before a name, as French writes them before a vowel
# or a mute h ("a créé le compte d'Inès Benali"): `sentence` chooses.
ELIDED = {
    "agent.created": N_("a créé le compte d'%(name)s"),
    "agent.renamed": N_("a changé le nom du compte d'%(name)s"),
    "agent.role_changed": N_("a changé le rôle d'%(name)s"),
    "agent.sites_changed": N_("a changé les mairies d'%(name)s"),
    "agent.disabled": N_("a désactivé le compte d'%(name)s"),
    "agent.enabled": N_("a réactivé le compte d'%(name)s"),
    "agent.password_reset": N_("a changé le mot de passe d'%(name)s"),
    "agent.unlocked": N_("a débloqué le compte d'%(name)s"),
}
# The same actions, said otherwise in some cases (see `sentence_key`).
VARIANTS = {
    "auth.login_failed:unknown": N_("a essayé de se connecter avec une adresse inconnue"),
    "auth.slowed:unknown": N_(
        "a vu les connexions depuis son adresse ralenties après des erreurs de mot de passe"
    ),
    "hours.changed:closed": N_("a fermé la mairie le %(weekday)s, chaque semaine"),
    "hours_exception.added:closed": N_("a fermé la mairie toute la journée du %(day)s"),
}
# An action the words above do not know yet (one added since): its code, still readable.
UNKNOWN = N_("a fait l'action « %(action)s »")

YES_NO = {True: N_("oui"), False: N_("non")}
VIA = {
    "page": N_("Depuis la page de connexion"),
    "api": N_("Par l'API (application)"),
    "sso": N_("Par le compte de la Ville (connexion unique)"),
}
REFUSED = {
    "disabled": N_("Le compte est désactivé"),
    "unknown": N_("Aucun compte actif de guichet n'a cette adresse"),
    "unverified": N_("Le compte de la Ville ne garantit pas cette adresse"),
    "flow": N_("La connexion commencée a expiré ou vient d'un autre navigateur"),
    "state": N_("La réponse ne correspond pas à la connexion commencée"),
    "denied": N_("La connexion a été refusée ou abandonnée sur le compte de la Ville"),
    "code": N_("Le code rendu par le compte de la Ville n'a pas été accepté"),
    "id_token": N_("Le jeton d'identité n'a pas pu être vérifié"),
    "unavailable": N_("Le compte de la Ville ne répondait pas"),
    "slowed": N_("Trop d'erreurs de mot de passe depuis cette adresse : il faut attendre"),
}
STATION_KINDS = {
    "standard": N_("Poste standard"),
    "double": N_("Poste double écran"),
    "any": N_("Tous les postes"),
}
# The settings the page names with a label of its own rather than the setting's words.
SETTING_NAMES = {
    "reminder_hours": N_("Rappels avant le rendez-vous"),
    "sms_quiet_from": N_("Pas de SMS à partir de"),
    "sms_quiet_until": N_("Pas de SMS avant"),
    "late_arrival_rule": N_("Une personne en retard passe"),
    "facilitators_issue_tickets": N_(
        "Les facilitateurs peuvent aussi donner des tickets sans rendez-vous (un même agent "
        "fait l'accueil et le poste)"
    ),
}


def sentence(action: str, name: str) -> str:
    """The msgid of the sentence of `action` (one of `SENTENCES`) about `name`: its form
    with "d'" when it says "de" before a name starting with a vowel or a mute h."""
    return ELIDED[action] if action in ELIDED and elides(name) else SENTENCES[action]


# What of a démarche or a need was changed ("fields" of a catalog change).
FIELDS = {
    "name": N_("le nom"),
    "description": N_("la description"),
    "documents": N_("les pièces à apporter"),
    "duration_minutes": N_("la durée"),
    "extra_minutes": N_("le temps en plus"),
    "station_kind": N_("le poste demandé"),
    "requires_accessible": N_("l'accès en fauteuil roulant"),
    "position": N_("la place dans la liste"),
    "name_en": N_("le nom en anglais"),
    "description_en": N_("la description en anglais"),
    "documents_en": N_("la liste des pièces à apporter en anglais"),
}
# Details the sentence already says, or ids nobody reads.
SAID = frozenset(
    {"weekday", "day", "starts_at", "ends_at", "label", "status", "closure", "outage", "ticket"}
)
