"""POST /imports: an ACLED or UCDP GED CSV file, streamed, as reports."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import IO, Annotated, Any, TextIO

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from service.auth import writer
from service.dataset_import import HeaderError, Outcome, import_rows, retract_deleted
from service.errors import unprocessable
from service.responses import OrjsonResponse

router = APIRouter(tags=["imports"])

CSV_TYPES = ("text/csv", "application/csv")
_IN_MEMORY = 8 * 1024 * 1024  # spooled to a temporary file beyond this


class ImportProblem(BaseModel):
    line: int = Field(description="The line the bad row starts on (the header is line 1).")
    field: str = Field(description="The column, or `row` when the row itself is unreadable.")
    msg: str
    type: str


class ImportOutcome(BaseModel):
    """What an import did, row by row."""

    rows: int = Field(description="Rows read (the HXL tag row not counted).")
    events: int = Field(description="Events written: filed + corrected + retracted + actors.")
    filed: int
    corrected: int = Field(description="Rows whose content changed: one correction each.")
    unchanged: int = Field(description="Rows filed before with this content: nothing written.")
    retracted: int
    not_found: int = Field(description="Deleted-list rows never imported.")
    actors_registered: int
    bad_rows: int = Field(description="Rows skipped (with skip_bad).")
    problems: list[ImportProblem] = Field(description="The bad rows (the first 1,000).")


class DatasetFormat(StrEnum):
    ACLED = "acled"
    UCDP = "ucdp"


# One row of ACLED's current column set (an illustration, not a real event).
_EXAMPLE = (
    "event_id_cnty,event_date,year,time_precision,disorder_type,event_type,sub_event_type,"
    "actor1,assoc_actor_1,inter1,actor2,assoc_actor_2,inter2,interaction,civilian_targeting,"
    "region,country,admin1,admin2,admin3,location,latitude,longitude,geo_precision,source,"
    "source_scale,notes,fatalities,tags,timestamp\n"
    "KEN7182,2024-01-28,2024,1,Political violence,Battles,Armed clash,Al Shabaab,,Rebel group,"
    "Military Forces of Kenya (2022-),,State forces,12,,Eastern Africa,Kenya,Mandera,"
    "Mandera East,,Mandera,3.9366,41.867,1,Daily Nation,National,"
    '"On 28 January 2024, Al Shabaab militants clashed with KDF soldiers near Mandera.",'
    "2,,1706600000\n"
)

_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {
                "schema": {"type": "string"},
                "example": _EXAMPLE,
            }
        },
    }
}


@contextmanager
def _text(spool: IO[bytes]) -> Iterator[TextIO]:
    """The spooled body as text from its start, for one pass (the file stays open)."""
    spool.seek(0)
    text = io.TextIOWrapper(spool, encoding="utf-8-sig", newline="")  # type: ignore[arg-type]
    try:
        yield text
    finally:
        text.detach()


@router.post(
    "/imports",
    status_code=201,
    response_model=ImportOutcome,
    summary="Import an ACLED or UCDP GED CSV file (re-imports become corrections)",
    responses={
        200: {"description": "Every row was already imported as it is: nothing written."},
        201: {"description": "Rows filed, corrected or retracted: counts of each."},
        413: {"description": "Body too large (TIMELINE_MAX_IMPORT_BYTES)."},
        415: {"description": "Not text/csv."},
        422: {"description": "Bad rows, each by line and column: nothing written."},
    },
    openapi_extra=_OPENAPI,
)
async def import_dataset(
    request: Request,
    format: Annotated[DatasetFormat, Query(description="acled or ucdp")],
    skip_bad: Annotated[
        bool, Query(description="File the good rows and report the bad ones")
    ] = False,
    deleted: Annotated[
        bool, Query(description="The body is ACLED's deleted list: retract those rows")
    ] = False,
) -> OrjsonResponse:
    """The body is streamed to a temporary file (memory stays flat), then imported
    in a worker thread. Without `skip_bad`, any bad row writes nothing."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in CSV_TYPES:
        return OrjsonResponse(
            {"detail": f"unsupported content type {content_type!r}; send text/csv"},
            status_code=415,
        )
    if deleted and format is not DatasetFormat.ACLED:
        return unprocessable(
            [
                {
                    "field": "deleted",
                    "msg": "only ACLED publishes a deleted list: send it with format=acled, "
                    "or leave deleted out to import a UCDP file",
                    "type": "value_error",
                }
            ]
        )
    timeline = request.app.state.timeline
    with tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY) as spool:
        async for chunk in request.stream():
            spool.write(chunk)
        try:
            if deleted:
                outcome: Outcome = await run_in_threadpool(
                    retract_deleted, timeline, lambda: _text(spool), writer(request)
                )
            else:
                outcome = await run_in_threadpool(
                    import_rows,
                    timeline,
                    lambda: _text(spool),
                    format.value,
                    skip_bad,
                    writer(request),
                )
        except HeaderError as error:
            return unprocessable([error.problem.as_detail()])
    if not outcome.written:
        return unprocessable([p.as_detail() for p in outcome.problems])
    return OrjsonResponse(outcome.as_json(), status_code=201 if outcome.events else 200)
