"""The README's table of required fields is what the API requires."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()

# README row -> the OpenAPI components whose required fields it must name.
ROWS = {
    "report (`POST /reports`)": ["ReportIn", "Source", "Place", "ActorMention", "Count"],
    "correction (`POST /reports/{id}/corrections`)": ["CorrectionIn"],
    "retraction (`POST /reports/{id}/retraction`)": ["RetractionIn"],
    "actor (`POST /actors`)": ["ActorIn", "Alias"],
    "parent (`PUT /actors/{id}/parent`)": ["ParentIn"],
}
MINIMAL = {
    "kind": "strike",
    "when": "2024-02-02",
    "source": {"outlet": "AFP", "language": "fr"},
}


def _row(label: str) -> str:
    (line,) = [line for line in README.splitlines() if line.startswith(f"| {label} |")]
    return line


def test_the_readme_names_every_required_field(client):
    spec = client.get("/openapi.json").json()["components"]["schemas"]
    for label, components in ROWS.items():
        quoted = re.findall(r"`([a-z_.]+)`", _row(label))
        named = {part for name in quoted for part in name.split(".")}
        for component in components:
            required = set(spec[component].get("required", []))
            assert required <= named, (label, component, required - named)


def test_a_report_with_only_the_required_fields_is_filed(client):
    assert client.post("/reports", json=MINIMAL).status_code == 201


@pytest.mark.parametrize(
    ("drop", "field"), [("kind", "kind"), ("when", "when"), ("source", "source")]
)
def test_a_report_without_a_required_field_is_refused_naming_it(client, drop, field):
    body = {k: v for k, v in MINIMAL.items() if k != drop}
    answer = client.post("/reports", json=body)
    assert answer.status_code == 422
    assert [p["field"] for p in answer.json()["detail"]] == [field]


def test_a_source_needs_outlet_and_language(client):
    answer = client.post("/reports", json={**MINIMAL, "source": {}})
    assert answer.status_code == 422
    fields = {p["field"] for p in answer.json()["detail"]}
    assert fields == {"source.outlet", "source.language"}
