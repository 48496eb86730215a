"""GET /search: full-text search over report versions, as of any past point.

Filters, `as_of` and `min_position` are parsed as for /timeline (the same
annotated parameters); a query that cannot be searched for is a 422 naming
`q`, never an empty answer, and no user text ever reaches the database as
full-text syntax.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from projections.paging import BadCursorError
from projections.search_text import MAX_QUERY_CHARS, QueryError, chunks
from projections.search_view import SearchView, decode_search_cursor
from service.errors import unprocessable
from service.query_params import only_known_query_parameters
from service.responses import OrjsonResponse
from service.views_routes import (
    AsOf,
    Filters,
    MinPosition,
    actor_ids_of,
    read_view,
    unknown_actor,
)

router = APIRouter(tags=["views"], dependencies=[Depends(only_known_query_parameters)])


@router.get(
    "/search",
    summary="Full-text search over reports' text, as it stood at any point of the log",
    responses={
        404: {"description": "No actor has the `actor` name."},
        422: {"description": "`q` empty, too long or without a word; a bad filter or cursor."},
    },
)
async def search(
    request: Request,
    q: Annotated[
        str,
        Query(
            description="Words to find, in any case and with or without accents "
            f"(at most {MAX_QUERY_CHARS} characters); every word must occur",
            examples=["Al-Qaim"],
        ),
    ],
    filters: Filters,
    as_of: AsOf = None,
    min_position: MinPosition = None,
    cursor: Annotated[
        str | None,
        Query(description="`next` from the previous page (it keeps that page's position)"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> OrjsonResponse:
    try:
        words = chunks(q)
    except QueryError as error:
        return unprocessable([{"field": "q", "msg": str(error), "type": "value_error"}])
    after = None
    if cursor is not None:
        try:
            pinned, rank, key = decode_search_cursor(cursor)
        except BadCursorError:
            return unprocessable(
                [{"field": "cursor", "msg": "not a cursor from `next`", "type": "value_error"}]
            )
        # Later pages answer as of the first page's position: nothing filed
        # meanwhile can slip in between pages.
        as_of, after = str(pinned), (rank, key)
    if (refusal := await unknown_actor(request, filters.actor)) is not None:
        return refusal

    def query(view: Any, db_cursor: Any, position: int | None) -> dict[str, Any]:
        searching = SearchView(view.gen)
        actor_ids = None
        if filters.actor:
            actor_ids = actor_ids_of(searching, db_cursor, filters.actor, position)
        wanted = filters.query(actor_ids)
        return {
            "q": q,
            **searching.search(
                db_cursor, position, words, filters=wanted, after=after, limit=limit
            ),
        }

    return await read_view(request, "timeline", as_of, min_position, query)
