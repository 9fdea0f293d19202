"""Dates, times and messages in French, for the pages and the messages."""

from __future__ import annotations

from app.i18n.formats import minutes

STATUSES = {
    "booked": "confirmé",
    "checked_in": "vous êtes arrivé·e à l'accueil",
    "served": "a eu lieu",
    "no_show": "manqué",
    "cancelled": "annulé",
    "called_off": "annulé par la mairie",
}

# What the pages say for each code of the domain's errors.
MESSAGES = {
    "cross_site_form": "Ce formulaire doit être envoyé depuis les pages de la mairie : "
    "rouvrez la page, puis recommencez.",
    "name_missing": "Indiquez votre nom.",
    "name_invalid": "Le nom ne doit contenir que des lettres et des signes lisibles "
    "(120 caractères au plus).",
    "email_invalid": "Cette adresse e-mail n'est pas valide. Exemple : nom@exemple.fr",
    "email_undeliverable": "Aucun message ne peut arriver à cette adresse e-mail : "
    "vérifiez ce qui suit le @. Exemple : nom@exemple.fr",
    "phone_not_mobile": "Les SMS ne partent que vers un numéro de portable (06, 07, ou un "
    "portable d'outre-mer) : indiquez un portable, ou choisissez les rappels par e-mail.",
    "address_day_full": "Vous avez déjà pris le nombre maximum de rendez-vous pour ce jour "
    "dans cette mairie depuis cette connexion. Pour un rendez-vous de plus, appelez la mairie.",
    "phone_invalid": "Ce numéro de téléphone n'est pas valide. Exemple : 06 12 34 56 78",
    "contact_missing": "Indiquez une adresse e-mail ou un numéro de téléphone, "
    "pour recevoir la confirmation.",
    "too_many_attempts": "Cette adresse e-mail ou ce numéro a servi à trop de réservations "
    "aujourd'hui. Réessayez demain, ou appelez la mairie.",
    "too_many_bookings": "Vous avez déjà le nombre maximum de rendez-vous à venir dans les "
    "mairies de Paris. Annulez-en un pour en prendre un autre.",
    "not_cancellable": "Ce rendez-vous a commencé ou a déjà eu lieu : il ne peut plus être annulé.",
    "not_movable": "Ce rendez-vous a commencé, a eu lieu ou a été annulé : "
    "il ne peut plus être déplacé.",
    "not_called_off": "Seul un rendez-vous annulé par la mairie se reprend à un autre "
    "créneau : déplacez plutôt celui-ci.",
    "already_rebooked": "Vous avez déjà choisi un autre créneau à la place de ce rendez-vous.",
    "too_soon": "Ce créneau est trop proche (ou passé) pour être réservé en ligne.",
    "too_late": "Ce créneau est trop lointain : il n'est pas encore ouvert à la réservation.",
    "closed": "La mairie est fermée à cette heure-là.",
    "off_grid": "Cette heure ne correspond pas au début d'un créneau : choisissez un créneau "
    "de la liste.",
    "no_station": "Aucun poste de cette mairie ne peut accueillir ce rendez-vous.",
    "taken": "Ce créneau vient d'être réservé par quelqu'un d'autre.",
    "walk_in_share": "Cette journée est complète pour la réservation en ligne : le reste du "
    "temps est gardé pour les personnes qui viennent sans rendez-vous.",
    "already_checked_in": "Ce rendez-vous est déjà enregistré : la personne est dans la file.",
    "booked_elsewhere": "Ce rendez-vous est pris dans une autre mairie : la personne doit s'y "
    "présenter.",
    "not_booked": "Ce rendez-vous n'est plus valable (annulé, manqué ou passé) : "
    "donnez un ticket sans rendez-vous.",
    "check_in_too_early": "Trop tôt : l'arrivée ne s'enregistre pas encore pour ce rendez-vous. "
    "En attendant, vous pouvez donner un ticket sans rendez-vous.",
    "check_in_too_late": "Trop tard : le rendez-vous est fini depuis trop longtemps pour "
    "enregistrer l'arrivée. Donnez un ticket sans rendez-vous.",
    "site_closed": "La mairie est fermée : pas de ticket ni d'arrivée en dehors des horaires "
    "d'ouverture. Pour donner quand même un ticket, cochez « Mairie fermée : donner quand "
    "même un ticket » et indiquez pourquoi.",
    "reason_missing": "Indiquez pourquoi vous donnez un ticket alors que la mairie est fermée.",
    "cannot_recall": "Seul un ticket appelé peut être rappelé.",
    "cannot_start": "Seul un ticket appelé peut être pris en charge.",
    "cannot_finish": "Seul un ticket en cours peut être terminé.",
    "cannot_no_show": "Seul un ticket appelé peut être marqué absent.",
    "cannot_cancel": "Seul un ticket en attente ou appelé peut être annulé.",
    "cannot_transfer": "Ce ticket est terminé, absent ou annulé : il ne peut plus être transféré.",
    "nobody_waiting": "Personne n'attend pour ce poste.",
    "station_out_of_service": "Ce poste est hors service en ce moment : appelez depuis un autre "
    "poste.",
    "not_found": "Introuvable : vérifiez la référence.",
    "score_invalid": "Choisissez une note de 1 à 5.",
    "visit_not_over": "Vous pourrez donner votre avis une fois votre visite terminée.",
    "outcome_invalid": "Choisissez l'issue de la visite.",
    "department_required": "Choisissez le service expert à qui la demande est transmise.",
    "department_without_escalation": "Un service expert ne se choisit que pour une demande "
    "transmise.",
    "unknown_department": "Ce service expert n'existe pas ou n'est plus proposé.",
    "unknown_service": "Une des démarches choisies n'existe pas.",
    "escalation_backwards": "Cette demande est déjà à cette étape ou plus loin.",
    "date_invalid": "Cette date n'est pas valide : écrivez-la AAAA-MM-JJ, entre le "
    "01/01/2000 et le 31/12/2100.",
}
TICKET_STATUSES = {
    "waiting": "en attente",
    "called": "appelé",
    "serving": "en cours",
    "done": "terminé",
    "no_show": "absent",
    "cancelled": "annulé",
    "closed": "clos à la fermeture",
}
ESCALATION_STATUSES = {
    "received": "transmise au service",
    "in_progress": "en cours de traitement",
    "answered": "réponse reçue",
    "closed": "close",
}
OUTCOMES = {
    "solved": "Démarche faite",
    "alone": "La personne terminera seule",
    "escalated": "Transmise à un service expert",
    "unhelped": "Aide impossible",
    "unrecorded": "Non renseigné",
}
CHANNELS = {
    "online": "en ligne",
    "phone": "par téléphone",
    "counter": "au guichet",
    "walk_in": "sans rendez-vous",
}
FALLBACK = "Votre demande n'a pas pu aboutir. Vérifiez les informations et réessayez."


def message(code: str) -> str:
    return MESSAGES.get(code, FALLBACK)


def check_in_window(early: int, late: int, limit: int) -> str:
    """What reception is told of a site's check-in window, from its own settings."""
    return (
        f"L'arrivée s'enregistre dès {minutes(early)} avant l'heure du rendez-vous. Jusqu'à "
        f"{minutes(late)} après, la personne garde sa place ; au-delà, elle est enregistrée "
        f"en retard, et jusqu'à {minutes(limit)} après la fin du rendez-vous."
    )


def check_in_refusal(code: str, early: int, limit: int) -> str:
    """A refused check-in in plain words, with the site's own minutes."""
    if code == "check_in_too_early":
        return (
            f"Trop tôt : l'arrivée s'enregistre au plus tôt {minutes(early)} avant le "
            "rendez-vous. En attendant, vous pouvez donner un ticket sans rendez-vous."
        )
    if code == "check_in_too_late":
        return (
            "Trop tard : une arrivée en retard s'enregistre jusqu'à "
            f"{minutes(limit)} après la fin du rendez-vous. Donnez un ticket sans rendez-vous."
        )
    return message(code)
