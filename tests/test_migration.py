"""Export from one store, import into another: the log moves byte for byte."""

from __future__ import annotations

import copy
import io
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import service.migration
from service.cli import app as cli
from service.migration import (
    ImportRefusedError,
    export_events,
    import_events,
    non_empty_refusal,
)
from service.schemas import SEED_EXAMPLE
from service.settings import Settings
from tests.conftest import keyed_client


def report(key: str, **overrides: Any) -> dict[str, Any]:
    return {**copy.deepcopy(SEED_EXAMPLE), "key": key, **overrides}


def populate(client: TestClient) -> list[str]:
    """Reports with corrections and a retraction, actors with aliases and a parent."""
    ids = [client.post("/reports", json=report(f"mig-{n}")).json()["id"] for n in range(3)]
    batch = b"\n".join(
        orjson.dumps(report(f"mig-batch-{n}", summary=f"lot {n} — « été »")) for n in range(3)
    )
    answer = client.post(
        "/reports", content=batch, headers={"content-type": "application/x-ndjson"}
    )
    assert answer.status_code == 201
    ids += [item["id"] for item in answer.json()["reports"]]
    correction = {
        "changes": {
            "when": {"edtf": "2024-02-02", "wording": "le 2 février"},
            "counts": [{"value": 90, "qualifier": "about", "counted": "sites"}],
            "places": [
                {
                    "name": "Al-Qaïm",
                    "country": "IQ",
                    "latitude": 34.37,
                    "longitude": 41.09,
                    "coordinate_precision": "locality",
                }
            ],
        },
        "reason": "précision du Centcom",
        "corrected_by": "AFP desk",
    }
    assert client.post(f"/reports/{ids[0]}/corrections", json=correction).status_code == 201
    assert (
        client.post(f"/reports/{ids[1]}/retraction", json={"reason": "démenti"}).status_code == 201
    )
    irgc = client.post("/actors", json={"name": "IRGC", "aliases": [{"name": "Pasdaran"}]}).json()
    quds = client.post("/actors", json={"name": "force Quds", "parent_id": irgc["id"]}).json()
    client.post(f"/actors/{quds['id']}/aliases", json={"name": "Quds Force", "language": "en"})
    # An idempotent retry writes nothing, a conflicting one is refused: neither may show.
    assert client.post("/reports", json=report("mig-0")).status_code == 200
    assert client.post("/reports", json=report("mig-0", summary="x")).status_code == 409
    return ids


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One populated SQLite store, read (never written) by the tests below."""
    path = tmp_path_factory.mktemp("source") / "timeline.sqlite3"
    settings = Settings(database_url=f"sqlite:///{path}")
    with keyed_client(settings) as client:
        ids = populate(client)
        return {
            "settings": settings,
            "ids": ids,
            "answers": {i: client.get(f"/reports/{i}").json() for i in ids},
            "first_versions": {
                i: client.get(f"/reports/{i}", params={"version": 1}).json() for i in ids
            },
            "actors": client.get("/actors").json(),
            "log": client.get("/events").text,
            "exported": export_bytes(settings),
        }


def export_bytes(settings: Settings) -> bytes:
    buffer = io.BytesIO()
    export_events(settings, buffer)
    return buffer.getvalue()


def test_sqlite_to_postgres_round_trip(source: dict[str, Any], postgres_settings: Settings) -> None:
    ids, answers, versions = source["ids"], source["answers"], source["first_versions"]
    actors, log = source["actors"], source["log"]
    exported = export_bytes(source["settings"])
    assert exported == source["exported"]  # exporting is repeatable
    lines = exported.splitlines()
    assert len(lines) == log.count("\n") == 15
    first = orjson.loads(lines[0])
    assert set(first) == {"position", "originator_id", "originator_version", "topic", "state"}
    assert [orjson.loads(line)["position"] for line in lines] == list(range(1, 16))

    count = import_events(postgres_settings, io.BytesIO(exported))
    assert count == 15
    assert export_bytes(postgres_settings) == exported

    with keyed_client(postgres_settings) as target:
        for report_id in ids:
            assert target.get(f"/reports/{report_id}").json() == answers[report_id]
            assert (
                target.get(f"/reports/{report_id}", params={"version": 1}).json()
                == versions[report_id]
            )
        assert target.get("/actors").json() == actors
        assert target.get("/events").text == log
        resolved = target.get("/actors/resolve", params={"name": "quds force"}).json()
        assert resolved["parent_id"] == actors[0]["id"]
        # The imported store carries on where the source stopped.
        new = target.post("/reports", json=report("after-import"))
        assert new.status_code == 201
        assert new.json()["position"] == 16
        again = target.post("/reports", json=report("mig-0"))
        assert again.status_code == 200 and again.json()["id"] == ids[0]


def test_import_into_non_empty_store_is_refused(
    source: dict[str, Any], postgres_settings: Settings
) -> None:
    exported = source["exported"]
    with keyed_client(postgres_settings) as target:
        assert target.post("/reports", json=report("already-here")).status_code == 201
    before = export_bytes(postgres_settings)
    with pytest.raises(ImportRefusedError, match=r"not empty \(it holds events up to position 1\)"):
        import_events(postgres_settings, io.BytesIO(exported))
    with pytest.raises(ImportRefusedError, match="not the start of this export"):
        import_events(postgres_settings, io.BytesIO(exported), merge=True)
    assert export_bytes(postgres_settings) == before
    # Without --merge even a store holding all of it refuses; with it, nothing is written.
    with pytest.raises(ImportRefusedError, match="pass --merge"):
        import_events(source["settings"], io.BytesIO(exported))
    assert import_events(source["settings"], io.BytesIO(exported), merge=True) == 0
    assert export_bytes(source["settings"]) == exported


def test_non_empty_refusal_rule() -> None:
    assert non_empty_refusal(0, merge=False) is None
    assert non_empty_refusal(0, merge=True) is None
    assert non_empty_refusal(7, merge=True) is None
    refusal = non_empty_refusal(7, merge=False)
    assert refusal is not None
    assert "not empty (it holds events up to position 7)" in refusal
    assert "--merge" in refusal


def test_malformed_export_is_refused(source: dict[str, Any], sqlite_settings: Settings) -> None:
    good = source["exported"]
    with pytest.raises(ImportRefusedError, match="line 2"):
        import_events(sqlite_settings, io.BytesIO(good.split(b"\n")[0] + b"\n{no}\n"))
    with pytest.raises(ImportRefusedError, match="line 1"):
        import_events(sqlite_settings, io.BytesIO(b'{"position": 1}\n'))
    assert export_bytes(sqlite_settings) == b""


def test_bad_line_after_a_full_page_writes_nothing(
    source: dict[str, Any], sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    exported = source["exported"]
    monkeypatch.setattr(service.migration, "PAGE", 4)
    damaged = exported + b"not an exported event\n"
    with pytest.raises(ImportRefusedError):
        import_events(sqlite_settings, io.BytesIO(damaged))
    assert export_bytes(sqlite_settings) == b""


def test_postgres_to_sqlite_keeps_ids_and_order_and_renumbers_gaps(
    sqlite_settings: Settings, postgres_settings: Settings
) -> None:
    with keyed_client(postgres_settings) as source:
        populate(source)  # includes an idempotent retry and a refused conflicting key
        source.post("/reports", json=report("after-retry"))
    exported = export_bytes(postgres_settings)
    import_events(sqlite_settings, io.BytesIO(exported))
    reimported = export_bytes(sqlite_settings)

    def without_positions(dump: bytes) -> list[dict[str, Any]]:
        lines = [orjson.loads(line) for line in dump.splitlines()]
        return [{k: v for k, v in line.items() if k != "position"} for line in lines]

    assert without_positions(reimported) == without_positions(exported)
    positions = [orjson.loads(line)["position"] for line in reimported.splitlines()]
    assert positions == list(range(1, len(positions) + 1))


def test_interrupted_import_resumes(
    source: dict[str, Any], sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    exported = source["exported"]
    lines = exported.splitlines(keepends=True)
    import_events(sqlite_settings, io.BytesIO(b"".join(lines[:6])))  # as if cut short
    assert import_events(sqlite_settings, io.BytesIO(exported), merge=True) == len(lines) - 6
    assert export_bytes(sqlite_settings) == exported


def test_cli_export_and_import(
    source: dict[str, Any], postgres_settings: Settings, tmp_path: Path
) -> None:
    ids = source["ids"]
    answer = source["answers"][ids[0]]
    dump = tmp_path / "log.ndjson"
    runner = CliRunner()
    exported = runner.invoke(
        cli, ["export", "-o", str(dump), "--database-url", source["settings"].database_url]
    )
    assert exported.exit_code == 0, exported.output
    assert "exported 15 events" in exported.output
    assert dump.read_bytes() == source["exported"]

    target_url = f"{postgres_settings.database_url}?schema={postgres_settings.postgres_schema}"
    imported = runner.invoke(cli, ["import", str(dump), "--database-url", target_url])
    assert imported.exit_code == 0, imported.output
    assert "imported 15 events" in imported.output
    assert export_bytes(postgres_settings) == dump.read_bytes()
    with keyed_client(postgres_settings) as target:
        assert target.get(f"/reports/{ids[0]}").json() == answer

    # Into a store that is not empty: refused, unless --merge (which adds nothing twice).
    again = runner.invoke(cli, ["import", str(dump), "--database-url", target_url])
    assert again.exit_code == 1
    assert "the target store is not empty (it holds events up to position 15)" in again.output
    assert "pass --merge" in again.output
    merged = runner.invoke(cli, ["import", str(dump), "--merge", "--database-url", target_url])
    assert merged.exit_code == 0 and "imported 0 events" in merged.output
    assert export_bytes(postgres_settings) == dump.read_bytes()
    other = tmp_path / "other.ndjson"
    other.write_bytes(dump.read_bytes().splitlines(keepends=True)[-1])
    refused = runner.invoke(cli, ["import", str(other), "--merge", "--database-url", target_url])
    assert refused.exit_code == 1
    assert "not the start of this export" in refused.output
    assert export_bytes(postgres_settings) == dump.read_bytes()


def test_cli_merge_appends_the_rest_of_an_interrupted_import(
    source: dict[str, Any], sqlite_settings: Settings, tmp_path: Path
) -> None:
    exported = source["exported"]
    lines = exported.splitlines(keepends=True)
    first, whole = tmp_path / "first.ndjson", tmp_path / "whole.ndjson"
    first.write_bytes(b"".join(lines[:6]))
    whole.write_bytes(exported)
    url = sqlite_settings.database_url
    runner = CliRunner()
    started = runner.invoke(cli, ["import", str(first), "--database-url", url])
    assert started.exit_code == 0 and "imported 6 events" in started.output
    refused = runner.invoke(cli, ["import", str(whole), "--database-url", url])
    assert refused.exit_code == 1 and "holds events up to position 6" in refused.output
    assert export_bytes(sqlite_settings) == b"".join(lines[:6])
    merged = runner.invoke(cli, ["import", str(whole), "--merge", "--database-url", url])
    assert merged.exit_code == 0 and "imported 9 events" in merged.output
    assert export_bytes(sqlite_settings) == exported
