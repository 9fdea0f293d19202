"""The lobby screens' part of a mairie's administration page: pair a screen (its address,
with its key and as a QR code, is shown once, on the answer to the form) and revoke one.
Plain forms posted with the session cookie and its CSRF field."""

from __future__ import annotations

from typing import Annotated

from litestar import post
from litestar.di import NamedDependency
from litestar.params import PathParameter
from litestar.response import Redirect, Template

from app.accounts.service import site_to_run
from app.errors import Conflict, Invalid
from app.i18n import gettext, ngettext
from app.live import commands as screens
from app.sites.admin_tabs import back
from app.sites.admin_view import site_context
from app.sites.schemas import Slug
from app.web.staff import Staff, StaffController, our_link

Id = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]
LABEL_FIELD = "ecran-nom"


class ScreenAdminPages(StaffController):
    @post("/admin/sites/{slug:str}/ecrans")
    async def pair_screen(
        self,
        slug: Slug,
        staff: NamedDependency[Staff],
    ) -> Template:
        site = await site_to_run(staff.session, staff.actor, slug)
        form = await staff.request.form()
        label = str(form.get(LABEL_FIELD, ""))[:1000]
        try:
            paired = await screens.pair(
                staff.session, staff.actor, slug, label=label, now=staff.now
            )
        except (Invalid, Conflict) as refused:
            text = (
                refused.problems[0].text
                if isinstance(refused, Invalid)
                else ngettext(
                    "Cette mairie a déjà %(num)d écran : retirez-le d'abord.",
                    "Cette mairie a déjà %(num)d écrans : retirez-en un d'abord.",
                    screens.MAX_SCREENS_PER_SITE,
                )
            )
            page = await site_context(staff, site)
            page.update(errors={LABEL_FIELD: text}, entered={LABEL_FIELD: label}, posted="ecran")
            return Template("admin_site.html", context=page, status_code=400)
        title = gettext("Code QR : l'adresse de l'écran")
        address, qr = await our_link(staff.settings, paired.path, title)
        return Template(
            "admin_screen_paired.html",
            context={
                "staff": staff,
                "agent": staff.actor,
                "section": "sites",
                "site": site,
                "label": paired.screen.label,
                "address": address,
                "qr": qr,
            },
        )

    @post("/admin/sites/{slug:str}/ecrans/{screen_id:int}/retrait")
    async def revoke_screen(
        self,
        slug: Slug,
        screen_id: Id,
        staff: NamedDependency[Staff],
    ) -> Redirect:
        site = await site_to_run(staff.session, staff.actor, slug)
        await screens.revoke(staff.session, staff.actor, slug, screen_id, now=staff.now)
        return back(site, "ecrans", fait="ecran_retire")
