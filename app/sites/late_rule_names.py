"""The names of the late-arrival rules (`LateArrivalRule`), as the mairie's settings page
and the journal both say them."""

from __future__ import annotations

from app.i18n import N_

LATE_RULES = {
    "walk_in": N_("Comme une personne sans rendez-vous qui arrive"),
    "grace": N_(
        "À l'heure de son rendez-vous pendant le délai de grâce, puis comme sans rendez-vous"
    ),
}
