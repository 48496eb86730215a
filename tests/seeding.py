"""Loading the seed article's actors and reports through the HTTP API, as a client would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from service.ingest import read_objects

ROOT = Path(__file__).resolve().parent.parent
# The article itself lives in the shared folder beside the repository.
ARTICLE = ROOT.parent / "shared" / "seed" / "article-2024-02-us-strikes-iraq-syria.fr.txt"
EXAMPLES = ROOT / "examples"
NDJSON = {"content-type": "application/x-ndjson"}


def _actors() -> list[dict[str, Any]]:
    return [obj for _, obj in read_objects(EXAMPLES / "actors.ndjson")]


def _reports() -> list[dict[str, Any]]:
    return [obj for _, obj in read_objects(EXAMPLES / "seed-reports.ndjson")]


def _batch(reports: list[dict[str, Any]]) -> bytes:
    return b"\n".join(orjson.dumps(report) for report in reports) + b"\n"


def _post_actors(client) -> dict[str, dict[str, Any]]:
    registered: dict[str, dict[str, Any]] = {}
    for actor in _actors():
        body = dict(actor)
        parent = body.pop("parent", None)
        if parent is not None:
            found = client.get("/actors/resolve", params={"name": parent})
            assert found.status_code == 200, f"parent {parent!r} of {actor['name']!r}: {found.text}"
            body["parent_id"] = found.json()["id"]
        answer = client.post("/actors", json=body)
        assert answer.status_code == 201, answer.text
        registered[actor["name"]] = answer.json()
    return registered


def post_seed(client) -> int:
    """Register the actors, file the reports in one batch; the last log position."""
    _post_actors(client)
    answer = client.post("/reports", content=_batch(_reports()), headers=NDJSON)
    assert answer.status_code == 201, answer.text
    return max(item["position"] for item in answer.json()["reports"])
