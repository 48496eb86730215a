"""The benchmark harness on a tiny log, so that it cannot rot: every scenario runs
end to end (real servers, wrk, the asyncio clients) and the table names every
figure. No timing is asserted: figures from a tiny log mean nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.conftest import IN_CI, require_postgres

ROOT = Path(__file__).resolve().parent.parent

FIGURES = (
    "POST /reports single, 4 connections: requests/s",
    "POST /reports single, 4 connections: latency",
    "NDJSON ingest, 100 reports/request: reports/s",
    "NDJSON ingest, 100 reports/request: request latency",
    "service RSS after 100 reports",
    "service RSS after 300 reports",
    "RSS growth 100 -> 300 reports",
    "rebuild all views",
    "GET /timeline (first page of 100),",
    "GET /timeline (first page of 100) as_of=",
    "GET /tally?group_by=week,",
    "GET /tally?group_by=week as_of=",
    "GET /search?q=Erbil strike (first page of 20),",
    "GET /search?q=Erbil strike (first page of 20) as_of=",
    "GET /actors/{id}/history (10th most-cited actor",
    "live: ack -> SSE receipt, 3 subscribers",
    "live: reports/s achieved",
)
WITH_CEILING = (
    "POST /reports single, 4 connections: requests/s",
    "NDJSON ingest, 100 reports/request: reports/s",
    "rebuild all views",
)


def _require_wrk() -> None:
    if shutil.which("wrk") is None:
        message = "wrk is not installed (Debian: apt-get install wrk)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def _run(store: str, tmp_path: Path) -> tuple[str, list[dict]]:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--tiny", "--stores", store, "--json", str(out)],
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout, orjson.loads(out.read_bytes())["figures"]


def _check(store: str, stdout: str, figures: list[dict]) -> None:
    assert "| store" in stdout and "| figure" in stdout and "| ceiling" in stdout
    assert "| ratio" in stdout
    assert "command: python -m bench --tiny" in stdout
    names = [f["figure"] for f in figures if f["store"] == store]
    assert not [n for n in names if "FAILED" in n or "skipped" in n], names
    for wanted in FIGURES:
        found = [f for f in figures if f["store"] == store and f["figure"].startswith(wanted)]
        assert found, f"no figure {wanted!r} in {names}"
        for figure in found:
            assert figure["value"] is not None, figure
            assert figure["figure"] in stdout
            if wanted in WITH_CEILING:
                assert figure["ceiling"] and figure["ratio"] is not None, figure


def test_bench_runs_every_scenario_on_sqlite(tmp_path: Path) -> None:
    _require_wrk()
    stdout, figures = _run("sqlite", tmp_path)
    _check("sqlite", stdout, figures)


def test_bench_runs_every_scenario_on_postgres(tmp_path: Path) -> None:
    _require_wrk()
    require_postgres()
    stdout, figures = _run("postgres", tmp_path)
    _check("postgres", stdout, figures)
