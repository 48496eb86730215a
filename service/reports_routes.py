"""Filing, correcting, retracting and reading reports."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Header, Query, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from domain.application import (
    BatchConflictError,
    Change,
    Filing,
    FilingRequest,
    TimelineApplication,
)
from domain.errors import UnknownActorMentionError
from service.auth import writer
from service.errors import problems, unprocessable
from service.eventlog import log_record
from service.group_commit import GroupCommitter
from service.idempotency import request_key
from service.report_input import parse_lines, parse_report
from service.responses import OrjsonResponse
from service.schemas import (
    MAX_VERSION,
    SEED_EXAMPLE,
    Changed,
    CorrectionIn,
    Filed,
    ReportOut,
    RetractionIn,
)
from service.storage import LogIndex

router = APIRouter(tags=["reports"])

_VALIDATE_ON_LOOP = 20  # NDJSON lines; more are validated off the event loop

NDJSON_TYPES = ("application/x-ndjson", "application/jsonl", "application/jsonlines")

_FILE_REPORTS_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/ReportIn"},
                "example": SEED_EXAMPLE,
            },
            "application/x-ndjson": {
                "schema": {"type": "string", "description": "One ReportIn JSON object a line."},
                "example": orjson.dumps(SEED_EXAMPLE).decode() + "\n",
            },
        },
    },
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,200}$"},
            "description": "Single reports only: same as the `key` field.",
        }
    ],
}


def _timeline(request: Request) -> TimelineApplication:
    return request.app.state.timeline


def _committer(request: Request) -> GroupCommitter:
    return request.app.state.committer


def _log_index(request: Request) -> LogIndex:
    return request.app.state.log_index


async def _with_positions(request: Request, filings: list[Filing]) -> list[Filing]:
    """Fill in the original log position of reports that were filed before."""
    index = _log_index(request)

    def lookup() -> list[Filing]:
        return [
            f
            if f.position is not None
            else Filing(f.report_id, f.created, index.position_of(f.report_id, 1))
            for f in filings
        ]

    if all(f.position is not None for f in filings):
        return filings
    return await run_in_threadpool(lookup)


@router.post(
    "/reports",
    status_code=201,
    response_model=Filed,
    summary="File one report (JSON) or a batch (NDJSON, all or nothing)",
    responses={
        200: {"description": "The key had already filed this very report: nothing written."},
        409: {"description": "The key was used before with a different payload."},
        413: {"description": "Body too large."},
        415: {"description": "Neither application/json nor application/x-ndjson."},
        422: {"description": "Invalid report: each problem names its field (and line)."},
    },
    openapi_extra=_FILE_REPORTS_OPENAPI,
    description="JSON: one report, answered with `Filed`. NDJSON: up to 10,000 reports in one "
    "transaction, answered with `BatchFiled` (one item per line, in order); any bad line "
    "fails the whole batch with 422 naming each line, field and problem.",
)
async def file_reports(
    request: Request,
    idempotency_key: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> OrjsonResponse:
    body = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in NDJSON_TYPES:
        return await _file_batch(request, body, idempotency_key)
    if content_type not in ("application/json", ""):
        return OrjsonResponse(
            {
                "detail": f"unsupported content type {content_type!r}; "
                "send application/json or application/x-ndjson"
            },
            status_code=415,
        )
    report, found = parse_report(body)
    if report is None:
        return unprocessable(found)
    content, body_key = report
    key, wrong = request_key(body_key, idempotency_key)
    if wrong:
        return unprocessable(wrong)
    try:
        (filing,) = await _committer(request).file(FilingRequest([(content, key)], writer(request)))
    except UnknownActorMentionError as error:
        return unprocessable(_unknown_actors(error, [None]))
    except BatchConflictError as error:
        raise error.conflicts[0][1] from None  # a single report: a plain 409
    (filing,) = await _with_positions(request, [filing])
    return OrjsonResponse(
        {"id": filing.report_id, "position": filing.position, "created": filing.created},
        status_code=201 if filing.created else 200,
        headers={"Location": f"/reports/{filing.report_id}"},
    )


def _unknown_actors(
    error: UnknownActorMentionError, lines: list[int | None]
) -> list[dict[str, Any]]:
    return [
        {
            **({"line": lines[i]} if lines[i] is not None else {}),
            "field": f"actors.{j}.actor_id",
            "msg": f"{actor_id} is not a registered actor",
            "type": "unknown_actor",
        }
        for i, j, actor_id in error.mentions
    ]


async def _file_batch(request: Request, body: bytes, idempotency_key: str | None) -> OrjsonResponse:
    limit = request.app.state.settings.max_batch_reports
    if idempotency_key is not None:
        return unprocessable(
            [
                {
                    "field": "Idempotency-Key",
                    "msg": "applies to single reports; give each NDJSON line its own key",
                    "type": "value_error",
                }
            ]
        )
    lines = [(n, raw) for n, raw in enumerate(body.split(b"\n"), start=1) if raw.strip()]
    if not lines:
        return unprocessable([{"field": "body", "msg": "empty batch", "type": "missing"}])
    if len(lines) > limit:
        return unprocessable(
            [
                {
                    "field": "body",
                    "msg": f"batch has {len(lines)} reports; at most {limit} per request",
                    "type": "too_long",
                }
            ]
        )
    # Validation is most of a batch's cost: a large one is validated in a
    # worker thread, so that the event loop keeps serving other requests.
    if len(lines) > _VALIDATE_ON_LOOP:
        reports, found = await run_in_threadpool(parse_lines, lines)
    else:
        reports, found = parse_lines(lines)
    if found:
        return unprocessable(found)

    items = [report for _, report in reports]
    try:
        filings = await _committer(request).file(FilingRequest(items, writer(request)))
    except UnknownActorMentionError as error:
        return unprocessable(_unknown_actors(error, [line for line, _ in reports]))
    except BatchConflictError as error:
        return OrjsonResponse(
            {
                "detail": [
                    {
                        "line": reports[index][0],
                        "field": "key",
                        "msg": str(conflict),
                        "type": "conflict",
                    }
                    for index, conflict in error.conflicts
                ]
            },
            status_code=409,
        )
    filings = await _with_positions(request, filings)
    created = sum(f.created for f in filings)
    return OrjsonResponse(
        {
            "created": created,
            "existing": len(filings) - created,
            "reports": [
                {"line": line, "id": f.report_id, "position": f.position, "created": f.created}
                for (line, _), f in zip(reports, filings, strict=True)
            ],
        },
        status_code=201 if created else 200,
    )


_CHANGE_KEY_OPENAPI: dict[str, Any] = {
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,200}$"},
            "description": "Same as the `key` field.",
        }
    ],
}

_CHANGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The key had already made this very change: nothing written."},
    404: {},
    422: {"description": "Invalid request: each problem names its field."},
}


async def _changed(request: Request, report_id: UUID, change: Change) -> OrjsonResponse:
    position = change.position
    if position is None:  # made before, by this key: where it is in the log
        position = await run_in_threadpool(
            _log_index(request).position_of, report_id, change.version
        )
    return OrjsonResponse(
        {"id": report_id, "version": change.version, "position": position},
        status_code=201 if change.created else 200,
    )


@router.post(
    "/reports/{report_id}/corrections",
    status_code=201,
    response_model=Changed,
    responses={
        **_CHANGE_RESPONSES,
        409: {"description": "Retracted, not at expected_version, or the key made another change."},
    },
    openapi_extra=_CHANGE_KEY_OPENAPI,
)
async def correct_report(
    report_id: UUID,
    correction: CorrectionIn,
    request: Request,
    idempotency_key: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> OrjsonResponse:
    """Replace some fields of a report; the old values stay in its history."""
    key, wrong = request_key(correction.key, idempotency_key)
    if wrong:
        return unprocessable(wrong)
    try:
        change = await run_in_threadpool(
            _timeline(request).correct_report,
            report_id,
            correction.changed_fields(),
            correction.reason,
            correction.corrected_by,
            correction.expected_version,
            writer(request),
            key,
            correction.published_at,
        )
    except ValidationError as error:
        return unprocessable(problems(error, prefix="changes"))
    return await _changed(request, report_id, change)


@router.post(
    "/reports/{report_id}/retraction",
    status_code=201,
    response_model=Changed,
    responses={
        **_CHANGE_RESPONSES,
        409: {
            "description": "Already retracted, version mismatch, or the key made another change."
        },
    },
    openapi_extra=_CHANGE_KEY_OPENAPI,
)
async def retract_report(
    report_id: UUID,
    retraction: RetractionIn,
    request: Request,
    idempotency_key: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> OrjsonResponse:
    """Withdraw a report. It stays in the log and in its history, marked retracted."""
    key, wrong = request_key(retraction.key, idempotency_key)
    if wrong:
        return unprocessable(wrong)
    change = await run_in_threadpool(
        _timeline(request).retract_report,
        report_id,
        retraction.reason,
        retraction.retracted_by,
        retraction.expected_version,
        writer(request),
        key,
        retraction.published_at,
    )
    return await _changed(request, report_id, change)


@router.get("/reports/{report_id}", response_model=ReportOut, responses={404: {}})
async def get_report(
    report_id: UUID,
    request: Request,
    version: Annotated[
        int | None,
        Query(ge=1, le=MAX_VERSION, description="The report as it stood at this version."),
    ] = None,
) -> OrjsonResponse:
    """The report as it stands now (or at `version`) and its whole event history."""
    timeline = _timeline(request)
    index = _log_index(request)

    def read() -> dict[str, Any]:
        report = timeline.get_report(report_id, version=version)
        if version is not None and report.version < version:
            # The store answers the latest version it has; asking for more is a mistake.
            raise UnknownReportVersionError(version, report.version)
        history = [
            log_record(n, timeline.mapper.transcoder) for n in index.notifications_of(report_id)
        ]
        return {
            "id": report.id,
            "version": report.version,
            "key": report.key,
            "retracted": report.retracted,
            "retraction_reason": report.retraction_reason,
            "corrections": report.corrections,
            "content": report.content,
            "history": history,
        }

    try:
        return OrjsonResponse(await run_in_threadpool(read))
    except UnknownReportVersionError as error:
        return OrjsonResponse(
            {
                "detail": [
                    {
                        "field": "version",
                        "msg": f"the report has no version {error.asked}; "
                        f"its latest version is {error.latest}",
                        "type": "not_found",
                    }
                ]
            },
            status_code=404,
        )


class UnknownReportVersionError(LookupError):
    def __init__(self, asked: int, latest: int) -> None:
        super().__init__(asked, latest)
        self.asked, self.latest = asked, latest
