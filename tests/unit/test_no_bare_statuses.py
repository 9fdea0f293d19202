"""Statuses are compared, assigned and filtered through their StrEnum members, never as bare
strings: a typo in a bare string is a status that never matches, and nothing says so.

The scanner reads every module of `app/` with `ast` and names each string constant equal
to a status value that is compared with something that mentions a status (`x.status`, a
name containing "status"), assigned to `.status`, passed as `status=`, or listed in the
argument of `.status.in_(...)` / `.status.not_in(...)`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from app.booking.models import AppointmentStatus
from app.notify.models import MessageStatus
from app.queue.models import TicketStatus
from app.visits.models import EscalationStatus
from app.webhooks.models import DeliveryStatus

APP = Path(__file__).resolve().parents[2] / "app"
STATUS_VALUES = frozenset(
    status.value
    for enum in (AppointmentStatus, TicketStatus, EscalationStatus, MessageStatus, DeliveryStatus)
    for status in enum
)


def _is_status(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Constant) and type(node.value) is str and node.value in STATUS_VALUES
    )


def _values(node: ast.expr) -> Iterator[ast.Constant]:
    """The status constants `node` evaluates to directly (itself, or either branch of a
    conditional expression, or an operand of `and` / `or`)."""
    if _is_status(node):
        assert isinstance(node, ast.Constant)
        yield node
    elif isinstance(node, ast.IfExp):
        yield from _values(node.body)
        yield from _values(node.orelse)
    elif isinstance(node, ast.BoolOp):
        for value in node.values:
            yield from _values(value)


def _elements(node: ast.expr) -> Iterator[ast.Constant]:
    """The status constants of a tuple, list or set literal (or of a lone value)."""
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        for element in node.elts:
            yield from _values(element)
    else:
        yield from _values(node)


def _mentions_status(node: ast.AST) -> bool:
    return any(
        (isinstance(part, ast.Attribute) and part.attr == "status")
        or (isinstance(part, ast.Name) and "status" in part.id.lower())
        for part in ast.walk(node)
    )


def _is_status_attribute(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "status"


def _names_its_value(target: ast.expr, value: ast.expr) -> bool:
    """`PENDING = "pending"`: a status spelled again under its own name, outside its enum,
    whose every use then looks like a member's."""
    return (
        isinstance(target, ast.Name)
        and _is_status(value)
        and target.id.lower() == getattr(value, "value", None)
    )


def bare_statuses(source: str, filename: str = "<source>") -> list[str]:
    """Each bare status string of `source`, as "file:line: what was found"."""
    found: list[tuple[int, str]] = []
    tree = ast.parse(source, filename)
    for statement in tree.body:  # a module's own names (an enum's members are in its class)
        if isinstance(statement, ast.Assign) and any(
            _names_its_value(target, statement.value) for target in statement.targets
        ):
            value = getattr(statement.value, "value", "")
            found.append((statement.lineno, f"{value!r} spelled again as a name"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            lefts = [node.left, *node.comparators[:-1]]
            for left, op, right in zip(lefts, node.ops, node.comparators, strict=True):
                membership = isinstance(op, ast.In | ast.NotIn)
                on_right = list(_elements(right) if membership else _values(right))
                if _mentions_status(left):
                    found += [(c.lineno, f"{c.value!r} compared with a status") for c in on_right]
                if _mentions_status(right):
                    found += [
                        (c.lineno, f"{c.value!r} compared with a status") for c in _values(left)
                    ]
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if node.value is not None and any(_is_status_attribute(t) for t in targets):
                found += [
                    (c.lineno, f"{c.value!r} assigned to .status") for c in _values(node.value)
                ]
        elif isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg == "status":
                    found += [
                        (c.lineno, f"{c.value!r} passed as status=") for c in _values(keyword.value)
                    ]
            function = node.func
            if (
                isinstance(function, ast.Attribute)
                and function.attr in ("in_", "not_in")
                and _is_status_attribute(function.value)
            ):
                for argument in node.args:
                    found += [
                        (c.lineno, f"{c.value!r} in .status.{function.attr}(...)")
                        for c in _elements(argument)
                    ]
    return [f"{filename}:{line}: {what}" for line, what in sorted(set(found))]


def test_no_module_of_the_app_compares_assigns_or_filters_a_bare_status_string() -> None:
    modules = sorted(APP.rglob("*.py"))
    assert len(modules) > 50

    found = [
        offence
        for module in modules
        for offence in bare_statuses(
            module.read_text(encoding="utf-8"), str(module.relative_to(APP.parent))
        )
    ]

    assert found == [], "bare status strings:\n" + "\n".join(found)


OFFENDING = """\
if ticket.status == "done":
    pass
if "waiting" != ticket.status:
    pass
if appointment.status in ("booked", "checked_in"):
    pass
if message_status not in ["sent", AppointmentStatus.CANCELLED]:
    pass
ticket.status = "called"
escalation.status = "answered" if answered else "closed"
OutboxMessage(status="pending")
query.values(status="failed")
select(Ticket).where(Ticket.status.in_(("serving", "called")))
select(Ticket).where(Ticket.status.not_in({"no_show"}))
SENDING = "sending"
"""


def test_the_scanner_finds_each_kind_of_bare_status() -> None:
    found = bare_statuses(OFFENDING, "offending.py")

    assert found == [
        "offending.py:1: 'done' compared with a status",
        "offending.py:3: 'waiting' compared with a status",
        "offending.py:5: 'booked' compared with a status",
        "offending.py:5: 'checked_in' compared with a status",
        "offending.py:7: 'sent' compared with a status",
        "offending.py:9: 'called' assigned to .status",
        "offending.py:10: 'answered' assigned to .status",
        "offending.py:10: 'closed' assigned to .status",
        "offending.py:11: 'pending' passed as status=",
        "offending.py:12: 'failed' passed as status=",
        "offending.py:13: 'called' in .status.in_(...)",
        "offending.py:13: 'serving' in .status.in_(...)",
        "offending.py:14: 'no_show' in .status.not_in(...)",
        "offending.py:15: 'sending' spelled again as a name",
    ]


CLEAN = """\
if ticket.status == TicketStatus.DONE:
    pass
if appointment.status in (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN):
    pass
ticket.status = TicketStatus.CALLED
OutboxMessage(status=MessageStatus.PENDING)
select(Ticket).where(Ticket.status.in_((TicketStatus.SERVING, TicketStatus.CALLED)))
if action == "no_show":
    record(ticket, "closed")
health = Health(status="ok")
label = LABELS["done"]
kind: Literal["waiting", "called"] = "waiting"
"""


def test_the_scanner_passes_statuses_written_as_members_and_other_strings() -> None:
    assert bare_statuses(CLEAN, "clean.py") == []
