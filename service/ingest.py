"""Loading reports and actors from JSON or NDJSON files, locally or through the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
from pydantic import ValidationError

from domain.actors import actor_id_for
from domain.application import BatchConflictError
from domain.errors import DomainError
from service.errors import problems
from service.schemas import ActorIn, CorrectionIn, ReportIn
from service.settings import Settings
from service.storage import open_application

BATCH = 1_000


class IngestError(Exception):
    pass


def read_objects(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) pairs from a JSON array/object or an NDJSON file."""
    raw = path.read_bytes()
    try:
        whole = orjson.loads(raw)
    except orjson.JSONDecodeError:
        whole = None
    if isinstance(whole, dict):
        return [(1, whole)]
    if isinstance(whole, list):
        return list(enumerate(whole, start=1))
    found = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            found.append((number, orjson.loads(line)))
        except orjson.JSONDecodeError as error:
            raise IngestError(f"{path}:{number}: not valid JSON: {error}") from None
    return found


def _is_actor(obj: dict[str, Any]) -> bool:
    return "kind" not in obj and "name" in obj


def _is_correction(obj: dict[str, Any]) -> bool:
    """A correction of a filed report, named by its key: `{"report": KEY, "changes": …}`."""
    return "changes" in obj and "report" in obj


def ingest_local(settings: Settings, path: Path, keep_registered: bool = False) -> int:
    """Load a file into the store. `keep_registered`: leave actors that are already
    registered as the registry has them (the seed on every `serve --demo`)."""
    objects = read_objects(path)
    timeline = open_application(settings)
    try:
        return _ingest(timeline, objects, path, keep_registered)
    except (DomainError, BatchConflictError) as error:
        raise IngestError(f"{path}: {error}") from None
    finally:
        timeline.close()


def _ingest(
    timeline: Any, objects: list[tuple[int, dict[str, Any]]], path: Path, keep_registered: bool
) -> int:
    """Actors one by one (parents first), then reports in batches of BATCH, then
    corrections (keyed, so a second load writes none of them again)."""
    before = timeline.max_position()
    reports: list[tuple[int, ReportIn]] = []
    corrections: list[tuple[str, CorrectionIn]] = []
    for number, obj in objects:
        if _is_correction(obj):
            obj = dict(obj)
            report = str(obj.pop("report"))
            corrections.append((report, _validate(CorrectionIn, obj, path, number)))
        elif _is_actor(obj):
            obj = dict(obj)
            parent = obj.pop("parent", None)
            if parent:
                obj["parent_id"] = timeline.resolve_actor(parent)
                if obj["parent_id"] is None:
                    raise IngestError(f"{path}:{number}: unknown parent actor {parent!r}")
            actor = _validate(ActorIn, obj, path, number)
            if keep_registered and timeline.find_actor(actor_id_for(actor.name)) is not None:
                continue  # since changed through the API, perhaps: the registry wins
            timeline.register_actor(
                actor.name, actor.aliases, actor.parent_id, actor.description, actor.category
            )
        else:
            reports.append((number, _validate(ReportIn, obj, path, number)))
    for start in range(0, len(reports), BATCH):
        chunk = reports[start : start + BATCH]
        timeline.file_reports([(r.content(), r.key) for _, r in chunk])
    for report, correction in corrections:
        timeline.correct_report(
            timeline.report_id_for_key(report),
            correction.changed_fields(),
            correction.reason,
            correction.corrected_by,
            correction.expected_version,
            key=correction.key,
        )
    return timeline.max_position() - before


def _validate(model: Any, obj: dict[str, Any], path: Path, number: int) -> Any:
    try:
        return model.model_validate(obj)
    except ValidationError as error:
        details = "; ".join(f"{p['field']}: {p['msg']}" for p in problems(error))
        raise IngestError(f"{path}:{number}: {details}") from None


def ingest_http(base_url: str, path: Path, key: str | None = None) -> int:
    """Send actors one by one and reports in NDJSON batches; returns events written."""
    objects = read_objects(path)
    written = 0
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with httpx.Client(base_url=base_url, timeout=60, headers=headers) as client:
        reports = []
        for number, obj in objects:
            if _is_actor(obj):
                obj = dict(obj)
                parent = obj.pop("parent", None)
                if parent:
                    found = client.get("/actors/resolve", params={"name": parent})
                    if found.status_code != 200:
                        raise IngestError(f"{path}:{number}: unknown parent actor {parent!r}")
                    obj["parent_id"] = found.json()["id"]
                answer = client.post("/actors", json=obj)
                _check(answer, path, number)
                written += answer.status_code == 201
            else:
                reports.append(orjson.dumps(obj))
        for start in range(0, len(reports), BATCH):
            answer = client.post(
                "/reports",
                content=b"\n".join(reports[start : start + BATCH]),
                headers={"content-type": "application/x-ndjson"},
            )
            _check(answer, path, None)
            written += answer.json()["created"]
    return written


def _check(answer: httpx.Response, path: Path, number: int | None) -> None:
    if answer.status_code >= 400:
        where = f"{path}:{number}" if number else str(path)
        raise IngestError(f"{where}: HTTP {answer.status_code}: {answer.text}")
