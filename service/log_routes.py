"""The ordered log as NDJSON: the replay primitive for clients, and its live follow."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from domain.application import EVENT_TYPES
from service.errors import unprocessable
from service.follow import LogFeed, LogLine
from service.log_query import LogQuery, unknown_type_problem
from service.query_params import only_known_query_parameters
from service.responses import OrjsonResponse
from service.schemas import MAX_POSITION

router = APIRouter(tags=["log"])

After = Annotated[
    int, Query(ge=0, le=MAX_POSITION, description="Only events after this log position.")
]
Types = Annotated[list[str], Query(description=f"Event types: {', '.join(EVENT_TYPES)}")]
ReportFilter = Annotated[UUID | None, Query(description="Only this report's (or actor's) events.")]


@router.get(
    "/events",
    response_class=StreamingResponse,
    response_model=None,
    dependencies=[Depends(only_known_query_parameters)],
    responses={
        200: {
            "description": "One LoggedEvent JSON object a line, in log order. With "
            "`follow=true`, live events follow as they commit, with "
            '`{"type": "heartbeat", "after": N}` lines while idle, and a last '
            '`{"type": "overflow"|"end", "after": N, "detail": ...}` line if cut.',
            "content": {
                "application/x-ndjson": {"schema": {"$ref": "#/components/schemas/LoggedEvent"}}
            },
        },
        422: {"description": "Unknown event type or bad parameter."},
        503: {"description": "follow=true: this process already serves its maximum."},
    },
)
async def read_log(
    request: Request,
    after: After = 0,
    limit: Annotated[
        int | None,
        Query(ge=1, le=MAX_POSITION, description="At most this many (default: to the end)."),
    ] = None,
    type: Types = [],  # noqa: B006
    report: ReportFilter = None,
    follow: Annotated[
        bool,
        Query(description="Keep the stream open: live events as they commit, with heartbeats."),
    ] = False,
) -> StreamingResponse | OrjsonResponse:
    problem = unknown_type_problem(type)
    if problem is not None:
        return unprocessable([problem])
    query = LogQuery(tuple(type), report)
    if follow:
        return _follow(request, query, after, limit)
    timeline = request.app.state.timeline
    index = request.app.state.log_index
    transcoder = timeline.mapper.transcoder

    async def lines() -> AsyncIterator[bytes]:
        cursor, remaining = after, limit
        while remaining is None or remaining > 0:
            found, cursor, at_end = await run_in_threadpool(query.page, timeline, index, cursor)
            found = found if remaining is None else found[:remaining]
            if found:
                yield b"".join(LogLine(n, transcoder).ndjson for n in found)
            if remaining is not None:
                remaining -= len(found)
            if at_end:
                return

    return StreamingResponse(lines(), media_type="application/x-ndjson")


def too_many(feed: LogFeed) -> OrjsonResponse | None:
    if feed.streams < feed.max_followers:
        return None
    return OrjsonResponse(
        {"detail": f"this process already serves {feed.max_followers} followers of the log"},
        status_code=503,
        headers={"Retry-After": "5"},
    )


def _follow(
    request: Request, query: LogQuery, after: int, limit: int | None
) -> StreamingResponse | OrjsonResponse:
    feed: LogFeed = request.app.state.log_feed
    if (refusal := too_many(feed)) is not None:
        return refusal
    heartbeat = request.app.state.settings.sse_heartbeat_seconds

    async def lines() -> AsyncIterator[bytes]:
        remaining = limit
        async for batch in feed.follow(query, after, heartbeat):
            sent = []
            for line in batch:
                sent.append(line.ndjson)
                if remaining is not None and isinstance(line, LogLine):
                    remaining -= 1
                    if remaining == 0:  # `limit` events sent: the stream is complete
                        break
            yield b"".join(sent)
            if remaining == 0:
                return

    return StreamingResponse(
        lines(),
        media_type="application/x-ndjson",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
