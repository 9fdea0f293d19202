"""The partners' page: a social worker books for a person without the API."""

from __future__ import annotations

from litestar import Controller


class PartnerPages(Controller):
    path = "/partenaires"
    include_in_schema = False
