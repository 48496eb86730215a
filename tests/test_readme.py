"""The README's curl block, run as written against a live demo server.

Each command in the block ends with the status it answers (`# 201`); a curl
wrapper prints every answer's status on stderr, and the two lists must agree.
"""

from __future__ import annotations

import contextlib
import re
import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from service.settings import Settings
from tests.conftest import IN_CI, POSTGRES_URL, require_postgres
from tests.servers import ROOT, TIMELINE, Process, free_port, running

pytestmark = pytest.mark.timeout(180)

README = ROOT / "README.md"
EXPECTED = re.compile(r"#\s*(\d{3}(?:\s+\d{3})*)\s*$")
# Every answer's status on stderr, out of the way of what the commands pipe on.
WRAPPER = "curl() { command curl -w '%{stderr}STATUS %{http_code} %{url_effective}\\n' \"$@\"; }"


def curl_block(text: str) -> str:
    """The ```sh block that follows the "### curl" heading."""
    section = text.split("\n### curl\n", 1)[1]
    found = re.search(r"^```sh\n(.*?)^```$", section, re.DOTALL | re.MULTILINE)
    assert found is not None, "no ```sh block under ### curl"
    return found.group(1)


def expected_statuses(block: str) -> list[int]:
    """The statuses the block's commands are annotated with, in order."""
    statuses: list[int] = []
    for line in block.splitlines():
        if line.lstrip().startswith("#"):
            continue  # a comment line for humans
        annotated = EXPECTED.search(line)
        if annotated:
            statuses += [int(s) for s in annotated.group(1).split()]
    return statuses


def for_server(block: str, port: int) -> str:
    return block.replace("localhost:8000", f"localhost:{port}").replace(
        ".venv/bin/timeline", shlex.join(TIMELINE)
    )


def test_the_block_is_found_and_every_command_is_annotated() -> None:
    block = curl_block(README.read_text())
    assert block.startswith("TOKEN=$(.venv/bin/timeline keys create me)\n")
    statuses = expected_statuses(block)
    curls = len(re.findall(r"\bcurl -s", block))
    assert len(statuses) == curls  # one annotation per request
    assert expected_statuses("# 201 a comment\ncurl -s x   # 200 200\ncurl y # 404\n") == [
        200,
        200,
        404,
    ]


@contextlib.contextmanager
def store(kind: str, folder: Path) -> Iterator[str]:
    """A fresh, empty store: a SQLite file, or a PostgreSQL schema dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{folder}/timeline.sqlite3"
        return
    require_postgres()
    schema = f"readme_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{POSTGRES_URL}?schema={schema}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Process, dict[str, str]]]:
    if shutil.which("curl") is None:
        if IN_CI:
            pytest.fail("curl is needed to run the README's examples")
        pytest.skip("curl is not installed")
    with store(request.param, tmp_path_factory.mktemp("readme")) as url:
        env = {"TIMELINE_DATABASE_URL": url}
        with served(env) as process:
            yield process, env


@contextlib.contextmanager
def served(env: dict[str, str]) -> Iterator[Process]:
    process = Process(["serve", "--demo"], env, free_port())
    with running(process):
        deadline = time.monotonic() + 30
        head = httpx.get(f"{process.url}/readyz").json()["position"]
        while httpx.get(f"{process.url}/timeline?limit=1").json()["position"] < head:
            assert time.monotonic() < deadline, process.output()
            time.sleep(0.1)
        yield process


# After the block, in the same shell: the values the text under it speaks of.
SHOW = 'printf "\\nREADME %s %s\\n" "$BEFORE" "$FILED"'


def run_block(process: Process, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    block = curl_block(README.read_text())
    script = "\n".join(["set -euo pipefail", WRAPPER, for_server(block, process.port), SHOW])
    return subprocess.run(
        ["bash", "-c", script],
        cwd=ROOT,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def get(process: Process, path: str, **params: Any) -> Any:
    answer = httpx.get(f"{process.url}{path}", params=params, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_readme_curl_block_runs_as_written(demo: tuple[Process, dict[str, str]]) -> None:
    process, env = demo
    head = get(process, "/readyz")["position"]
    strikes_before = get(process, "/incidents/2024-02-02-us-strikes-iraq-syria")["entry"]
    done = run_block(process, env)
    answered = [
        line.split(" ", 2) for line in done.stderr.splitlines() if line.startswith("STATUS")
    ]
    got = [int(status) for _, status, _ in answered]
    expected = expected_statuses(curl_block(README.read_text()))
    assert done.returncode == 0, done.stderr[-3000:]
    assert got == expected, "\n".join(" ".join(a) for a in answered)

    # What the examples say they do, they did.
    log = [
        httpx.get(
            f"{process.url}/events", params={"type": t, "after": head}, timeout=10
        ).text.splitlines()  # after the demo's own corrections (the places' coordinates)
        for t in ("Report.Corrected", "Report.Retracted")
    ]
    assert [len(events) for events in log] == [1, 1]
    strikes = get(process, "/incidents/2024-02-02-us-strikes-iraq-syria")["entry"]["sources"]
    janvier = next(s for s in strikes if s["excerpt"].startswith("Le Commandement américain"))
    assert janvier["when"]["edtf"] == "2024-02-02/2024-02-03"
    assert janvier["when"]["wording"] == "dans la nuit du 2 au 3 janvier"
    assert janvier["corrections"] == 1
    answer = get(process, "/incidents/2024-02-03-iraq-condemns-us-strikes")["entry"]
    assert answer["status"] == "retracted"
    assert get(process, "/actors/resolve", name="Brigades du Hezbollah")["name"] == (
        "Kataeb Hezbollah"
    )

    # What the text under the block says the as_of examples show.
    [shown] = [line.split()[1:] for line in done.stdout.splitlines() if line.startswith("README ")]
    before, filed = shown[0], int(shown[1])
    at_before = get(process, "/timeline", actor="PMF", as_of=before)
    assert at_before["position"] == head
    then = get(process, "/incidents/2024-02-02-us-strikes-iraq-syria", as_of=before)["entry"]
    assert then == strikes_before  # the janvier sentence not yet corrected
    assert any(s["when"]["edtf"] == "2024-01-02/2024-01-03" for s in then["sources"])
    first = httpx.get(
        f"{process.url}/events", params={"type": "Report.Filed", "limit": 1}, timeout=10
    ).json()
    assert (first["position"], first["data"]["key"]) == (filed, "seed-afp-2024-02-02-01")
    irgc = get(process, "/actors/resolve", name="IRGC")["id"]
    history = get(process, f"/actors/{irgc}/history", rollup="true", as_of=filed)
    assert [(a["written_as"], a["role"]) for a in history["appearances"]] == [
        (["force iranienne Quds"], "target")
    ]
    assert get(process, "/timeline", actor="PMF", as_of="2024-02-03T00:00:00Z")["entries"] == []


# Not in the table: no code reads it, so documenting it would promise a limit never applied.
UNDOCUMENTED = {"log_page_max"}


def configuration_table(text: str) -> dict[str, str]:
    """Variable -> default, from the README's Configuration table."""
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    table: dict[str, str] = {}
    for row in section.splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`TIMELINE_"):
            continue
        names = re.findall(r"`(TIMELINE_\w+|_\w+)`", cells[0])
        defaults = [d.strip().strip("`") for d in cells[1].split(" / ")]
        assert len(names) == len(defaults), row
        first = names[0]
        for name, default in zip(names, defaults, strict=True):
            # "`TIMELINE_POSTGRES_POOL_SIZE` / `_MAX_OVERFLOW`": the same prefix
            full = first.rsplit("_", 2)[0] + name if name.startswith("_") else name
            table[full] = default
    return table


def test_configuration_table_is_every_setting_with_its_default() -> None:
    documented = configuration_table(README.read_text())
    fields = {
        f"TIMELINE_{name.upper()}": field.default
        for name, field in Settings.model_fields.items()
        if name not in UNDOCUMENTED
    }
    assert set(documented) == set(fields)
    for name, default in fields.items():
        shown = str(default).lower() if isinstance(default, bool) else str(default)
        assert documented[name] == shown, name
