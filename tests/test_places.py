"""An incident's places carry the coordinates the reports give, for the page's map.

The rule (projections/merge.py merge_places) on its own, then through the HTTP API
on SQLite and PostgreSQL: filed, corrected, and as of before the correction.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from projections.merge import merge_places
from tests.test_reports_api import make_report


def report(*places: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"places": list(places)}}


def test_one_place_per_name_with_the_finest_coordinates_given() -> None:
    qaim = {"name": "Al-Qaïm", "country": "IQ"}
    rough = {**qaim, "latitude": 34.0, "longitude": 41.0, "coordinate_precision": "region"}
    fine = {**qaim, "latitude": 34.37, "longitude": 41.09, "coordinate_precision": "locality"}
    syria = {"name": "Syrie", "country": "SY"}
    merged = merge_places([report(qaim, syria), report(rough), report(fine), report(rough)])
    assert merged == [
        {**fine},  # first named first; the locality beats the region, whatever the order
        {**syria, "latitude": None, "longitude": None, "coordinate_precision": None},
    ]
    # Coordinates without a stated precision count only where nothing says more.
    bare = {**qaim, "latitude": 1.0, "longitude": 2.0}
    assert merge_places([report(bare), report(rough)])[0]["coordinate_precision"] == "region"
    assert merge_places([report(bare)])[0]["latitude"] == 1.0
    # The same name in two countries is two places.
    other = {"name": "Al-Qaïm", "country": "SY"}
    assert [p["country"] for p in merge_places([report(qaim, other)])] == ["IQ", "SY"]


def test_timeline_places_carry_coordinates_as_filed_and_corrected(client: TestClient) -> None:
    unlocated = [{"name": "Al-Akachat", "country": "IQ"}]
    filed = client.post(
        "/reports", json=make_report(key="places-1", incident_key="places-test", places=unlocated)
    )
    assert filed.status_code == 201, filed.text
    located = [{**unlocated[0], "latitude": 33.6, "longitude": 40.6}]
    located[0]["coordinate_precision"] = "locality"
    corrected = client.post(
        f"/reports/{filed.json()['id']}/corrections",
        json={"changes": {"places": located}, "reason": "geocoded by the filer"},
    )
    assert corrected.status_code == 201, corrected.text
    at = corrected.json()["position"]

    def places(**params: Any) -> list[dict[str, Any]]:
        answer = client.get("/incidents/places-test", params={"min_position": at, **params})
        assert answer.status_code == 200, answer.text
        timeline = client.get("/timeline", params={"min_position": at, **params}).json()
        [entry] = [e for e in timeline["entries"] if e["incident"] == "places-test"]
        assert entry["places"] == answer.json()["entry"]["places"]
        return entry["places"]

    assert places() == located
    before = places(as_of=filed.json()["position"])
    assert before == [
        {**unlocated[0], "latitude": None, "longitude": None, "coordinate_precision": None}
    ]
