"""The API's JSON request bodies, read as JSON: sent as JSON (415 otherwise), each key
once in an object, a number where a number is expected, a boolean where a boolean is,
for every route at once.

Litestar converts a handler's arguments with msgspec's lax rules (`strict=False`), made
for query strings and paths, which are text: in a body that turns the string "50" into
the integer 50, "true" or 1 into True and 50.0 into 50. A body is JSON, which has types
of its own, so `StrictJsonRequest.json` first checks the decoded body against the type
of the handler's `data` with msgspec's strict rules, and refuses a value of the wrong
type with Litestar's own 400 for a field of the wrong type (its `errors` name the key).
Only then does Litestar convert it, which leaves a body of the right types as it is.

A body is read only when its `Content-Type` says JSON: a page of another site may send
text or a form without asking first, never JSON. A key given twice is refused, where
msgspec kept the last and a proxy or a log may read the first.

The pages' forms are not JSON: they are read as text (`app/sites/forms.py` and the
like), on purpose, and go nowhere near this.
"""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ClientException, SerializationException, ValidationException

# Where in the body msgspec found a value of the wrong type: "… - at `$.reminder_hours[1]`".
WHERE = re.compile(r"^(?P<message>.*?)(?: - at `\$\.?(?P<key>[^`]*)`)?$", re.DOTALL)
# The field msgspec names as unknown or missing: "Object contains unknown field `nom`".
FIELD = re.compile(r"^Object (?:contains unknown|missing required) field `([^`]+)`$")
# A `\u` escape of half a UTF-16 surrogate pair without its other half: no character,
# which msgspec calls "Input data was truncated" or "invalid utf-16 surrogate pair".
HALF_PAIR = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


class StrictJsonRequest(Request[Any, Any, Any]):
    """A request whose JSON body must have the JSON types its handler's `data` says."""

    async def json(self) -> Any:
        expected = self._body_type()
        if expected is not None and not is_json(self.content_type[0]):
            raise ClientException(
                status_code=415,
                detail="The request body is read as JSON only when sent as JSON: with "
                "`Content-Type: application/json`.",
            )
        try:
            value = await super().json()
        except SerializationException as exc:
            raise not_json(str(exc), await self.body()) from None
        if expected is not None:
            refuse_repeated_keys(await self.body())
            try:
                msgspec.convert(
                    value,
                    expected,
                    strict=True,
                    str_keys=True,
                    dec_hook=self.route_handler.default_deserializer,
                )
            except msgspec.ValidationError as exc:
                raise wrong_type(exc) from None
        return value

    def _body_type(self) -> Any:
        """The type of the handler's `data`, or None for a handler that takes no body."""
        handler = self.route_handler
        if handler.resolve_data_dto() is not None:  # a DTO reads the body its own way
            return None
        data = handler.parsed_fn_signature.parameters.get("data")
        return None if data is None else data.annotation


def is_json(media_type: str) -> bool:
    """`application/json`, or a JSON type of its own (`application/merge-patch+json`)."""
    kind = media_type.strip().lower()
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


def refuse_repeated_keys(body: bytes) -> None:
    """A key given twice in one object is refused: msgspec, as most readers, keeps the
    last, where a proxy or a log may read the first (`{"site": "paris-15", …, "site":
    "paris-5"}`). The body is read again for this, by Python's reader, which sees each
    pair; msgspec has found it well formed already."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, _value in items:
            if key in seen:
                raise ValidationException(
                    extra=[
                        {
                            "message": f"`{key}` is given more than once.",
                            "key": key,
                            "source": "body",
                        }
                    ],
                )
            seen.add(key)
        return dict(items)

    json.loads(body, object_pairs_hook=pairs)


def takes_a_body(request: Request[Any, Any, Any]) -> bool:
    """Whether the request's handler must be sent a JSON body (a `data` not optional)."""
    handler = request.route_handler
    data = handler.parsed_fn_signature.parameters.get("data")
    return (
        data is not None
        and not (data.is_optional or data.has_default)
        and handler.resolve_data_dto() is None
    )


def no_body() -> ValidationException:
    """The refusal of an empty body where the handler takes one (Litestar's own said only
    "'data'")."""
    return ValidationException(
        detail="The request body is empty: this operation takes a JSON body "
        "(its schema is in /schema/openapi.json)."
    )


def not_json(reason: str, body: bytes) -> ValidationException:
    """The refusal of a body that is not JSON, saying why as msgspec found it, without its
    `$[...]` (where, not said) and in plain words for half a surrogate pair."""
    if HALF_PAIR.search(body) and ("truncated" in reason or "surrogate" in reason):
        reason = (
            "a string holds half of a UTF-16 surrogate pair (a \\uD800 to \\uDFFF escape "
            "without its other half), which is no character"
        )
    else:
        found = WHERE.match(reason)
        reason = (found["message"] if found else reason).removeprefix("JSON is malformed: ")
    return ValidationException(
        detail=f"The request body is not valid JSON: {reason[:1].lower()}{reason[1:]}."
    )


def wrong_type(exc: msgspec.ValidationError) -> ValidationException:
    """Litestar's refusal of a body with a value of the wrong type, or a field unknown or
    missing, its key named as Litestar names it ("walk_in_percent", "reminder_hours[1]",
    "hours.monday")."""
    found = WHERE.match(str(exc))
    message, key = (found["message"], found["key"]) if found else (str(exc), None)
    # A field unknown or missing is named in the message, in the object at `key`.
    field = FIELD.search(message)
    if field:
        key = f"{key}.{field[1]}" if key else field[1]
    error: dict[str, str] = {"message": message, "source": "body"}
    if key:
        error["key"] = key
    return ValidationException(detail="The request body is not valid.", extra=[error])
