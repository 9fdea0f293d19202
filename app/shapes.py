"""Filling a struct from a model: the fields of the same names are copied, the others given."""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any, TypeVar

import msgspec

Out = TypeVar("Out")


@cache
def field_names(shape: type[Any]) -> tuple[str, ...]:
    """The fields of a msgspec struct or of a dataclass."""
    names: tuple[str, ...] | None = getattr(shape, "__struct_fields__", None)
    if names is not None:
        return names
    return tuple(field.name for field in dataclasses.fields(shape))


def from_model(row: Any, shape: type[Out], **given: Any) -> Out:
    """The struct (or dataclass) `shape` with the fields `given`, and each of its other
    fields read from the attribute of the same name of `row`. With nothing given, the
    values are also checked against the struct's types."""
    if not given:
        return msgspec.convert(row, shape, from_attributes=True)
    names = field_names(shape)  # type: ignore[arg-type]  # classes are hashable
    copied = {name: getattr(row, name) for name in names if name not in given}
    return shape(**copied, **given)
