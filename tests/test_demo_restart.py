"""`serve --demo` restarts on a registry that has grown through the API (SQLite and PostgreSQL)."""

from __future__ import annotations

import re

import httpx
import orjson

from domain.actors import actor_id_for
from tests.servers import ROOT, Process, auth, free_port, running

QUDS = str(actor_id_for("Quds Force"))
HACHD = str(actor_id_for("Hachd al-Chaabi"))
IRAN = str(actor_id_for("Iran"))


def readme_registration() -> dict:
    """The body of the README's `POST /actors` example that registers again (# 200)."""
    readme = (ROOT / "README.md").read_text()
    found = re.search(r"-X POST localhost:8000/actors -H .*\n\s*-d '([^']*)'\s*# 200", readme)
    assert found, "the README has no POST /actors example that registers again"
    return orjson.loads(found.group(1))


def test_demo_serves_again_after_aliases_and_parents_changed(store_env: dict[str, str]) -> None:
    demo = ["serve", "--demo", "--runners", "none"]
    with running(Process(demo, store_env, free_port())) as (server,):
        headers = auth(server.url)
        # Registering as the README shows it: the seed already knows all of it.
        readme = httpx.post(f"{server.url}/actors", json=readme_registration(), headers=headers)
        assert readme.status_code == 200, readme.text
        assert readme.json()["id"] == HACHD and readme.json()["position"] is None
        added = httpx.post(
            f"{server.url}/actors/{QUDS}/aliases",
            json={"name": "Niru-ye Qods", "language": "fa-Latn"},
            headers=headers,
        )
        assert added.status_code == 201, added.text
        # Quds Force's seed parent is the IRGC, Hachd's none: change one, set the other.
        for actor in (QUDS, HACHD):
            moved = httpx.put(
                f"{server.url}/actors/{actor}/parent", json={"parent_id": IRAN}, headers=headers
            )
            assert moved.status_code == 200, moved.text
        events = httpx.get(f"{server.url}/events", params={"limit": 10_000}).text.splitlines()

    with running(Process(demo, store_env, free_port())) as (server,):  # did not die starting
        quds = httpx.get(f"{server.url}/actors/{QUDS}").json()
        assert quds["parent_id"] == IRAN
        assert quds["aliases"][-1] == {"name": "Niru-ye Qods", "language": "fa-Latn"}
        assert httpx.get(f"{server.url}/actors/{HACHD}").json()["parent_id"] == IRAN
        readme = httpx.post(
            f"{server.url}/actors", json=readme_registration(), headers=auth(server.url)
        )
        assert readme.status_code == 200, readme.text  # still, with a parent since
        again = httpx.get(f"{server.url}/events", params={"limit": 10_000}).text.splitlines()
        assert again == events  # the second load wrote nothing
        assert "demo data: 0 events new" in server.output()
