"""Every domain's tables in one import, so that the metadata is complete for migrations.

Importing a domain's `models` module registers all of its tables with `Base.metadata`;
a table added to one of them needs nothing here.
"""

from __future__ import annotations

from app.accounts import models as accounts
from app.audit import models as audit
from app.booking import models as booking
from app.live import models as live
from app.notify import models as notify
from app.partners import models as partners
from app.queue import models as queue
from app.residents import models as residents
from app.sites import models as sites
from app.visits import models as visits
from app.waitlist import models as waitlist
from app.webhooks import models as webhooks

DOMAINS = (
    accounts,
    audit,
    booking,
    live,
    notify,
    partners,
    queue,
    residents,
    sites,
    visits,
    waitlist,
    webhooks,
)
