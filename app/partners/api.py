"""Administrators create partners and their keys."""

from __future__ import annotations

from litestar import Controller


class PartnersAdminController(Controller):
    path = "/api/v1/admin/partners"
    tags = ["admin"]
