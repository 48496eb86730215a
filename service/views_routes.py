"""Reading the views: timeline, weekly series, tally, actor histories, contradictions.

Every answer says which log `position` it reflects. `as_of` (a log position or
an ISO 8601 instant) answers what a replay of the log up to that point gives;
`min_position` (from a client's own write) waits briefly for the view to
catch up, or answers 503 with Retry-After. `reported_by` (a day) is the second
time axis: only what sources had published by then counts (see README, "As
reported by a day"). A position beyond the log's head is
a 422 (no view will ever reach it), as are unknown query parameters; a country
that is not an ISO code or a kind that is not a report kind is a 422, and an
actor name nobody has is a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from uuid import UUID

import orjson
from fastapi import APIRouter, Depends, Query, Request
from pydantic import AfterValidator, StringConstraints
from starlette.concurrency import run_in_threadpool

from domain.errors import UnknownActorError
from domain.values import MEANS_LISTED, ReportKind, iso_country, means_value
from projections.merge import LEVELS
from projections.paging import BadCursorError, decode_cursor
from service.errors import unprocessable
from service.query_params import only_known_query_parameters
from service.responses import OrjsonResponse
from service.schemas import MAX_POSITION

router = APIRouter(tags=["views"], dependencies=[Depends(only_known_query_parameters)])

# Answers over the seed article, trimmed to one item per list (view_examples.json).
EXAMPLES = orjson.loads((Path(__file__).parent / "view_examples.json").read_bytes())


def _example(name: str) -> dict[str, Any]:
    return {200: {"content": {"application/json": {"example": EXAMPLES[name]}}}}


# A calendar day, strictly YYYY-MM-DD (pydantic's lax `date` would take a number
# as a Unix time, so "-2e-309" would mean 1970-01-01).
Day = Annotated[
    str,
    StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$"),
    AfterValidator(date.fromisoformat),
]


def _reported_day(value: str | None) -> str | None:
    """`reported_by`: strictly an ISO calendar day."""
    if value is None:
        return None
    text = value.strip()
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise ValueError(
            f"{value!r} is not a day: write it as YYYY-MM-DD, such as 2024-02-03"
        ) from None


ReportedBy = Annotated[
    str | None,
    AfterValidator(_reported_day),
    Query(
        description="Count only what sources had published on or before this day "
        "(YYYY-MM-DD): each report from its source's published_at (else the day it was "
        "recorded), each correction or retraction from its own. Combines with as_of.",
        examples=["2024-02-03"],
    ),
]

AsOf = Annotated[
    str | None,
    Query(
        description="Answer as of this log position (e.g. 12) or instant "
        "(e.g. 2024-02-03T00:00:00Z): exactly what a replay up to there gives.",
        examples=["97"],  # the demo log before its tally was filed (an instant depends on the day)
    ),
]
Country = Annotated[
    str | None,
    AfterValidator(lambda value: None if value is None else iso_country(value)),
    Query(description="ISO 3166-1 alpha-2, e.g. IQ"),
]
MeansFilter = Annotated[
    list[Annotated[str, AfterValidator(means_value)]] | None,
    Query(
        description="Only incidents a source says used one of these means (repeat it: "
        f"means=drone&means=rocket). One of: {MEANS_LISTED}.",
    ),
]
MinPosition = Annotated[
    int | None,
    Query(
        ge=0,
        le=MAX_POSITION,
        description="Wait until the view reflects this log position (read-your-writes).",
    ),
]


def parse_as_of(as_of: str | None) -> tuple[int | None, datetime | None]:
    if as_of is None or not as_of.strip():
        return None, None
    text = as_of.strip()
    if text.isdigit():
        if int(text) > MAX_POSITION:
            raise ValueError("position out of range")
        return int(text), None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return None, moment


async def view_position(
    request: Request, name: str, as_of: str | None, min_position: int | None
) -> tuple[int | None, datetime | None] | OrjsonResponse:
    """`as_of` parsed (a position or an instant), once the view has reached what
    is asked; or the answer that says why not (422 for a bad or unreachable
    position, 503 while the view catches up)."""
    try:
        as_of_position, as_of_time = parse_as_of(as_of)
    except ValueError:
        return unprocessable(
            [
                {
                    "field": "as_of",
                    "msg": "a log position (digits) or an ISO 8601 instant "
                    "such as 2024-02-03T00:00:00Z",
                    "type": "value_error",
                }
            ]
        )
    projections = request.app.state.projections
    wanted = max(min_position or 0, as_of_position or 0)
    # Only a position the view has not reached can be beyond the log's head.
    if wanted and wanted > projections.clock.position(name):
        head = await run_in_threadpool(request.app.state.timeline.max_position)
        beyond = _beyond_head(head, as_of=as_of_position, min_position=min_position)
        if beyond:
            return unprocessable(beyond)
        timeout = request.app.state.settings.read_your_writes_timeout
        caught_up = await run_in_threadpool(projections.wait_for, name, wanted, timeout)
        if not caught_up:
            return OrjsonResponse(
                {"detail": f"view {name} has not reached position {wanted} yet; retry"},
                status_code=503,
                headers={"Retry-After": "1"},
            )
    return as_of_position, as_of_time


def asked_position(
    view: Any, cursor: Any, tracked: int, as_of_position: int | None, as_of_time: datetime | None
) -> int | None:
    """The log position an `as_of` means in this snapshot (None: now)."""
    position = as_of_position
    if as_of_time is not None:
        position = view.position_at(cursor, as_of_time)
    if position is not None:
        position = min(position, tracked)
    return position


async def read_view(
    request: Request,
    name: str,
    as_of: str | None,
    min_position: int | None,
    query: Callable[[Any, Any, int | None], dict[str, Any] | None],
) -> OrjsonResponse:
    asked = await view_position(request, name, as_of, min_position)
    if isinstance(asked, OrjsonResponse):
        return asked
    projections = request.app.state.projections

    def work() -> tuple[int | None, dict[str, Any] | None]:
        with projections.read(name) as (view, cursor, tracked):
            position = asked_position(view, cursor, tracked, *asked)
            answer = query(view, cursor, position)
            return (position if position is not None else tracked), answer

    position, answer = await run_in_threadpool(work)
    if answer is None:
        return OrjsonResponse({"detail": "not found", "position": position}, status_code=404)
    return OrjsonResponse({"position": position, "as_of": as_of, **answer})


def _beyond_head(head: int, **positions: int | None) -> list[dict[str, Any]]:
    """Positions the log has not reached: no view will ever show them, so no retry helps."""
    return [
        {
            "field": name,
            "msg": f"position {position} is beyond the log's head ({head}); "
            f"the log has positions up to {head}",
            "type": "beyond_head",
        }
        for name, position in positions.items()
        if position is not None and position > head
    ]


async def unknown_actor(
    request: Request, actor: str | None, field: str = "actor", why: str = ""
) -> OrjsonResponse | None:
    """404 when no actor in the log has this name (asked of the registry, which is
    never behind; a name that came later than `as_of` still answers, empty)."""
    if not actor:
        return None
    timeline = request.app.state.timeline
    if _is_uuid(actor):
        if await run_in_threadpool(_registered, timeline, UUID(actor)):
            return None
        message = f"no actor has the id {actor} (GET /actors lists them)"
    elif await run_in_threadpool(timeline.resolve_actor, actor) is not None:
        return None
    else:
        message = f"no actor is named {actor!r} (GET /actors lists them)"
    problem = {"field": field, "msg": why + message, "type": "not_found"}
    return OrjsonResponse({"detail": [problem]}, status_code=404)


def _registered(timeline: Any, actor_id: UUID) -> bool:
    try:
        timeline.get_actor(actor_id)
    except UnknownActorError:
        return False
    return True


def _is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class TimelineFilters:
    """Which incidents a timeline query asks for (`GET /timeline` and the exports)."""

    start: date | None = None
    end: date | None = None
    country: str | None = None
    actor: str | None = None
    kind: str | None = None
    min_level: int | None = None
    means: tuple[str, ...] | None = None

    def query(self, actor_ids: set[str] | None) -> dict[str, Any]:
        """Keyword arguments of `TimelineView.entries`, the actor resolved to `actor_ids`."""
        return {
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "country": self.country.upper() if self.country else None,
            "actor_ids": actor_ids,
            "kind": self.kind,
            "means": list(self.means) if self.means else None,
            "min_level": self.min_level,
        }

    def given(self) -> dict[str, Any]:
        """The filters as asked, by their query parameter names."""
        asked = {
            "from": self.start,
            "to": self.end,
            "country": self.country,
            "actor": self.actor,
            "kind": self.kind,
            "means": list(self.means) if self.means else None,
            "min_level": self.min_level,
        }
        return {name: value for name, value in asked.items() if value is not None}


def timeline_filters(
    start: Annotated[
        Day | None, Query(alias="from", description="Incidents ending on or after")
    ] = None,
    end: Annotated[
        Day | None, Query(alias="to", description="Incidents starting on or before")
    ] = None,
    country: Country = None,
    actor: Annotated[str | None, Query(description="Actor id or any of its names")] = None,
    kind: Annotated[
        ReportKind | None, Query(description="Report kind present in the incident")
    ] = None,
    means: MeansFilter = None,
    min_level: Annotated[int | None, Query(ge=0, le=len(LEVELS) - 1)] = None,
) -> TimelineFilters:
    # The kind as plain text: the tags and the filters given back use its value.
    return TimelineFilters(
        start, end, country, actor, kind and kind.value, min_level, tuple(means) if means else None
    )


Filters = Annotated[TimelineFilters, Depends(timeline_filters)]


@router.get(
    "/timeline",
    summary="Escalation timeline: one entry per incident, in time order",
    responses={**_example("timeline"), 404: {"description": "No actor has the `actor` name."}},
)
async def timeline(
    request: Request,
    filters: Filters,
    as_of: AsOf = None,
    min_position: MinPosition = None,
    reported_by: ReportedBy = None,
    cursor: Annotated[str | None, Query(description="`next` from the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=1_000)] = 100,
    detail: Annotated[
        Literal["summary", "full"],
        Query(
            description="`summary`: each entry has `source_count` instead of its sources "
            "(GET /incidents/{incident} has them); `full`: every entry with all its sources."
        ),
    ] = "summary",
) -> OrjsonResponse:
    if cursor is not None and not _is_cursor(cursor):
        return _bad_cursor()
    if (refusal := await unknown_actor(request, filters.actor)) is not None:
        return refusal

    def query(view: Any, db_cursor: Any, position: int | None) -> dict[str, Any]:
        actor_ids = None
        if filters.actor:
            actor_ids = actor_ids_of(view, db_cursor, filters.actor, position)
        by = view.as_reported(db_cursor, position, reported_by)
        entries, next_cursor = view.entries(
            db_cursor,
            position,
            **filters.query(actor_ids),
            after=cursor,
            limit=limit,
            sources=detail == "full",
            by=by,
        )
        return _axis(by, {"levels": list(LEVELS), "entries": entries, "next": next_cursor})

    return await read_view(request, "timeline", as_of, min_position, query)


def _axis(by: Any, answer: dict[str, Any] | None) -> dict[str, Any] | None:
    """The answer, saying what `reported_by` counted (when it was asked)."""
    if by is None or answer is None:
        return answer
    return {"reported_by": by.answer(), **answer}


def _is_cursor(cursor: str) -> bool:
    try:
        decode_cursor(cursor)
    except BadCursorError:
        return False
    return True


def _bad_cursor() -> OrjsonResponse:
    return unprocessable(
        [{"field": "cursor", "msg": "not a cursor from `next`", "type": "value_error"}]
    )


def actor_ids_of(view: Any, cursor: Any, actor: str, position: int | None) -> set[str]:
    actor_id = view.resolve_actor(cursor, actor, position)
    return {actor_id} if actor_id else set()


@router.get(
    "/timeline/weekly",
    summary="Incidents and highest escalation level per week",
    responses=_example("weekly"),
)
async def weekly(
    request: Request,
    as_of: AsOf = None,
    min_position: MinPosition = None,
    reported_by: ReportedBy = None,
) -> OrjsonResponse:
    def query(view: Any, cursor: Any, position: int | None) -> dict[str, Any] | None:
        by = view.as_reported(cursor, position, reported_by)
        series = view.weekly(cursor, position, by)
        for week in series:
            level = week["highest_level"]
            week["highest_level_name"] = LEVELS[level] if level is not None else None
        return _axis(by, {"weeks": series})

    return await read_view(request, "timeline", as_of, min_position, query)


@router.get(
    "/incidents/{incident}",
    summary="One timeline entry with all its sources",
    responses=_example("incident"),
)
async def incident(
    incident: str,
    request: Request,
    as_of: AsOf = None,
    min_position: MinPosition = None,
    reported_by: ReportedBy = None,
) -> OrjsonResponse:
    def query(view: Any, cursor: Any, position: int | None) -> dict[str, Any] | None:
        by = view.as_reported(cursor, position, reported_by)
        entry = view.entry(cursor, position, incident, by)
        return None if entry is None else _axis(by, {"entry": entry})

    return await read_view(request, "timeline", as_of, min_position, query)


@router.get(
    "/contradictions",
    summary="Sources that disagree, and responses dated before causes",
    responses=_example("contradictions"),
)
async def contradictions(
    request: Request,
    as_of: AsOf = None,
    min_position: MinPosition = None,
    reported_by: ReportedBy = None,
) -> OrjsonResponse:
    def query(view: Any, cursor: Any, position: int | None) -> dict[str, Any] | None:
        by = view.as_reported(cursor, position, reported_by)
        return _axis(by, {"contradictions": view.contradictions(cursor, position, by)})

    return await read_view(request, "timeline", as_of, min_position, query)


@router.get(
    "/tally",
    summary="Attacks on US forces since mid-October: documented and reported",
    responses={
        **_example("tally"),
        404: {"description": "No actor has the `target` name (or the configured one)."},
    },
)
async def tally(
    request: Request,
    as_of: AsOf = None,
    min_position: MinPosition = None,
    reported_by: ReportedBy = None,
    group_by: Annotated[
        Literal["day", "week", "country", "claimant", "means"],
        Query(
            description="`means`: per means a source says an attack used (an attack "
            "counts under each of its means, or `unstated`)."
        ),
    ] = "week",
    start: Annotated[Day | None, Query(description="Default: the configured tally start")] = None,
    target: Annotated[
        str | None,
        Query(
            description="Whose attacks suffered to count: an actor id or any of its names, "
            "with every actor within it. Default: the configured tally target."
        ),
    ] = None,
    attacks: Annotated[
        bool, Query(description="Also list every documented attack (`attacks`), day by day")
    ] = False,
    reported: Annotated[
        bool, Query(description="Also list every figure sources report (`reported`)")
    ] = False,
) -> OrjsonResponse:
    settings = request.app.state.settings
    since = start or date.fromisoformat(settings.tally_start)
    why = "" if target else "the configured tally target (TIMELINE_TALLY_TARGET): "
    target = target or settings.tally_target
    if (refusal := await unknown_actor(request, target, "target", why)) is not None:
        return refusal

    def query(view: Any, cursor: Any, position: int | None) -> dict[str, Any] | None:
        by = view.as_reported(cursor, position, reported_by)
        answer = view.tally(
            cursor,
            position,
            start=since,
            target=target,
            group_by=group_by,
            with_attacks=attacks,
            with_reported=reported,
            by=by,
        )
        return _axis(by, answer)

    return await read_view(request, "tally", as_of, min_position, query)


@router.get(
    "/actors/{actor_id}/history",
    summary="Every report and incident an actor appears in, a page at a time",
    responses=_example("history"),
)
async def actor_history(
    actor_id: UUID,
    request: Request,
    as_of: AsOf = None,
    min_position: MinPosition = None,
    reported_by: ReportedBy = None,
    rollup: Annotated[
        bool, Query(description="Include actors within it (Quds Force in IRGC)")
    ] = False,
    cursor: Annotated[str | None, Query(description="`next` from the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=1_000, description="Appearances per page")] = 100,
) -> OrjsonResponse:
    if cursor is not None and not _is_cursor(cursor):
        return _bad_cursor()

    def query(view: Any, db_cursor: Any, position: int | None) -> dict[str, Any] | None:
        by = view.as_reported(db_cursor, position, reported_by)
        answer = view.history(
            db_cursor, position, str(actor_id), rollup, after=cursor, limit=limit, by=by
        )
        return _axis(by, answer)

    return await read_view(request, "actor_history", as_of, min_position, query)
