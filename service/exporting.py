"""An export, read a page at a time from one snapshot position of the timeline view.

Shared by `GET /export/...` and `timeline export --format`: both pin the log
position first (now, or what `as_of` means), then read every page as of that
position, so the whole file is what the timeline said at one point, even while
writes go on and however long the stream takes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from projections.exports.stream import FORMATS, paged
from service.views_routes import TimelineFilters, actor_ids_of, asked_position

PAGE = 500  # entries a page: a read's size and what the export holds in memory at once

Reader = Callable[[], AbstractContextManager[tuple[Any, Any, int]]]  # (view, cursor, tracked)


def pin(
    read: Reader,
    as_of_position: int | None,
    as_of_time: datetime | None,
    filters: TimelineFilters,
) -> tuple[int, set[str] | None]:
    """The position every page is read at, and the filter's actor resolved there."""
    with read() as (view, cursor, tracked):
        position = asked_position(view, cursor, tracked, as_of_position, as_of_time)
        position = tracked if position is None else position
        actor_ids = actor_ids_of(view, cursor, filters.actor, position) if filters.actor else None
        return position, actor_ids


def export_bytes(
    read: Reader,
    format_name: str,
    position: int,
    filters: TimelineFilters,
    actor_ids: set[str] | None,
    counted: list[int] | None = None,
) -> Iterator[bytes]:
    """The export's bytes; each page is read in its own short read transaction (and
    its number of entries appended to `counted`)."""
    query = filters.query(actor_ids)

    def read_page(after: str | None) -> tuple[list[dict[str, Any]], str | None]:
        with read() as (view, cursor, _):
            page = view.entries(cursor, position, after=after, limit=PAGE, **query)
        if counted is not None:
            counted.append(len(page[0]))
        return page

    return FORMATS[format_name].encode(paged(read_page), position, filters.given())
