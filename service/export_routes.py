"""`GET /export/incidents.{csv,hxl.csv,geojson,timelinejs.json}`: the timeline, streamed.

The same filters, `as_of` and `min_position` as `GET /timeline`, and the same
422s and 404s for what they do not understand (checked before the first byte).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from projections.exports.stream import FORMATS, Format
from service.exporting import export_bytes, pin
from service.query_params import only_known_query_parameters
from service.responses import OrjsonResponse
from service.views_routes import (
    AsOf,
    Filters,
    MinPosition,
    TimelineFilters,
    unknown_actor,
    view_position,
)

router = APIRouter(tags=["exports"], dependencies=[Depends(only_known_query_parameters)])

SUMMARIES = {
    "csv": "Incidents as CSV: ACLED's column names, then ours (README: Exports)",
    "hxl": "The CSV with an HXL hashtag row as its second line",
    "geojson": "Located incidents as an RFC 7946 FeatureCollection of Points",
    "timelinejs": "Incidents as TimelineJS 3 JSON, dates only as precise as the sources",
}
# Documented without the charset parameter; the answers carry it.
BODY_SCHEMAS: dict[str, tuple[str, dict[str, Any]]] = {
    "text/csv; charset=utf-8": ("text/csv", {"type": "string"}),
    "application/geo+json": ("application/geo+json", {"type": "object"}),
    "application/json": ("application/json", {"type": "object"}),
}


async def stream_export(
    request: Request,
    format_: Format,
    filters: TimelineFilters,
    as_of: str | None,
    min_position: int | None,
) -> StreamingResponse | OrjsonResponse:
    asked = await view_position(request, "timeline", as_of, min_position)
    if isinstance(asked, OrjsonResponse):
        return asked
    if (refusal := await unknown_actor(request, filters.actor)) is not None:
        return refusal
    projections = request.app.state.projections

    def read() -> Any:
        return projections.read("timeline")

    position, actor_ids = await run_in_threadpool(pin, read, *asked, filters)
    # A sync iterator: Starlette runs each step, a page read, in its thread pool.
    body = export_bytes(read, format_.name, position, filters, actor_ids)
    headers = {
        "Content-Disposition": f'attachment; filename="{format_.filename}"',
        "X-Timeline-Position": str(position),
    }
    return StreamingResponse(body, media_type=format_.media_type, headers=headers)


def _route(format_: Format) -> None:
    async def export(
        request: Request,
        filters: Filters,
        as_of: AsOf = None,
        min_position: MinPosition = None,
    ) -> Any:
        return await stream_export(request, format_, filters, as_of, min_position)

    media, schema = BODY_SCHEMAS[format_.media_type]
    router.add_api_route(
        f"/export/{format_.filename}",
        export,
        methods=["GET"],
        name=f"export_{format_.name}",
        summary=SUMMARIES[format_.name],
        response_class=StreamingResponse,
        responses={
            200: {
                "description": "The whole export, streamed; `X-Timeline-Position` is the log "
                "position it reflects.",
                "content": {media: {"schema": schema}},
            },
            404: {"description": "No actor has the `actor` name."},
        },
    )


for _format in FORMATS.values():
    _route(_format)


# Not an operation (it only ever refuses), so not in the OpenAPI document.
@router.get("/export/{name}", include_in_schema=False)
async def unknown_export(name: str) -> OrjsonResponse:
    known = ", ".join(f"/export/{f.filename}" for f in FORMATS.values())
    return OrjsonResponse(
        {
            "detail": [
                {
                    "field": "path",
                    "msg": f"no export {name!r}; there are {known}",
                    "type": "not_found",
                }
            ]
        },
        status_code=404,
    )
