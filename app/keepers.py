"""Derived data kept in the transaction that changes what it derives from, by listeners on
the ORM's flushes; `app.db.Database` imports this module, so that they listen in every
process before its first write. A new keeper is one more import here."""

from app.booking import free_time

__all__ = ["free_time"]
