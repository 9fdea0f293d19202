"""The City's catalogs of services and needs: administrators add, change and retire items,
managers read them. A retired item is offered no more, but past bookings keep it."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, Protocol, TypeVar

import msgspec
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import events
from app.accounts.actors import Actor
from app.accounts.service import MANAGERS, authorize
from app.audit.service import Detail
from app.db import writing
from app.errors import Conflict, NotFound
from app.sites.models import Need, Service

ADMINISTRATORS: frozenset[str] = frozenset()  # `authorize` lets administrators do anything

StationKind = Literal["standard", "double"]
# Python's `$` also matches before a final newline: `(?!.*\n)` refuses one, in Python as
# in the engines that read these patterns from the OpenAPI document.
CODE_PATTERN = r"^(?!.*\n)[a-z0-9][a-z0-9-]*$"
# One line of readable text: no control characters (nor the invisible ones that turn text
# around, U+202A–U+202E and U+2066–U+2069), not only spaces.
UNSEEN = r"\x7f-\x9f\u202a-\u202e\u2066-\u2069"
LINE_PATTERN = rf"^(?!.*\n)(?=.*\S)[^\x00-\x1f{UNSEEN}]+$"
TEXT_PATTERN = rf"^[^\x00-\x08\x0b\x0c\x0e-\x1f{UNSEEN}]*$"

Code = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=CODE_PATTERN)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120, pattern=LINE_PATTERN)]
# An English text is optional: empty, the French one is shown to English readers too.
OPTIONAL_LINE_PATTERN = rf"^(?!.*\n)[^\x00-\x1f{UNSEEN}]*$"
EnglishName = Annotated[str, msgspec.Meta(max_length=120, pattern=OPTIONAL_LINE_PATTERN)]
Description = Annotated[str, msgspec.Meta(max_length=2000, pattern=TEXT_PATTERN)]
Duration = Annotated[int, msgspec.Meta(ge=5, le=240)]
ExtraMinutes = Annotated[int, msgspec.Meta(ge=0, le=120)]
Position = Annotated[int, msgspec.Meta(ge=0, le=10_000)]
Document = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=LINE_PATTERN)]
Documents = Annotated[list[Document], msgspec.Meta(max_length=20)]


class ServiceIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    code: Code
    name: Name
    duration_minutes: Duration
    description: Description = ""
    station_kind: StationKind = "standard"
    documents: Documents = msgspec.field(default_factory=list)
    position: Position | None = None
    name_en: EnglishName = ""
    description_en: Description = ""
    documents_en: Documents = msgspec.field(default_factory=list)


class ServiceChange(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Only the fields given change; `active: false` retires the service; an empty English
    text (`""`, `[]`) is cleared, the French one shown in its place."""

    name: Name | None = None
    description: Description | None = None
    duration_minutes: Duration | None = None
    station_kind: StationKind | None = None
    documents: Documents | None = None
    position: Position | None = None
    active: bool | None = None
    name_en: EnglishName | None = None
    description_en: Description | None = None
    documents_en: Documents | None = None


class NeedIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    code: Code
    name: Name
    extra_minutes: ExtraMinutes = 0
    station_kind: StationKind | None = None
    requires_accessible: bool = False
    position: Position | None = None
    name_en: EnglishName = ""


class NeedChange(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Only the fields given change; `station_kind: null` lets any station serve the need,
    `active: false` retires it, `name_en: ""` clears its English name."""

    name: Name | None = None
    extra_minutes: ExtraMinutes | None = None
    station_kind: StationKind | msgspec.UnsetType | None = msgspec.UNSET
    requires_accessible: bool | None = None
    position: Position | None = None
    active: bool | None = None
    name_en: EnglishName | None = None


Item = TypeVar("Item", Service, Need)


async def all_of(session: AsyncSession, actor: Actor, model: type[Item]) -> list[Item]:
    """Every item of a catalog, retired ones last, for managers and administrators."""
    authorize(actor, roles=MANAGERS)
    query = select(model).order_by(model.active.desc(), model.position, model.code)
    return list(await session.scalars(query))


async def one_of(session: AsyncSession, actor: Actor, model: type[Item], code: str) -> Item:
    authorize(actor, roles=MANAGERS)
    item = await session.scalar(select(model).where(model.code == code))
    if item is None:
        raise NotFound(f"The catalog has no item with the code {code!r}.", code="not_found")
    return item


def _audit_name(model: type[Service] | type[Need]) -> str:
    return "service" if model is Service else "need"


async def _add(
    session: AsyncSession, item: Service | Need, position: int | None, actor: Actor, now: datetime
) -> None:
    """Add a new item, after the others unless a position is given, with its audit line."""
    model = type(item)
    kind = _audit_name(model)
    if await session.scalar(select(model.id).where(model.code == item.code)) is not None:
        raise Conflict(f"A {kind} already has the code {item.code!r}.", code="code_taken")
    if position is None:
        last = await session.scalar(select(func.max(model.position)))
        position = (last or 0) + 10
    item.position = position
    session.add(item)
    try:
        await session.flush()
    except IntegrityError as exc:  # the same code, added at the same instant
        raise Conflict(f"A {kind} already has the code {item.code!r}.", code="code_taken") from exc
    await _record(session, "created", item, actor, now, **_settings_of(item))


async def _record(
    session: AsyncSession,
    action: str,
    item: Service | Need,
    actor: Actor,
    now: datetime,
    **details: Detail,
) -> None:
    """The audit line of `action` done to `item`; the catalog is the City's, not a mairie's."""
    kind = _audit_name(type(item))
    target = f"{kind}:{item.code}"
    await events.administered(session, actor.agent_id, now, f"{kind}.{action}", target, **details)


def _settings_of(item: Service | Need) -> dict[str, Detail]:
    """What an item does to bookings, for the audit log (names and texts are left out)."""
    if isinstance(item, Service):
        return {"duration_minutes": item.duration_minutes, "station_kind": item.station_kind}
    return {
        "extra_minutes": item.extra_minutes,
        "station_kind": item.station_kind or "any",
        "requires_accessible": item.requires_accessible,
    }


async def _change(
    session: AsyncSession,
    item: Service | Need,
    changes: dict[str, object],
    actor: Actor,
    now: datetime,
) -> None:
    """Apply `changes` to `item`; one audit line for what changed, another if it was retired
    or offered again."""
    active = changes.pop("active", None)
    changed = sorted(name for name, value in changes.items() if getattr(item, name) != value)
    for name in changed:
        setattr(item, name, changes[name])
    if changed:
        await _record(session, "changed", item, actor, now, fields=changed, **_settings_of(item))
    if active is not None and active != item.active:
        item.active = bool(active)
        await _record(session, "restored" if active else "retired", item, actor, now)


def _given(data: ServiceChange | NeedChange) -> dict[str, object]:
    """The fields a change names, with their text trimmed."""
    given: dict[str, object] = {}
    for name, value in msgspec.structs.asdict(data).items():
        if value is None or value is msgspec.UNSET:
            continue
        if isinstance(value, str):
            value = value.strip()
        elif isinstance(value, list):
            value = [line.strip() for line in value]
        given[name] = value
    return given


async def _create(
    session: AsyncSession, item: Item, position: int | None, actor: Actor, now: datetime
) -> Item:
    """Add a new item to its catalog (administrators only)."""
    authorize(actor, roles=ADMINISTRATORS)
    async with writing(session):
        await _add(session, item, position, actor, now)
    return item


async def _change_item(
    session: AsyncSession,
    model: type[Item],
    code: str,
    changes: dict[str, object],
    actor: Actor,
    now: datetime,
) -> Item:
    """Apply `changes` to the item at `code` (administrators only)."""
    authorize(actor, roles=ADMINISTRATORS)
    async with writing(session):
        item = await one_of(session, actor, model, code)
        await _change(session, item, changes, actor, now)
    return item


async def create_service(
    session: AsyncSession, data: ServiceIn, *, actor: Actor, now: datetime
) -> Service:
    service = Service(
        code=data.code,
        name=data.name.strip(),
        description=data.description.strip(),
        duration_minutes=data.duration_minutes,
        station_kind=data.station_kind,
        documents=[line.strip() for line in data.documents],
        name_en=data.name_en.strip(),
        description_en=data.description_en.strip(),
        documents_en=[line.strip() for line in data.documents_en],
        active=True,
    )
    return await _create(session, service, data.position, actor, now)


async def change_service(
    session: AsyncSession, code: str, data: ServiceChange, *, actor: Actor, now: datetime
) -> Service:
    return await _change_item(session, Service, code, _given(data), actor, now)


async def create_need(session: AsyncSession, data: NeedIn, *, actor: Actor, now: datetime) -> Need:
    need = Need(
        code=data.code,
        name=data.name.strip(),
        extra_minutes=data.extra_minutes,
        station_kind=data.station_kind,
        requires_accessible=data.requires_accessible,
        name_en=data.name_en.strip(),
        active=True,
    )
    return await _create(session, need, data.position, actor, now)


async def change_need(
    session: AsyncSession, code: str, data: NeedChange, *, actor: Actor, now: datetime
) -> Need:
    changes = _given(data)
    if data.station_kind is None:
        changes["station_kind"] = None
    return await _change_item(session, Need, code, changes, actor, now)


Made = TypeVar("Made", Service, Need, covariant=True)


class Create(Protocol[Made]):
    """A command that adds an item to a catalog, as `actor`."""

    def __call__(
        self, session: AsyncSession, data: Any, *, actor: Actor, now: datetime
    ) -> Awaitable[Made]: ...


class Save(Protocol[Made]):
    """A command that changes the item at `code` of a catalog, as `actor`."""

    def __call__(
        self, session: AsyncSession, code: str, data: Any, *, actor: Actor, now: datetime
    ) -> Awaitable[Made]: ...


@dataclass(frozen=True)
class Kind(Generic[Item]):
    """One of the two catalogs, as its API and its pages serve it: the name of its items
    (in its audit lines, its API's operations and its page's template), their model, what a
    new item and a change read, and the commands that add and change one."""

    name: str
    model: type[Item]
    new: type[ServiceIn] | type[NeedIn]
    change: type[ServiceChange] | type[NeedChange]
    create: Create[Item]
    save: Save[Item]


SERVICES = Kind[Service](
    "service", Service, ServiceIn, ServiceChange, create_service, change_service
)
NEEDS = Kind[Need]("need", Need, NeedIn, NeedChange, create_need, change_need)
