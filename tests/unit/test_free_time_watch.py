"""The summary of free time hears of changes through the ORM's flushes: an `insert()`,
`update()` or `delete()` statement on what it derives from would go unseen. This test
reads the code for such statements; each one allowed is listed with why it moves no free
time."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
WATCHED = {"Appointment", "Station", "StationOutage", "WeeklyHours", "HoursException", "Closure"}
ALLOWED = {
    # Booked appointments nobody came to become no-shows: they still hold their station.
    ("booking/commands.py", "mark_missed", "update", "Appointment"),
    # Personal data blanked after the retention period: times and stations are kept.
    ("retention.py", "blank_appointments", "update", "Appointment"),
    # The booking guard's keys of past appointments, dropped: no time or station moves.
    ("retention.py", "sweep", "update", "Appointment"),
    # Bookings attached to a resident at sign-in, and let go when their space is deleted:
    # only `resident_id` changes.
    ("residents/linking.py", "attach", "update", "Appointment"),
    ("residents/erasure.py", "erase", "update", "Appointment"),
}


def statements() -> set[tuple[str, str, str, str]]:
    """(file, function, insert|update|delete, model) of each such statement in app/."""
    found = set()
    for path in APP.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in ("insert", "update", "delete")
                    and node.args
                    and isinstance(node.args[0], ast.Name)
                    and node.args[0].id in WATCHED
                ):
                    file = path.relative_to(APP).as_posix()
                    found.add((file, function.name, node.func.id, node.args[0].id))
    return found


def test_no_statement_changes_what_the_summary_derives_from_behind_its_back() -> None:
    assert statements() - ALLOWED == set()


def test_the_statements_allowed_are_still_there() -> None:
    """An entry left here after its code went would allow a new one unseen."""
    assert ALLOWED - statements() == set()
