"""Reading reports from request bodies: one JSON object, or one per NDJSON line.

A valid report is validated once, straight into the domain's `ReportContent`
(its key apart). Anything invalid is read again through `ReportIn`, the
documented contract, so every problem is worded and ordered exactly as the API
has always named it (field, line, type).
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from domain.values import ReportContent
from service.errors import problems
from service.schemas import IdempotencyKey, ReportIn

Parsed = tuple[ReportContent, str | None]  # content, idempotency key
Problems = list[dict[str, Any]]

_key = TypeAdapter(IdempotencyKey)


def parse_report(raw: bytes, line: int | None = None) -> tuple[Parsed | None, Problems]:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _explained(raw, line)
    if type(data) is dict:
        key = data.pop("key", None)
        try:
            content = ReportContent.model_validate(data)
            return (content, None if key is None else _key.validate_python(key)), []
        except ValidationError:
            pass
    return _explained(raw, line)


def parse_lines(lines: list[tuple[int, bytes]]) -> tuple[list[tuple[int, Parsed]], Problems]:
    """Every line's report, or every problem of every bad line."""
    reports: list[tuple[int, Parsed]] = []
    found: Problems = []
    for line, raw in lines:
        report, line_problems = parse_report(raw, line)
        found.extend(line_problems)
        if report is not None:
            reports.append((line, report))
    return reports, found


def _explained(raw: bytes, line: int | None) -> tuple[Parsed | None, Problems]:
    """The contract's own validation, for its wording of what is wrong."""
    where = {"line": line} if line is not None else {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        return None, [
            {**where, "field": "body", "msg": f"not valid JSON: {error}", "type": "json_invalid"}
        ]
    if not isinstance(data, dict):
        return None, [
            {**where, "field": "body", "msg": "expected a JSON object", "type": "model_type"}
        ]
    try:
        report = ReportIn.model_validate(data)
    except ValidationError as error:
        return None, [{**where, **problem} for problem in problems(error, model=ReportIn)]
    return (report.content(), report.key), []
