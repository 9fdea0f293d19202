"""The sentences and words the domains' codes stand for, as the pages show them: the
refusals by their code, the states of appointments, tickets and requests, the outcomes of
a visit, the channels of a booking, the roles of agents. Each is a msgid of the catalog
(`N_`), translated in the current language where it is shown (`refusal`, `label`)."""

from __future__ import annotations

from collections.abc import Mapping

from app.i18n import N_, gettext
from app.i18n.formats import hours_before, minutes

# What the pages say for each code of the domain's errors.
REFUSALS = {
    "cross_site_form": N_(
        "Ce formulaire doit être envoyé depuis les pages de la mairie : rouvrez la page, puis "
        "recommencez."
    ),
    "changed_meanwhile": N_(
        "La même modification a été faite au même moment depuis un autre écran : rechargez "
        "la page pour voir où elle en est."
    ),
    "name_missing": N_("Indiquez votre nom."),
    "name_invalid": N_(
        "Le nom ne doit contenir que des lettres et des signes lisibles (120 caractères au plus)."
    ),
    "email_invalid": N_("Cette adresse e-mail n'est pas valide. Exemple : nom@exemple.fr"),
    "email_undeliverable": N_(
        "Aucun message ne peut arriver à cette adresse e-mail : vérifiez ce qui suit le @. "
        "Exemple : nom@exemple.fr"
    ),
    "phone_not_mobile": N_(
        "Les SMS ne partent que vers un numéro de portable (06, 07, d'outre-mer ou "
        "étranger) : indiquez un portable, ou choisissez les rappels par e-mail."
    ),
    "address_day_full": N_(
        "Vous avez déjà pris le nombre maximum de rendez-vous pour ce jour dans cette mairie "
        "depuis cette connexion. Pour un rendez-vous de plus, appelez la mairie."
    ),
    "phone_invalid": N_("Ce numéro de téléphone n'est pas valide. Exemple : 06 12 34 56 78"),
    "contact_missing": N_(
        "Indiquez une adresse e-mail ou un numéro de téléphone, pour recevoir la confirmation."
    ),
    "too_many_attempts": N_(
        "Cette adresse e-mail ou ce numéro a servi à trop de réservations aujourd'hui. Réessayez "
        "demain, ou appelez la mairie."
    ),
    "person_busy": N_("Vous avez déjà un rendez-vous à cette heure-là."),
    "too_many_bookings": N_(
        "Vous avez déjà le nombre maximum de rendez-vous à venir dans les mairies de Paris. "
        "Annulez-en un pour en prendre un autre."
    ),
    "not_cancellable": N_(
        "Ce rendez-vous a commencé ou a déjà eu lieu : il ne peut plus être annulé."
    ),
    "not_movable": N_(
        "Ce rendez-vous a commencé, a eu lieu ou a été annulé : il ne peut plus être déplacé."
    ),
    "not_called_off": N_(
        "Seul un rendez-vous annulé par la mairie se reprend à un autre créneau : déplacez "
        "plutôt celui-ci."
    ),
    "already_rebooked": N_("Vous avez déjà choisi un autre créneau à la place de ce rendez-vous."),
    "too_soon": N_("Ce créneau est trop proche (ou passé) pour être réservé en ligne."),
    "too_late": N_("Ce créneau est trop lointain : il n'est pas encore ouvert à la réservation."),
    "closed": N_("La mairie est fermée à cette heure-là."),
    "off_grid": N_(
        "Cette heure ne correspond pas au début d'un créneau : choisissez un créneau de la liste."
    ),
    "no_station": N_("Aucun poste de cette mairie ne peut accueillir ce rendez-vous."),
    "taken": N_("Ce créneau vient d'être réservé par quelqu'un d'autre."),
    "walk_in_share": N_(
        "Cette journée est complète pour la réservation en ligne : le reste du temps est gardé "
        "pour les personnes qui viennent sans rendez-vous."
    ),
    "already_checked_in": N_("Ce rendez-vous est déjà enregistré : la personne est dans la file."),
    "booked_elsewhere": N_(
        "Ce rendez-vous est pris dans une autre mairie : la personne doit s'y présenter."
    ),
    "not_booked": N_(
        "Ce rendez-vous n'est plus valable (annulé, manqué ou passé) : donnez un ticket sans "
        "rendez-vous."
    ),
    "check_in_too_early": N_(
        "Trop tôt : l'arrivée ne s'enregistre pas encore pour ce rendez-vous. En attendant, vous "
        "pouvez donner un ticket sans rendez-vous."
    ),
    "check_in_too_late": N_(
        "Trop tard : le rendez-vous est fini depuis trop longtemps pour enregistrer l'arrivée. "
        "Donnez un ticket sans rendez-vous."
    ),
    "site_closed": N_(
        "La mairie est fermée : pas de ticket ni d'arrivée en dehors des horaires d'ouverture. "
        "Pour donner quand même un ticket, cochez « Mairie fermée : donner quand même un ticket "
        "» et indiquez pourquoi."
    ),
    "reason_missing": N_("Indiquez pourquoi vous donnez un ticket alors que la mairie est fermée."),
    "cannot_recall": N_("Seul un ticket appelé peut être rappelé."),
    "cannot_start": N_("Seul un ticket appelé peut être pris en charge."),
    "cannot_finish": N_("Seul un ticket en cours peut être terminé."),
    "cannot_no_show": N_("Seul un ticket appelé peut être marqué absent."),
    "cannot_cancel": N_("Seul un ticket en attente ou appelé peut être annulé."),
    "cannot_transfer": N_(
        "Ce ticket est terminé, absent ou annulé : il ne peut plus être transféré."
    ),
    "nobody_waiting": N_("Personne n'attend pour ce poste."),
    "transfer_nowhere": N_(
        "Choisissez vers quelle démarche ou quel type de poste transférer le ticket."
    ),
    "station_out_of_service": N_(
        "Ce poste est hors service en ce moment : appelez depuis un autre poste."
    ),
    "not_found": N_("Introuvable : vérifiez la référence."),
    "remote_number_missing": N_("Indiquez le numéro du ticket, par exemple A012."),
    "remote_ticket_unknown": N_(
        "Aucun ticket de ce numéro n'a été pris aujourd'hui dans cette mairie : vérifiez le "
        "numéro, par exemple A012."
    ),
    "score_invalid": N_("Choisissez une note de 1 à 5."),
    "visit_not_over": N_("Vous pourrez donner votre avis une fois votre visite terminée."),
    "outcome_invalid": N_("Choisissez l'issue de la visite."),
    "department_required": N_("Choisissez le service expert à qui la demande est transmise."),
    "department_without_escalation": N_(
        "Un service expert ne se choisit que pour une demande transmise."
    ),
    "unknown_department": N_("Ce service expert n'existe pas ou n'est plus proposé."),
    "unknown_service": N_("Une des démarches choisies n'existe pas."),
    "escalation_backwards": N_("Cette demande est déjà à cette étape ou plus loin."),
    "date_invalid": N_(
        "Cette date n'est pas valide : écrivez-la AAAA-MM-JJ, entre le 01/01/2000 et le 31/12/2100."
    ),
    # Where any day is taken, as the booking pages' (the last one open shown for a later
    # one): only a day that is none is refused.
    "day_not_a_date": N_(
        "Cette date n'existe pas : écrivez-la AAAA-MM-JJ, par exemple 2026-12-07."
    ),
}
FALLBACK = N_("Votre demande n'a pas pu aboutir. Vérifiez les informations et réessayez.")

STATUSES = {
    "booked": N_("confirmé"),
    "checked_in": N_("arrivée enregistrée à l'accueil"),
    "served": N_("a eu lieu"),
    "no_show": N_("manqué"),
    "cancelled": N_("annulé"),
    "called_off": N_("annulé par la mairie"),
}

TICKET_STATUSES = {
    "waiting": N_("en attente"),
    "called": N_("appelé"),
    "serving": N_("en cours"),
    "done": N_("terminé"),
    "no_show": N_("absent"),
    "cancelled": N_("annulé"),
    "closed": N_("clos à la fermeture"),
}

# An agent's role, as the administration pages and the history name it.
ROLES = {
    "reception": N_("Accueil"),
    "facilitator": N_("Facilitation"),
    "manager": N_("Responsable de mairie"),
    "admin": N_("Administration de la Ville (toutes les mairies)"),
}

ESCALATION_STATUSES = {
    "received": N_("transmise au service"),
    "in_progress": N_("en cours de traitement"),
    "answered": N_("réponse reçue"),
    "closed": N_("close"),
}

OUTCOMES = {
    "solved": N_("Démarche faite"),
    "alone": N_("La personne terminera seule"),
    "escalated": N_("Transmise à un service expert"),
    "unhelped": N_("Aide impossible"),
    "unrecorded": N_("Non renseigné"),
}

# The messages sent to a person, by kind (a reminder's kind says its hours:
# "reminder_24h"; see `message_kind`), and where each stands.
MESSAGE_KINDS = {
    "confirmation": N_("confirmation du rendez-vous"),
    "reminder": N_("rappel du rendez-vous"),
    "moved": N_("rendez-vous déplacé"),
    "station_changed": N_("rendez-vous maintenu à un autre poste"),
    "cannot_take_place": N_("rendez-vous annulé par la mairie"),
    "cancelled": N_("annulation du rendez-vous"),
    "offer": N_("créneau plus tôt proposé"),
    "follow_up": N_("demande d'avis après la visite"),
    "escalation": N_("suivi de la demande transmise"),
    "turn_near": N_("son tour approche"),
    "queue_closed": N_("file fermée avant son tour"),
    "joined": N_("ticket pris à distance"),
    "leave_now": N_("moment de partir vers la mairie"),
    "held": N_("place gardée en son absence"),
    "not_arrived": N_("ticket fermé : la personne n'est pas arrivée à temps"),
    "department_request": N_("demande envoyée au service expert"),
    "partner_copy": N_("copie au partenaire"),
}

MESSAGE_STATUSES = {
    "pending": N_("à envoyer"),
    "sending": N_("en cours d'envoi"),
    "sent": N_("envoyé"),
    "failed": N_("envoi impossible"),
    "cancelled": N_("annulé"),
}

CHANNELS = {
    "online": N_("en ligne"),
    "phone": N_("par téléphone"),
    "counter": N_("au guichet"),
    "walk_in": N_("sans rendez-vous"),
    "partner": N_("par un partenaire"),
}


def refusal(code: str) -> str:
    """What the pages say of a refusal of code `code`, in the current language; FALLBACK
    for a code they have no words of their own for (or none)."""
    return gettext(REFUSALS.get(code, FALLBACK))


# What reception's and partners' pages say instead, of a person they book for.
REFUSALS_FOR_SOMEONE = {
    "name_missing": N_("Indiquez le nom de la personne."),
    "contact_missing": N_(
        "Indiquez l'adresse e-mail ou le numéro de téléphone de la personne, pour qu'elle "
        "reçoive la confirmation."
    ),
    "person_busy": N_(
        "La personne a déjà un rendez-vous à cette heure-là : le formulaire a sans doute été "
        "envoyé deux fois."
    ),
    "too_many_bookings": N_(
        "La personne a déjà le nombre maximum de rendez-vous à venir dans les mairies de "
        "Paris : l'un d'eux doit être annulé pour en prendre un autre."
    ),
    "phone_not_mobile": N_(
        "Sans adresse e-mail, la confirmation partirait par SMS, et les SMS ne partent que vers "
        "un numéro de portable : indiquez le portable ou l'adresse e-mail de la personne."
    ),
    "too_soon": N_("Ce créneau est passé, ou trop proche pour être réservé."),
    "walk_in_share": N_(
        "Cette journée est complète pour les rendez-vous : le reste du temps est gardé pour "
        "les personnes qui viennent sans rendez-vous. Choisissez un autre jour."
    ),
    "too_many_attempts": N_(
        "Cette adresse e-mail ou ce numéro a servi à trop de réservations aujourd'hui : "
        "réessayez demain."
    ),
}


def refusal_for_someone(code: str) -> str:
    """What reception's and partners' pages say of a refusal of code `code`, spoken of the
    person they book for."""
    if code in REFUSALS_FOR_SOMEONE:
        return gettext(REFUSALS_FOR_SOMEONE[code])
    return refusal(code)


def label(labels: Mapping[str, str], code: str) -> str:
    """The word of `labels` for `code`, in the current language; the code itself if
    `labels` has none."""
    return gettext(labels[code]) if code in labels else code


def message_kind(kind: str) -> str:
    """The words of a message's kind, in the current language: "rappel 24 heures avant"
    for "reminder_24h"; the kind itself if there are none."""
    hours = kind.removeprefix("reminder_").removesuffix("h")
    if kind.startswith("reminder_") and kind.endswith("h") and hours.isdigit():
        return gettext("rappel %(when)s", when=hours_before([int(hours)]))
    return label(MESSAGE_KINDS, kind)


def check_in_window(early: int, late: int, limit: int) -> str:
    """What reception is told of a site's check-in window, from its own settings."""
    return gettext(
        "L'arrivée s'enregistre dès %(early)s avant l'heure du rendez-vous. Jusqu'à "
        "%(late)s après, la personne garde sa place ; au-delà, elle est enregistrée "
        "en retard, et jusqu'à %(limit)s après la fin du rendez-vous.",
        early=minutes(early),
        late=minutes(late),
        limit=minutes(limit),
    )


def check_in_refusal(code: str, early: int, limit: int) -> str:
    """A refused check-in in plain words, with the site's own minutes."""
    if code == "check_in_too_early":
        return gettext(
            "Trop tôt : l'arrivée s'enregistre au plus tôt %(early)s avant le "
            "rendez-vous. En attendant, vous pouvez donner un ticket sans rendez-vous.",
            early=minutes(early),
        )
    if code == "check_in_too_late":
        return gettext(
            "Trop tard : une arrivée en retard s'enregistre jusqu'à %(limit)s après la "
            "fin du rendez-vous. Donnez un ticket sans rendez-vous.",
            limit=minutes(limit),
        )
    return refusal(code)
