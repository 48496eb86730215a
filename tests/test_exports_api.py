"""GET /export/incidents.*: the seed and a few located reports, on SQLite and PostgreSQL,
each format read by a real consumer (csv, geojson-pydantic, jsonschema, libhxl)."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

import hxl
import jsonschema
import orjson
import pytest
from fastapi.testclient import TestClient
from geojson_pydantic import FeatureCollection

from projections.exports.table import HEADER, HXL_TAGS
from service import exporting
from service.views_routes import TimelineFilters
from tests.conftest import keyed_client
from tests.seeding import post_seed

TOWER = "2024-01-28-tower-22"
SHELLING = "2024-02-deir-ez-zor-shelling"
WITHDRAWN = "2024-02-05-withdrawn"
STRIKES = "2024-02-02-us-strikes-iraq-syria"

LOCATED = [
    {
        "key": "test-tower-22",
        "kind": "attack",
        "when": {"edtf": "2024-01-28", "wording": "dimanche"},
        "places": [
            {
                "name": "Tower 22",
                "country": "JO",
                "latitude": 33.3186,
                "longitude": 38.6928,
                "coordinate_precision": "exact",
            },
            {
                "name": "Jordanie",
                "country": "JO",
                "latitude": 31.2,
                "longitude": 36.5,
                "coordinate_precision": "country",
            },
        ],
        "actors": [
            {"name": "Résistance islamique en Irak", "role": "perpetrator"},
            {"name": "soldats américains", "role": "target"},
        ],
        "counts": [{"value": 3, "qualifier": "exact", "counted": "killed", "wording": "trois"}],
        "source": {"outlet": "AFP", "language": "fr", "url": "https://example.org/t22"},
        "excerpt": "une attaque de drone contre la base Tower 22",
        "incident_key": TOWER,
    },
    {
        "key": "test-deir-ez-zor",
        "kind": "attack",
        "when": {"edtf": "2024-02", "wording": "en février"},
        "places": [
            {
                "name": "Deir ez-Zor",
                "country": "SY",
                "latitude": 35.33,
                "longitude": 40.14,
                "coordinate_precision": "region",
            }
        ],
        "counts": [{"value": 5, "qualifier": "at_least", "counted": "killed"}],
        "source": {"outlet": "SOHR", "language": "en"},
        "incident_key": SHELLING,
    },
    {
        "key": "test-withdrawn",
        "kind": "strike",
        "when": "2024-02-05",
        "places": [
            {
                "name": "Al-Qaïm",
                "country": "IQ",
                "latitude": 34.37,
                "longitude": 41.09,
                "coordinate_precision": "locality",
            }
        ],
        "source": {"outlet": "AFP", "language": "fr"},
        "incident_key": WITHDRAWN,
    },
]

# TimelineJS 3's JSON format as its documentation describes it
# (timeline.knightlab.com/docs/json-format.html): an object with `events`, each a
# slide with a `start_date` (a date object whose `year` is required), optional
# `end_date`, `text` (`headline`, `text`), `group`, `display_date`, `unique_id`;
# an optional `title` slide without dates.
DATE = {
    "type": "object",
    "required": ["year"],
    "properties": {
        "year": {"type": "integer"},
        "month": {"type": "integer", "minimum": 1, "maximum": 12},
        "day": {"type": "integer", "minimum": 1, "maximum": 31},
        "hour": {"type": "integer"},
        "minute": {"type": "integer"},
        "second": {"type": "integer"},
        "millisecond": {"type": "integer"},
        "display_date": {"type": "string"},
        "format": {"type": "string"},
    },
    "dependentRequired": {"day": ["month"]},
    "additionalProperties": False,
}
TEXT = {
    "type": "object",
    "properties": {"headline": {"type": "string"}, "text": {"type": "string"}},
    "additionalProperties": False,
}
SLIDE_FIELDS = {
    "start_date": DATE,
    "end_date": DATE,
    "text": TEXT,
    "media": {"type": "object", "required": ["url"]},
    "group": {"type": "string"},
    "display_date": {"type": "string"},
    "background": {"type": "object"},
    "autolink": {"type": "boolean"},
    "unique_id": {"type": "string"},
}
TIMELINEJS_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["events"],
    "properties": {
        "events": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["start_date"],
                "properties": SLIDE_FIELDS,
                "additionalProperties": False,
            },
        },
        "title": {
            "type": "object",
            "properties": {k: v for k, v in SLIDE_FIELDS.items() if "date" not in k},
            "additionalProperties": False,
        },
        "eras": {"type": "array"},
        "scale": {"enum": ["human", "cosmological"]},
    },
    "additionalProperties": False,
}


@pytest.fixture
def seeded(client) -> tuple[int, int]:
    """(the seed's last position, the last position once the located reports are in)"""
    seed = post_seed(client)
    ndjson = b"\n".join(orjson.dumps(r) for r in LOCATED)
    filed = client.post(
        "/reports", content=ndjson, headers={"content-type": "application/x-ndjson"}
    )
    assert filed.status_code == 201, filed.text
    withdrawn = filed.json()["reports"][2]["id"]  # answers in line order
    answer = client.post(
        f"/reports/{withdrawn}/retraction", json={"reason": "wrong town", "retracted_by": "desk"}
    )
    assert answer.status_code == 201, answer.text
    head = answer.json()["position"]
    deadline = time.monotonic() + 60  # a loaded machine: let the views catch up first
    while client.get("/timeline", params={"min_position": head}).status_code == 503:
        assert time.monotonic() < deadline, f"the views never reached {head}"
    return seed, head


def export(client: TestClient, name: str, **params: Any) -> bytes:
    answer = client.get(f"/export/{name}", params=params)
    assert answer.status_code == 200, answer.text
    return answer.content


def timeline_entries(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    entries, cursor = [], None
    while True:
        page = {"detail": "full", "limit": 1000, **params}
        if cursor:
            page["cursor"] = cursor
        answer = client.get("/timeline", params=page)
        assert answer.status_code == 200, answer.text
        entries += answer.json()["entries"]
        cursor = answer.json()["next"]
        if cursor is None:
            return entries


def csv_rows(data: bytes) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(data.decode("utf-8"), newline=""))
    assert tuple(reader.fieldnames) == HEADER
    return list(reader)


def test_csv_has_one_row_per_incident_in_timeline_order(client, seeded):
    _, head = seeded
    answer = client.get("/export/incidents.csv", params={"min_position": head})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == 'attachment; filename="incidents.csv"'
    assert int(answer.headers["x-timeline-position"]) == head
    rows = csv_rows(answer.content)
    entries = timeline_entries(client)
    assert [r["event_id_cnty"] for r in rows] == [e["incident"] for e in entries]
    assert len(rows) == 14  # the seed's 11 incidents and the 3 filed here
    by_key = {r["event_id_cnty"]: r for r in rows}

    tower = by_key[TOWER]
    assert (tower["event_date"], tower["year"], tower["time_precision"]) == (
        "2024-01-28",
        "2024",
        "1",
    )
    assert (tower["location"], tower["latitude"], tower["longitude"]) == (
        "Tower 22",
        "33.3186",
        "38.6928",
    )
    assert (tower["geo_precision"], tower["coordinate_precision"]) == ("1", "exact")
    assert (tower["actor1"], tower["actor2"]) == ("Islamic Resistance in Iraq", "US forces")
    assert (tower["fatalities"], tower["fatalities_qualifier"]) == ("3", "exact")
    assert (tower["country"], tower["iso2"]) == ("Jordan", "JO")
    assert tower["source_urls"] == "https://example.org/t22"

    shelling = by_key[SHELLING]
    assert (shelling["earliest"], shelling["latest"]) == ("2024-02-01", "2024-02-29")
    assert (shelling["date_precision"], shelling["time_precision"]) == ("month", "3")
    assert (shelling["fatalities"], shelling["fatalities_qualifier"]) == ("5", "at_least")
    assert shelling["geo_precision"] == "3"

    withdrawn = by_key[WITHDRAWN]
    assert (withdrawn["status"], withdrawn["retracted_reports"]) == ("retracted", "1")
    assert withdrawn["latitude"] == ""  # a retracted report locates nothing

    strikes = by_key[STRIKES]
    assert strikes["dates_agreed"] == "false"
    assert (strikes["envelope_earliest"], strikes["envelope_latest"]) == (
        "2024-01-02",
        "2024-02-03",
    )
    # "85 sites" (exact) and "plus de 85 sites": exactly 85, which every source allows
    assert strikes["counts"].startswith("85 sites")
    assert strikes["level_name"] == "strikes_on_state"
    assert int(strikes["source_count"]) == len(
        next(e for e in entries if e["incident"] == STRIKES)["sources"]
    )


def test_pages_of_any_size_give_the_same_export(client, seeded, monkeypatch):
    _, head = seeded
    whole = export(client, "incidents.csv", min_position=head)
    monkeypatch.setattr(exporting, "PAGE", 3)  # 14 incidents: five pages
    assert export(client, "incidents.csv") == whole
    geo = export(client, "incidents.geojson")
    monkeypatch.setattr(exporting, "PAGE", 500)
    assert export(client, "incidents.geojson") == geo


def test_geojson_is_valid_rfc_7946_with_precision_and_level(client, seeded):
    _, head = seeded
    answer = client.get("/export/incidents.geojson", params={"min_position": head})
    assert answer.headers["content-type"] == "application/geo+json"
    collection = FeatureCollection.model_validate_json(answer.content)
    document = orjson.loads(answer.content)
    assert "crs" not in document  # RFC 7946 section 4
    features = {f.id: f for f in collection.features}
    assert set(features) == {TOWER, SHELLING}  # the withdrawn report locates nothing now
    assert document["unlocated"] == 12
    tower = features[TOWER]
    assert tower.geometry.type == "Point"
    assert tuple(tower.geometry.coordinates) == (38.6928, 33.3186)  # longitude first
    assert tower.properties["coordinate_precision"] == "exact"
    assert (tower.properties["level"], tower.properties["level_name"]) == (
        2,
        "attack_with_casualties",
    )
    assert features[SHELLING].properties["coordinate_precision"] == "region"
    assert features[SHELLING].properties["date_precision"] == "month"


def test_timelinejs_follows_its_documented_shape_with_honest_dates(client, seeded):
    _, head = seeded
    document = orjson.loads(export(client, "incidents.timelinejs.json", min_position=head))
    jsonschema.validate(document, TIMELINEJS_SCHEMA)
    slides = {s["unique_id"]: s for s in document["events"]}
    assert len(slides) == 14
    assert f"position {head}" in document["title"]["text"]["text"]
    shelling = slides[SHELLING]
    assert shelling["start_date"] == {"year": 2024, "month": 2}  # known to the month only
    assert "end_date" not in shelling
    assert shelling["display_date"] == "en février (February 2024)"
    jordan = slides["2024-01-late-drone-attack-jordan"]
    assert jordan["start_date"] == {"year": 2024, "month": 1, "day": 21}
    assert jordan["end_date"] == {"year": 2024, "month": 1, "day": 31}
    assert jordan["display_date"].startswith("fin janvier (21 January 2024 – 31 January 2024)")
    tower = slides[TOWER]
    assert '<a href="https://example.org/t22">AFP</a>' in tower["text"]["text"]
    assert "une attaque de drone contre la base Tower 22" in tower["text"]["text"]
    assert "sources disagree" in slides[STRIKES]["display_date"]


def test_hxl_row_is_read_by_libhxl(client, seeded):
    _, head = seeded
    data = export(client, "incidents.hxl.csv", min_position=head)
    dataset = hxl.data(io.BytesIO(data))
    assert [c.display_tag for c in dataset.columns] == list(HXL_TAGS)
    rows = {row.get("#event+code"): row for row in dataset}
    assert len(rows) == 14
    assert rows[TOWER].get("#affected+killed") == "3"
    assert (rows[TOWER].get("#geo+lat"), rows[TOWER].get("#geo+lon")) == ("33.3186", "38.6928")
    assert rows[SHELLING].get("#date+start") == "2024-02-01"
    # the same rows as the plain CSV, the tag row aside
    plain = export(client, "incidents.csv")
    assert data.split(b"\r\n", 2)[::2] == plain.split(b"\r\n", 1)


def test_as_of_and_filters_are_those_of_the_timeline(client, seeded):
    seed, head = seeded
    before = csv_rows(export(client, "incidents.csv", as_of=seed, min_position=head))
    assert [r["event_id_cnty"] for r in before] == [
        e["incident"] for e in timeline_entries(client, as_of=seed)
    ]
    assert TOWER not in {r["event_id_cnty"] for r in before} and len(before) == 11
    # as of the filing of the located reports, before the retraction
    filed = head - 1
    geo = orjson.loads(export(client, "incidents.geojson", as_of=filed))
    assert {f["id"] for f in geo["features"]} == {TOWER, SHELLING, WITHDRAWN}
    for params in (
        {"country": "SY"},
        {"kind": "strike", "min_level": 3},
        {"actor": "PMF"},
        {"from": "2024-01-28", "to": "2024-02-02"},
    ):
        rows = csv_rows(export(client, "incidents.csv", **params))
        wanted = [e["incident"] for e in timeline_entries(client, **params)]
        assert [r["event_id_cnty"] for r in rows] == wanted, params
        assert wanted, params  # each filter keeps something, so the comparison can fail
    syria = csv_rows(export(client, "incidents.csv", country="SY"))
    assert all("SY" in r["iso2"].split("; ") for r in syria)


BAD = [
    {"contry": "IQ"},
    {"country": "Iraq"},
    {"kind": "strkie"},
    {"min_level": 9},
    {"from": "2 février 2024"},
    {"as_of": "yesterday"},
    {"as_of": "99999"},
    {"min_position": "-1"},
    {"actor": "Nobody at all"},
]


def _problems(answer: Any) -> tuple[int, Any]:
    detail = answer.json()["detail"]
    for problem in detail:
        if problem["type"] == "extra_forbidden":  # its msg lists the endpoint's own parameters
            problem["msg"] = problem["msg"].split(";")[0]
    return answer.status_code, detail


def test_bad_parameters_get_the_timelines_answers(client):
    for params in BAD:
        timeline = client.get("/timeline", params=params)
        assert timeline.status_code in (404, 422), (params, timeline.text)
        for name in ("incidents.csv", "incidents.geojson", "incidents.timelinejs.json"):
            answer = client.get(f"/export/{name}", params=params)
            assert _problems(answer) == _problems(timeline), params


def test_unknown_export_names_the_ones_there_are(client):
    answer = client.get("/export/incidents.kml")
    assert answer.status_code == 404
    assert "/export/incidents.geojson" in answer.json()["detail"][0]["msg"]


def test_exports_need_a_key_when_reads_do(sqlite_settings):
    settings = sqlite_settings.model_copy(update={"read_keys_required": True})
    with keyed_client(settings) as client:
        assert client.get("/export/incidents.csv").status_code == 200
        del client.headers["Authorization"]
        answer = client.get("/export/incidents.csv")
        assert answer.status_code == 401, answer.text


def test_an_export_stays_at_its_position_while_writes_go_on(client, seeded, monkeypatch):
    """Pages read after a write still answer as of the pinned position."""
    projections = client.app.state.projections

    def read() -> Any:
        return projections.read("timeline")

    position, _ = exporting.pin(read, None, None, TimelineFilters())
    monkeypatch.setattr(exporting, "PAGE", 2)
    chunks = exporting.export_bytes(read, "csv", position, TimelineFilters(), None)
    start = next(chunks) + next(chunks)  # the header and the first page
    late = {
        "key": "test-late-strike",
        "kind": "strike",
        "when": "2024-12-01",  # sorts after every page still to come
        "source": {"outlet": "AFP", "language": "fr"},
        "incident_key": "2024-12-01-late",
    }
    filed = client.post("/reports", json=late)
    assert filed.status_code == 201, filed.text
    now = timeline_entries(client, min_position=filed.json()["position"])
    assert now[-1]["incident"] == "2024-12-01-late"  # the view has it
    rows = csv_rows(start + b"".join(chunks))
    assert [r["event_id_cnty"] for r in rows] == [e["incident"] for e in now[:-1]]
