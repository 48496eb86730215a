"""A report filed without a key is keyed by its validated content (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib

import httpx
import orjson
from fastapi.testclient import TestClient

from tests.servers import Process, auth, free_port, running
from tests.test_actor_races import race
from tests.test_reports_api import NDJSON, log, make_report, ndjson


def test_an_unkeyed_report_retried_is_filed_once(client: TestClient) -> None:
    first = client.post("/reports", json=make_report(key=None))
    assert first.status_code == 201, first.text
    before = log(client)
    # The same report with its fields in another order: the same validated
    # content, so the same report.
    reordered = orjson.dumps(dict(reversed(list(make_report(key=None).items()))))
    again = client.post("/reports", content=reordered, headers={"content-type": "application/json"})
    assert again.status_code == 200, again.text
    assert again.json() == {**first.json(), "created": False}
    assert log(client) == before

    stored = client.get(f"/reports/{first.json()['id']}").json()
    canonical = orjson.dumps(stored["content"], option=orjson.OPT_SORT_KEYS)
    assert stored["key"] == "sha256:" + hashlib.sha256(canonical).hexdigest()

    other = client.post("/reports", json=make_report(key=None, summary="un autre rapport"))
    assert other.status_code == 201
    assert other.json()["id"] != first.json()["id"]


def test_identical_unkeyed_lines_of_a_batch_are_one_report(client: TestClient) -> None:
    same = make_report(key=None, summary="deux fois")
    answer = client.post("/reports", content=ndjson(same, same), headers=NDJSON)
    assert answer.status_code == 201, answer.text
    one, two = answer.json()["reports"]
    assert (answer.json()["created"], answer.json()["existing"]) == (1, 1)
    assert (one["id"], one["position"]) == (two["id"], two["position"])
    assert len(log(client)) == 1


def test_racing_unkeyed_retries_file_one_report(store_env: dict[str, str]) -> None:
    with running(Process(["serve", "--runners", "none"], store_env, free_port())) as (server,):
        clients = [
            httpx.Client(base_url=server.url, headers=auth(server.url), timeout=30)
            for _ in range(4)
        ]
        for n in range(10):
            body = make_report(key=None, summary=f"retry {n}")
            answers = race([lambda c=c, b=body: c.post("/reports", json=b) for c in clients])
            assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]
            assert len({a.json()["id"] for a in answers}) == 1
        filed = clients[0].get("/events", params={"type": "Report.Filed"}).text.splitlines()
        assert len(filed) == 10
        for client in clients:
            client.close()
