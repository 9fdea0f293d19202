"""The shape of app/ that keeps it simple to read and change (see docs/decisions/0008):
small modules, no module reaching into another's private names, and the messages
knowing the other domains only through their events."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
LONGEST_MODULE = 500


def modules() -> list[Path]:
    return sorted(APP.rglob("*.py"))


def name_of(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> list[tuple[str, list[str], str | None]]:
    """(module, names, alias of a module import) for each import of `path`."""
    found: list[tuple[str, list[str], str | None]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, [alias.name for alias in node.names], None))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, [], alias.asname) for alias in node.names)
    return found


def test_no_module_is_longer_than_500_lines() -> None:
    long = {
        name_of(path): lines
        for path in modules()
        if (lines := len(path.read_text().splitlines())) > LONGEST_MODULE
    }
    assert long == {}


def test_no_module_imports_another_modules_private_names() -> None:
    reaching = [
        f"{name_of(path)} imports {module}.{name}"
        for path in modules()
        for module, names, _ in imports_of(path)
        if module.startswith("app")
        for name in names
        if name.startswith("_") and not name.startswith("__")
    ]
    assert reaching == []


def test_no_module_reads_a_private_name_of_a_module_it_imported() -> None:
    """`from app.x import y` then `y._z`: reaching in by attribute counts too."""
    reaching = []
    for path in modules():
        tree = ast.parse(path.read_text())
        aliases = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("app")
            for alias in node.names
            if (APP.parent / node.module.replace(".", "/") / f"{alias.name}.py").exists()  # type: ignore[union-attr]
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                reaching.append(f"{name_of(path)} reads {node.value.id}.{node.attr}")
    assert reaching == []


def test_the_messages_import_no_booking_queue_or_visits_module() -> None:
    """`app/notify` knows the domains' events (app/events.py), not their models."""
    reaching = [
        f"{name_of(path)} imports {module}"
        for path in sorted((APP / "notify").rglob("*.py"))
        for module, _, _ in imports_of(path)
        if module.split(".")[:2] in (["app", "booking"], ["app", "queue"], ["app", "visits"])
    ]
    assert reaching == []


def test_every_domain_event_is_heard() -> None:
    """An event nobody hears is a message or a record silently lost."""
    import app.events as events

    events.load_subscribers()
    kinds = [
        value
        for value in vars(events).values()
        if isinstance(value, type) and issubclass(value, events.Event) and value.name
    ]
    unheard = [kind.name for kind in kinds if not events.SUBSCRIBERS.by_type.get(kind)]
    assert len(kinds) == 23
    assert unheard == []
