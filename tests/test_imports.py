"""Importing ACLED and UCDP GED files through the HTTP API and the CLI, on SQLite
and PostgreSQL: reports field by field, re-imports, revisions, deletions, bad rows."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from domain.reports import report_id_for_key
from service.cli import app as cli
from service.dataset_import import import_rows
from service.settings import Settings
from service.storage import open_application
from tests.conftest import keyed_client
from tests.servers import ROOT, TIMELINE, Process, free_port, running

FIXTURES = Path(__file__).parent / "fixtures" / "datasets"
CSV = {"content-type": "text/csv"}


def body(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def post(client: TestClient, name: str | bytes, fmt: str = "acled", **params: Any) -> Any:
    data = body(name) if isinstance(name, str) else name
    query = {"format": fmt, **{k: str(v).lower() for k, v in params.items()}}
    return client.post("/imports", params=query, content=data, headers=CSV)


def report(client: TestClient, key: str, version: int | None = None) -> dict[str, Any]:
    params = {"version": version} if version else {}
    answer = client.get(f"/reports/{report_id_for_key(key)}", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def position(client: TestClient) -> int:
    return client.get("/readyz").json()["position"]


def events_after(client: TestClient, after: int) -> list[str]:
    """The types of the events logged after a position (PostgreSQL's positions have gaps)."""
    answer = client.get("/events", params={"after": after})
    assert answer.status_code == 200, answer.text
    return [json.loads(line)["type"] for line in answer.text.splitlines() if line]


def with_bad_cells(name: str, bad: dict[int, dict[str, str]]) -> bytes:
    """The fixture with some cells replaced (rows by index from 0)."""
    rows = list(csv.DictReader(io.StringIO(body(name).decode())))
    for index, cells in bad.items():
        rows[index] |= cells
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


# --- HTTP ----------------------------------------------------------------------


def test_acled_current_rows_become_reports_field_by_field(client: TestClient) -> None:
    answer = post(client, "acled_current.csv")
    assert answer.status_code == 201, answer.text
    outcome = answer.json()
    assert (outcome["rows"], outcome["filed"], outcome["bad_rows"]) == (36, 36, 0)
    assert outcome["events"] == 36 + outcome["actors_registered"]

    found = report(client, "acled:KEN7186")  # a protest, with tags; the week around a day
    content = found["content"]
    assert content["kind"] == "statement"
    assert content["means"] == []
    assert content["when"] == {
        "earliest": "2019-10-29",
        "latest": "2019-11-04",
        "precision": "day",
        "approximate": True,
        "uncertain": False,
        "edtf": None,
        "wording": "the week around 2019-11-01 (ACLED time_precision 2)",
    }
    assert content["summary"] == "Protests: Peaceful protest; tags: crowd size=no report"
    assert content["actors"] == [
        {"name": "Protesters (Kenya)", "role": "speaker", "actor_id": None}
    ]
    assert content["places"] == [
        {
            "name": "Mandera, Mandera East",
            "country": "KE",
            "latitude": 3.9366,
            "longitude": 41.867,
            "coordinate_precision": "locality",
        }
    ]
    assert content["counts"][0]["value"] == 7
    assert content["source"]["outlet"] == "Radio Dalsan"
    assert content["incident_key"] == "acled:ken7186"

    early = report(client, "acled:KEN7198")["content"]["when"]  # precision 3, coded on the 1st
    assert (early["earliest"], early["latest"], early["precision"]) == (
        "2019-11-01",
        "2019-11-10",
        "month",
    )
    late = report(client, "acled:SOM7182")["content"]["when"]  # precision 3, on the last day
    assert (late["earliest"], late["latest"]) == ("2020-02-21", "2020-02-29")

    civilians = report(client, "acled:XKX7184")["content"]  # violence against civilians
    assert civilians["summary"] == "Violence against civilians: Attack (civilian targeting)"
    assert [(a["name"], a["role"]) for a in civilians["actors"]] == [
        ("Unidentified Armed Group (Kenya)", "perpetrator"),
        ("Civilians (Kenya)", "target"),
        ("Women (Kenya)", "target"),
    ]
    assert civilians["places"][0]["country"] is None
    assert report(client, "acled:KEN7180")["content"]["means"] == [
        "armed_clash"
    ]  # Kosovo has no ISO 3166-1 code
    resolved = client.get("/actors/resolve", params={"name": "Al Shabaab"})
    assert resolved.status_code == 200, resolved.text
    actor = client.get(f"/actors/{resolved.json()['id']}").json()
    assert actor["category"] == "armed_group"


def test_acled_pre_2023_layout(client: TestClient) -> None:
    answer = post(client, "acled_pre2023.csv")
    assert answer.status_code == 201, answer.text
    assert answer.json()["filed"] == 36
    content = report(client, "acled:KEN7181")["content"]  # written "31-12-19", precision 2
    assert (content["when"]["earliest"], content["when"]["latest"]) == ("2019-12-28", "2020-01-03")
    assert content["places"][0]["coordinate_precision"] == "near"
    old = report(client, "acled:COD7185")["content"]  # written "12-03-97"
    assert old["when"]["earliest"] == "1997-03-12"


@pytest.mark.parametrize("name", ["ucdp_ged.csv", "ucdp_ged_hdx.csv"])
def test_ucdp_ged_with_and_without_the_hxl_row(client: TestClient, name: str) -> None:
    answer = post(client, name, fmt="ucdp")
    assert answer.status_code == 201, answer.text
    assert (answer.json()["rows"], answer.json()["filed"]) == (35, 35)
    content = report(client, "ucdp:244605")["content"]  # event_clarity 2, state-based
    assert content["aggregate"] is True
    assert [(c["value"], c["whose"], c["low"], c["high"]) for c in content["counts"]] == [
        (3, None, 1, 5),
        (1, "Government of Somalia", None, None),
        (1, "Al-Shabaab", None, None),
        (1, "civilians", None, None),
        (0, "unknown", None, None),
    ]
    assert [(a["name"], a["role"]) for a in content["actors"]] == [
        ("Government of Somalia", "perpetrator"),
        ("Government of Somalia", "target"),
        ("Al-Shabaab", "perpetrator"),
        ("Al-Shabaab", "target"),
    ]
    assert content["places"][0]["coordinate_precision"] == "country"  # where_prec 6
    one_sided = report(client, "ucdp:244602")["content"]["actors"]
    assert [(a["name"], a["role"]) for a in one_sided] == [
        ("Al-Shabaab", "perpetrator"),
        ("Civilians", "target"),
    ]
    assert content["when"] == {
        "earliest": "2019-02-25",
        "latest": "2019-02-25",
        "precision": "day",
        "approximate": False,
        "uncertain": False,
        "edtf": None,
        "wording": "2019-02-25/2019-02-25 (UCDP date_prec 1: the day)",
    }
    at_sea = report(client, "ucdp:244606")["content"]["places"][0]  # where_prec 7
    assert (at_sea["name"], at_sea["country"], at_sea["coordinate_precision"]) == (
        "Gulf of Aden",
        None,
        "region",
    )


def caught_up(client: TestClient, path: str, **params: Any) -> Any:
    """GET once the views have reached `min_position` (503 until then)."""
    deadline = time.monotonic() + 60
    while True:
        answer = client.get(path, params=params)
        if answer.status_code != 503 or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def test_imported_rows_reach_the_views(client: TestClient) -> None:
    assert post(client, "ucdp_ged.csv", fmt="ucdp").status_code == 201
    head = position(client)
    incident = caught_up(client, "/incidents/ucdp:244605", min_position=head)
    assert incident.status_code == 200, incident.text
    assert "244605" in incident.text
    timeline = caught_up(client, "/timeline", min_position=head, limit=100)
    assert timeline.status_code == 200, timeline.text
    assert "ucdp:244600" in timeline.text


def test_a_re_import_writes_nothing(client: TestClient) -> None:
    assert post(client, "acled_current.csv").status_code == 201
    before = position(client)
    again = post(client, "acled_current.csv")
    assert again.status_code == 200, again.text
    assert (again.json()["events"], again.json()["unchanged"]) == (0, 36)
    assert position(client) == before


def test_an_edited_re_import_writes_exactly_the_corrections(client: TestClient) -> None:
    assert post(client, "acled_current.csv").status_code == 201
    before = position(client)
    revised = post(client, "acled_current_revised.csv")
    assert revised.status_code == 201, revised.text
    assert (revised.json()["corrected"], revised.json()["events"]) == (2, 2)
    assert events_after(client, before) == ["Report.Corrected", "Report.Corrected"]

    found = report(client, "acled:KEN7180")
    assert (found["version"], found["corrections"]) == (2, 1)
    corrected = found["history"][-1]
    assert corrected["type"] == "Report.Corrected"
    assert corrected["data"]["fields"] == ["counts", "excerpt"]
    assert corrected["data"]["reason"] == (
        "ACLED revised event KEN7180 (row timestamp 1718000000 (2024-06-10T06:13:20Z))"
    )
    assert corrected["data"]["corrected_by"] == "ACLED"
    assert corrected["data"]["published_at"] == "2024-06-10T06:13:20+00:00"
    assert found["content"]["counts"][0]["value"] == 7
    # The report as the first import had it, still readable.
    assert report(client, "acled:KEN7180", version=1)["content"]["counts"][0]["value"] == 0
    moved = report(client, "acled:XKX7184")
    assert moved["history"][-1]["data"]["fields"] == ["places", "when"]
    assert moved["content"]["places"][0]["name"] == "Wajir, Pristina"

    assert post(client, "acled_current_revised.csv").json()["events"] == 0


def test_an_older_export_again_restores_what_it_said(client: TestClient) -> None:
    assert post(client, "acled_current.csv").status_code == 201
    assert post(client, "acled_current_revised.csv").json()["corrected"] == 2
    back = post(client, "acled_current.csv")
    assert (back.json()["corrected"], back.json()["unchanged"]) == (2, 34), back.text
    found = report(client, "acled:KEN7180")
    assert (found["version"], found["content"]["counts"][0]["value"]) == (3, 0)


def test_the_deleted_list_retracts(client: TestClient) -> None:
    assert post(client, "acled_current.csv").status_code == 201
    answer = post(client, "acled_deleted.csv", deleted=True)
    assert answer.status_code == 201, answer.text
    assert (answer.json()["retracted"], answer.json()["not_found"]) == (1, 1)
    found = report(client, "acled:KEN7181")
    assert found["retracted"] is True
    assert (
        found["retraction_reason"] == "ACLED deleted event KEN7181 (deleted_timestamp 1718003600)"
    )
    assert post(client, "acled_deleted.csv", deleted=True).json()["events"] == 0
    # Importing the deleted row again does not bring it back.
    assert post(client, "acled_current.csv").json()["events"] == 0
    assert report(client, "acled:KEN7181")["retracted"] is True


def test_a_bad_deleted_list_retracts_nothing(client: TestClient) -> None:
    assert post(client, "acled_current.csv").status_code == 201
    listed = b"event_id_cnty,deleted_timestamp\nKEN7181,1718003600\nKEN7182,yesterday\n"
    answer = post(client, listed, deleted=True)
    assert answer.status_code == 422, answer.text
    assert [(p["line"], p["field"]) for p in answer.json()["detail"]] == [(3, "deleted_timestamp")]
    assert report(client, "acled:KEN7181")["retracted"] is False


def test_bad_rows_are_named_by_line_and_column_and_write_nothing(client: TestClient) -> None:
    # Row 3 (index) has a two-line note: the row after it starts on line 7.
    bad = with_bad_cells(
        "acled_current.csv", {1: {"time_precision": "4"}, 4: {"fatalities": "many"}}
    )
    before = position(client)
    answer = post(client, bad)
    assert answer.status_code == 422, answer.text
    assert [(p["line"], p["field"]) for p in answer.json()["detail"]] == [
        (3, "time_precision"),
        (7, "fatalities"),
    ]
    assert "'many' is not a whole number" in answer.json()["detail"][1]["msg"]
    assert position(client) == before

    skipped = post(client, bad, skip_bad=True)
    assert skipped.status_code == 201, skipped.text
    assert (skipped.json()["filed"], skipped.json()["bad_rows"]) == (34, 2)
    assert [p["line"] for p in skipped.json()["problems"]] == [3, 7]


def test_wrong_requests_say_what_is_wrong(client: TestClient) -> None:
    unknown = post(client, "acled_current.csv", fmt="acledd")
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["field"] == "format"
    other = post(client, "ucdp_ged.csv", fmt="acled")
    assert other.status_code == 422
    assert other.json()["detail"][0]["line"] == 1
    assert "event_id_cnty" in other.json()["detail"][0]["msg"]
    as_json = client.post(
        "/imports",
        params={"format": "acled"},
        content=b"{}",
        headers={"content-type": "application/json"},
    )
    assert as_json.status_code == 415
    ucdp_deleted = post(client, "acled_deleted.csv", fmt="ucdp", deleted=True)
    assert ucdp_deleted.status_code == 422
    assert ucdp_deleted.json()["detail"][0]["field"] == "deleted"


def test_imports_need_a_key(settings: Settings) -> None:
    from service.api import create_app

    with TestClient(create_app(settings)) as anonymous:
        answer = post(anonymous, "acled_current.csv")
        assert answer.status_code == 401
        assert position(anonymous) == 0


# --- CLI -----------------------------------------------------------------------


def database_url(settings: Settings) -> str:
    if settings.database_url.startswith("postgresql"):
        return f"{settings.database_url}?schema={settings.postgres_schema}"
    return settings.database_url


def ingest(settings: Settings, *args: str) -> Any:
    return CliRunner().invoke(cli, ["ingest", *args, "--database-url", database_url(settings)])


def test_cli_imports_revises_and_retracts(settings: Settings) -> None:
    first = ingest(settings, "--format", "acled", str(FIXTURES / "acled_current.csv"))
    assert first.exit_code == 0, first.output
    assert "36 rows, 36 filed, 0 corrected, 0 unchanged, 16 actors registered" in first.stdout
    assert first.stdout.endswith("52 new events written\n")
    again = ingest(settings, "--format", "acled", str(FIXTURES / "acled_current.csv"))
    assert again.stdout.endswith("0 new events written\n"), again.output
    revised = ingest(
        settings,
        "--format",
        "acled",
        str(FIXTURES / "acled_current_revised.csv"),
        "--deleted",
        str(FIXTURES / "acled_deleted.csv"),
    )
    assert revised.exit_code == 0, revised.output
    assert "2 corrected, 34 unchanged" in revised.stdout
    assert "1 retracted, 1 not found" in revised.stdout
    assert revised.stdout.endswith("3 new events written\n")
    ged = ingest(settings, "--format", "ucdp", str(FIXTURES / "ucdp_ged_hdx.csv"))
    assert "35 rows, 35 filed" in ged.stdout, ged.output


def test_cli_bad_rows_by_line_and_column(settings: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(with_bad_cells("ucdp_ged.csv", {2: {"where_prec": "9"}}))
    failed = ingest(settings, "--format", "ucdp", str(bad))
    assert failed.exit_code == 1
    assert f"{bad}:line 4, column where_prec: 9 is not one of the codes 1-7" in failed.stderr
    assert f"{bad}: nothing written (see --skip-bad)" in failed.stderr
    skipped = ingest(settings, "--format", "ucdp", str(bad), "--skip-bad")
    assert skipped.exit_code == 0, skipped.output
    assert "35 rows, 34 filed" in skipped.stdout
    assert "1 bad rows skipped" in skipped.stdout


def test_cli_through_a_running_service(store_env: dict[str, str]) -> None:
    """`--api`: the file streamed to POST /imports of a real served process."""
    server = Process(["serve", "--runners", "none"], store_env, port=free_port())
    with running(server):
        args = [*TIMELINE, "ingest", "--format", "acled", "--api", server.url]
        env = {**os.environ, **store_env, "TIMELINE_API_KEY": server.token}
        first = subprocess.run(
            [*args, str(FIXTURES / "acled_pre2023.csv")], cwd=ROOT, env=env, capture_output=True
        )
        assert first.returncode == 0, first.stderr.decode()
        assert "36 rows, 36 filed" in first.stdout.decode()
        revised = subprocess.run(
            [
                *args,
                str(FIXTURES / "acled_pre2023.csv"),
                "--deleted",
                str(FIXTURES / "acled_deleted.csv"),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
        )
        assert revised.returncode == 0, revised.stderr.decode()
        assert revised.stdout.decode().endswith("1 new events written\n")
        retracted = httpx.get(f"{server.url}/reports/{report_id_for_key('acled:KEN7181')}")
        assert retracted.json()["retracted"] is True


# --- the importer itself ----------------------------------------------------------


def test_progress_counts_every_row_of_each_pass(sqlite_settings: Settings) -> None:
    timeline = open_application(sqlite_settings)
    seen: list[tuple[str, int]] = []
    path = FIXTURES / "ucdp_ged_hdx.csv"
    try:
        outcome = import_rows(
            timeline,
            lambda: path.open(encoding="utf-8-sig", newline=""),
            "ucdp",
            progress=lambda phase, rows: seen.append((phase, rows)),
        )
    finally:
        timeline.close()
    assert outcome.filed == 35
    assert seen == [("checked", 35), ("imported", 35)]


def test_a_key_twice_in_one_file_is_a_revision(sqlite_settings: Settings, tmp_path: Path) -> None:
    rows = body("acled_current.csv").decode().splitlines(keepends=True)
    twice = tmp_path / "twice.csv"
    later = rows[1].replace(",1700000000\n", ",1700009999\n").replace(",0,,", ",2,,")
    twice.write_text("".join([rows[0], rows[1], later]))
    timeline = open_application(sqlite_settings)
    try:
        outcome = import_rows(
            timeline, lambda: twice.open(encoding="utf-8-sig", newline=""), "acled"
        )
        found = timeline.get_report(report_id_for_key("acled:KEN7180"))
    finally:
        timeline.close()
    assert (outcome.filed, outcome.corrected) == (1, 1)
    assert found.content.counts[0].value == 2


def test_import_bodies_have_their_own_limit(tmp_path: Path) -> None:
    small = Settings(
        database_url=f"sqlite:///{tmp_path}/timeline.sqlite3",
        max_body_bytes=1024,
        max_import_bytes=4096,
    )
    with keyed_client(small) as client:
        listed = "".join(f"KEN{n},1718003600\n" for n in range(100))
        deleted = f"event_id_cnty,deleted_timestamp\n{listed}".encode()
        assert 1024 < len(deleted) < 4096
        fits = post(client, deleted, deleted=True)
        assert fits.status_code == 200, fits.text  # over the reports' limit, within this one
        assert fits.json()["not_found"] == 100
        too_big = post(client, b"x" * 5000)
        assert too_big.status_code == 413
        assert too_big.json()["detail"][0]["msg"] == "request body exceeds 4096 bytes"


def test_new_actors_in_one_transaction_or_one_by_one(sqlite_settings: Settings) -> None:
    """A name registered meanwhile makes the batch's transaction fail: each name is
    then registered on its own, and the taken one is left to its owner."""
    from domain.values import ActorCategory

    timeline = open_application(sqlite_settings)
    try:
        owner, _, _ = timeline.register_actor("Ras Kamboni Brigade", category=ActorCategory.STATE)
        created = timeline.register_new_actors(
            [("Al Shabaab", ActorCategory.ARMED_GROUP), ("Ras Kamboni Brigade", None)]
        )
        assert created == 1
        shabaab = timeline.get_actor(timeline.resolve_actor("Al Shabaab"))
        assert shabaab.category == ActorCategory.ARMED_GROUP
        assert timeline.get_actor(owner.id).category == ActorCategory.STATE
        assert timeline.register_new_actors([("Al-Shabaab", None), ("Hawiye", None)]) == 1
    finally:
        timeline.close()
