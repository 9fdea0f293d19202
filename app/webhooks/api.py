"""Administrators register webhook endpoints."""

from __future__ import annotations

from litestar import Controller


class WebhooksAdminController(Controller):
    path = "/api/v1/admin/webhooks"
    tags = ["admin"]
