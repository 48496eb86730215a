"""`timeline export --format csv|hxl|geojson|timelinejs`: the HTTP exports, from the store.

The views are brought up to the log's head first (as the view runner would;
its tracking makes that safe beside a running service), then read as
`GET /export/...` reads them, with the same filters and `as_of`, refused with
the same reasons.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any, BinaryIO
from uuid import UUID

from domain.errors import UnknownActorError
from domain.values import ReportKind, iso_country
from projections.generation import Generation
from projections.runner import VIEWS, apply_batch, current_generation
from service.exporting import export_bytes, pin
from service.settings import Settings
from service.storage import open_application, open_views
from service.views_routes import TimelineFilters, parse_as_of


class ExportRefusedError(Exception):
    """An `as_of` beyond the log's head, or an actor nobody has: the CLI's 422 and 404."""


def _day(option: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{option}: {value!r} is not a day; write YYYY-MM-DD") from None


def _kind(value: str | None) -> str | None:
    if value is None:
        return None
    known = [k.value for k in ReportKind]
    if value in known:
        return value
    close = difflib.get_close_matches(value.lower(), known, n=1)
    fix = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"--kind: {value!r} is not a report kind ({', '.join(known)}){fix}")


def filters_from(
    start: str | None,
    end: str | None,
    country: str | None,
    actor: str | None,
    kind: str | None,
    min_level: int | None,
) -> TimelineFilters:
    """The CLI's options as the filters of GET /timeline; a ValueError naming the option."""
    if country is not None:
        try:
            country = iso_country(country)
        except ValueError as error:
            raise ValueError(f"--country: {error}") from None
    return TimelineFilters(
        _day("--from", start), _day("--to", end), country, actor, _kind(kind), min_level
    )


def _known_actor(timeline: Any, actor: str) -> bool:
    try:
        actor_id = UUID(actor)
    except ValueError:
        return timeline.resolve_actor(actor) is not None
    try:
        timeline.get_actor(actor_id)
    except UnknownActorError:
        return False
    return True


def export_incidents(
    settings: Settings,
    format_name: str,
    filters: TimelineFilters,
    as_of: str | None,
    stream: BinaryIO,
) -> int:
    """Write the export to `stream`; the number of incidents written."""
    try:
        as_of_position, as_of_time = parse_as_of(as_of)
    except ValueError:
        raise ExportRefusedError(
            f"--as-of: {as_of!r} is neither a log position (digits) nor an ISO 8601 "
            "instant such as 2024-02-03T00:00:00Z"
        ) from None
    timeline, views = open_application(settings), open_views(settings)
    try:
        head = timeline.max_position()
        if as_of_position is not None and as_of_position > head:
            raise ExportRefusedError(
                f"--as-of: position {as_of_position} is beyond the log's head ({head})"
            )
        if filters.actor and not _known_actor(timeline, filters.actor):
            raise ExportRefusedError(f"--actor: no actor is named {filters.actor!r}")
        while apply_batch(timeline, views)[0]:
            pass

        @contextmanager
        def read() -> Iterator[tuple[Any, Any, int]]:
            with views.transaction() as cursor:
                gen = Generation(views, current_generation(views, cursor))
                yield VIEWS["timeline"](gen), cursor, gen.tracked(cursor)

        position, actor_ids = pin(read, as_of_position, as_of_time, filters)
        counted: list[int] = []
        for chunk in export_bytes(read, format_name, position, filters, actor_ids, counted):
            stream.write(chunk)
        return sum(counted)
    finally:
        views.close()
        timeline.close()
