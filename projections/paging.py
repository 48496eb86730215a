"""Keyset paging: a page ends at the sort key of its last row; the next starts after it.

The cursor is that key, as opaque URL-safe text. Reading after it is one row-value
comparison that an index in the same order can seek to (SQLite and PostgreSQL).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import orjson


class BadCursorError(ValueError):
    pass


def encode_cursor(key: Sequence[str]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode()


def decode_cursor(cursor: str, size: int = 3) -> tuple[str, ...]:
    """The key a page ended at; BadCursorError if it is not one of ours."""
    try:
        key = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError, orjson.JSONDecodeError) as error:
        raise BadCursorError(cursor) from error
    if not isinstance(key, list) or len(key) != size:
        raise BadCursorError(cursor)
    if not all(isinstance(part, str) for part in key):
        raise BadCursorError(cursor)
    return tuple(key)


def after_key(columns: Sequence[str], cursor: str) -> tuple[str, list[Any]]:
    """The predicate (and parameters) for rows sorting after the cursor's key."""
    key = decode_cursor(cursor, len(columns))
    marks = ", ".join(["%s"] * len(columns))
    return f"({', '.join(columns)}) > ({marks})", list(key)
