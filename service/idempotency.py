"""Which idempotency key a write uses: the body's `key`, the `Idempotency-Key` header, or both.

The header is held to exactly the rules of the body's field (`IdempotencyKey`),
so that a key that one way in refuses cannot come in the other way."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError

from service.schemas import IdempotencyKey

HEADER = "Idempotency-Key"
_KEY: TypeAdapter[str] = TypeAdapter(IdempotencyKey)


def request_key(
    body_key: str | None, header: str | None
) -> tuple[str | None, list[dict[str, Any]]]:
    """(key, problems); problems name the header or the field at fault."""
    if header is None:
        return body_key, []
    try:
        key = _KEY.validate_python(header)
    except ValidationError as error:
        return None, [
            {"field": HEADER, "msg": problem["msg"], "type": problem["type"]}
            for problem in error.errors()
        ]
    if body_key is not None and body_key != key:
        return None, [
            {
                "field": "key",
                "msg": f"differs from the {HEADER} header; send one or make them equal",
                "type": "value_error",
            }
        ]
    return key, []
