"""Every module that hears domain events, or tells the messages what they are about;
`app.events` imports this once, on the first event a process records (and the message
dispatcher when it starts). A new subscriber (the audit log, webhook deliveries) is one
more import here."""

from app.booking import messages as appointment_messages
from app.notify import subscribers as messages
from app.queue import messages as ticket_messages

__all__ = ["appointment_messages", "messages", "ticket_messages"]
