"""Finished visits as activity records, with La Coop de la médiation numérique's fields."""

from __future__ import annotations

from litestar import Controller


class ActivitiesController(Controller):
    path = "/api/v1/activities"
    tags = ["visits"]
