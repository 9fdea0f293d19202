"""What a sender of leased rows (`app.leases`) is made of: the messages' dispatcher
(`app.notify.dispatcher`) and the webhooks' deliverer (`app.webhooks.deliver`) are both
one, each with its own defaults and what it sends with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime, timedelta
from random import Random

from app.db import Database


@dataclass(eq=False, repr=False)
class LeaseSender:
    """Claims up to `batch` due rows at a time for `instance`, each for `lease`, and gives
    a row up after `attempts`."""

    db: Database
    clock: Callable[[], datetime]
    _: KW_ONLY
    instance: str
    batch: int
    attempts: int
    lease: timedelta
    # Spreads retries; nothing secret.
    random: Random = field(init=False, default_factory=Random)
