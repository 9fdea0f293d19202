"""Every module that hears domain events, or tells the messages what they are about;
`app.events` imports this once, on the first event a process records (and the message
dispatcher when it starts). A new subscriber is one more import here."""

from app.audit import subscribers as audit_log
from app.booking import messages as appointment_messages
from app.live import subscribers as live_screens
from app.notify import subscribers as messages
from app.queue import messages as ticket_messages
from app.queue import remote as remote_tickets
from app.waitlist import subscribers as earlier_slots
from app.webhooks import subscribers as webhooks

__all__ = [
    "appointment_messages",
    "audit_log",
    "earlier_slots",
    "live_screens",
    "messages",
    "remote_tickets",
    "ticket_messages",
    "webhooks",
]
