"""The `timeline` command as a user runs it: real stores, a real served process."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from service.cli import app as cli
from service.cli import error_text, service_url
from service.settings import Settings
from tests.servers import ROOT, TIMELINE, Process, auth, file, free_port, running

pytestmark = pytest.mark.timeout(180)


def database_url(settings: Settings) -> str:
    if settings.database_url.startswith("postgresql"):
        return f"{settings.database_url}?schema={settings.postgres_schema}"
    return settings.database_url


# --- serve --help ---------------------------------------------------------------


def test_serve_help_shows_every_default() -> None:
    shown = CliRunner().invoke(cli, ["serve", "--help"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.output.replace("\u2502", " ").split())  # rich's box and padding
    expected = [
        (
            "--database-url",
            "[env var: TIMELINE_DATABASE_URL] [default: (sqlite:///./data/timeline.sqlite3)]",
        ),
        ("--host", "[env var: TIMELINE_HOST] [default: (127.0.0.1)]"),
        ("--port", "[env var: TIMELINE_PORT] [default: (8000)]"),
        ("--demo", "[default: no-demo]"),
        ("--workers", "[default: 1]"),
        ("--runners", "[default: process]"),
        ("--help", ""),
    ]
    starts = [text.index(f" {option} ") for option, _ in expected]
    assert starts == sorted(starts), text
    for (option, default), start, end in zip(expected, starts, starts[1:], strict=False):
        assert default in text[start:end], (option, text[start:end])


# --- keys -----------------------------------------------------------------------


def test_keys_list_has_a_header_and_creation_times(settings: Settings) -> None:
    runner, url = CliRunner(), database_url(settings)
    before = datetime.now(UTC).replace(microsecond=0)
    made = [runner.invoke(cli, ["keys", "create", name, "--database-url", url]) for name in "ab"]
    assert [m.exit_code for m in made] == [0, 0], [m.output for m in made]
    ids = [re.search(r"key (\S+) \(", m.stderr).group(1) for m in made]  # type: ignore[union-attr]
    revoked = runner.invoke(
        cli, ["keys", "revoke", ids[1], "--reason", "lost", "--database-url", url]
    )
    assert revoked.exit_code == 0, revoked.output

    listed = runner.invoke(cli, ["keys", "list", "--database-url", url])
    assert listed.exit_code == 0, listed.output
    header, *rows = listed.stdout.splitlines()
    assert header.split("\t") == ["id", "name", "created", "state"]
    fields = [row.split("\t") for row in rows]
    assert [(f[0], f[1], f[3]) for f in fields] == [
        (ids[0], "a", "active"),
        (ids[1], "b", "revoked (lost)"),
    ]
    for f in fields:
        created = datetime.strptime(f[2], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert before <= created <= datetime.now(UTC)


def test_keys_create_warns_on_a_duplicate_name(settings: Settings) -> None:
    runner, url = CliRunner(), database_url(settings)
    first = runner.invoke(cli, ["keys", "create", "afp-desk", "--database-url", url])
    assert first.exit_code == 0 and "warning" not in first.stderr
    first_id = re.search(r"key (\S+) \(", first.stderr).group(1)  # type: ignore[union-attr]
    second = runner.invoke(cli, ["keys", "create", "afp-desk", "--database-url", url])
    assert second.exit_code == 0  # still issued: one name for two machines can be meant
    assert second.stdout.strip().startswith("tl_")  # the secret alone on stdout
    assert "warning" not in second.stdout
    assert (
        f"warning: 1 active key(s) already named 'afp-desk' ({first_id}); "
        "revoke any that is no longer used with `timeline keys revoke KEY_ID`"
    ) in second.stderr
    # A revoked namesake is no reason to warn.
    runner.invoke(cli, ["keys", "revoke", first_id, "--database-url", url])
    second_id = re.search(r"key (\S+) \(", second.stderr).group(1)  # type: ignore[union-attr]
    runner.invoke(cli, ["keys", "revoke", second_id, "--database-url", url])
    third = runner.invoke(cli, ["keys", "create", "afp-desk", "--database-url", url])
    assert third.exit_code == 0 and "warning" not in third.stderr


# --- subscribe: the small rules -------------------------------------------------


def test_service_url_comes_from_url_or_host_and_port() -> None:
    settings = Settings(host="10.0.0.5", port=9000)
    assert service_url("http://example.org:81/", settings) == "http://example.org:81"
    assert service_url(None, settings) == "http://10.0.0.5:9000"
    assert service_url(None, Settings(host="0.0.0.0", port=8001)) == "http://127.0.0.1:8001"
    assert service_url(None, Settings(host="::1", port=8002)) == "http://[::1]:8002"


def test_error_text_is_text() -> None:
    assert error_text(401, b'{"detail":"missing API key"}') == "HTTP 401: missing API key"
    body = b'{"detail":[{"field":"view","msg":"Input should be \'timeline\'"}]}'
    assert error_text(422, body) == "HTTP 422: view: Input should be 'timeline'"
    assert error_text(502, "Bad gateway \u00e9".encode()) == "HTTP 502: Bad gateway \u00e9"


# --- subscribe against a served process -----------------------------------------


def incident(kind: str, country: str, actor: str, day: int) -> dict[str, Any]:
    return {
        "kind": kind,
        "when": f"2024-01-{day:02d}",
        "places": [{"name": "somewhere", "country": country}],
        "actors": [{"name": actor, "role": "perpetrator"}],
        "source": {"outlet": "AFP", "language": "fr"},
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    folder = tmp_path_factory.mktemp("cli")
    env = {
        "TIMELINE_DATABASE_URL": f"sqlite:///{folder}/timeline.sqlite3",
        "TIMELINE_READ_KEYS_REQUIRED": "true",
        "TIMELINE_SSE_HEARTBEAT_SECONDS": "0.5",
    }
    process = Process(["serve"], env, free_port())
    with running(process):
        yield process


def subscribe(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TIMELINE_")}
    return subprocess.run(
        [*TIMELINE, "subscribe", *args],
        cwd=ROOT,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def days(done: subprocess.CompletedProcess[str]) -> list[str]:
    """The day of each incident the printed messages carry, sorted."""
    assert done.returncode == 0, done.stderr
    messages = [json.loads(line) for line in done.stdout.splitlines()]
    return sorted(c["doc"]["when"]["earliest"] for m in messages for c in m["changes"])


def caught_up(server: Process, filed: list[int]) -> None:
    """Wait until the views hold `filed`: a subscription from before them then gets
    them all in its first (coalesced) message."""
    answer = httpx.get(
        f"{server.url}/timeline",
        params={"min_position": max(filed), "limit": 1},
        headers={"Authorization": f"Bearer {server.token}"},
    )
    assert answer.status_code == 200, answer.text


def test_subscribe_filters_by_kind_and_country(server: Process) -> None:
    token = server.token
    filed = file(
        server.url,
        [
            incident("attack", "SY", "groupe A", 3),
            incident("strike", "IQ", "groupe A", 4),
            incident("strike", "SY", "groupe A", 5),
        ],
    )
    caught_up(server, filed)
    got = subscribe(
        "timeline", "--after", "0", "--kind", "strike", "--country", "sy", "--count", "1",
        "--url", server.url, "--key", token,
    )  # fmt: skip
    assert days(got) == ["2024-01-05"]


def test_subscribe_filters_by_means(server: Process) -> None:
    filed = file(
        server.url,
        [
            {**incident("attack", "JO", "groupe M", 8), "means": ["drone", "rocket"]},
            {**incident("attack", "JO", "groupe M", 9), "means": ["rocket"]},
        ],
    )
    caught_up(server, filed)
    got = subscribe(
        "timeline", "--after", "0", "--means", "drone", "--means", "mortar", "--count", "1",
        "--url", server.url, "--key", server.token,
    )  # fmt: skip
    assert days(got) == ["2024-01-08"]
    refused = subscribe("timeline", "--means", "drones", "--url", server.url, "--key", server.token)
    assert refused.returncode == 1
    assert "'drones' is not a means" in refused.stderr


def test_subscribe_filters_by_actor_with_and_without_rollup(server: Process) -> None:
    token = server.token
    parent = httpx.post(
        f"{server.url}/actors", json={"name": "Parent Corps"}, headers=auth(server.url)
    ).json()
    child = httpx.post(
        f"{server.url}/actors",
        json={"name": "Child Unit", "parent_id": parent["id"]},
        headers=auth(server.url),
    )
    assert child.status_code == 201, child.text
    filed = file(
        server.url,
        [
            incident("attack", "IQ", "somebody else", 10),
            incident("attack", "IQ", "Child Unit", 11),
            incident("attack", "IQ", "Parent Corps", 12),
        ],
    )
    caught_up(server, filed)
    common = ["timeline", "--after", "0", "--count", "1", "--url", server.url, "--key", token]
    assert days(subscribe(*common, "--actor", "Parent Corps")) == ["2024-01-12"]
    rolled_up = subscribe(*common, "--actor", "Parent Corps", "--rollup")
    assert days(rolled_up) == ["2024-01-11", "2024-01-12"]


def test_subscribe_finds_the_server_from_host_and_port_and_reads_the_key_from_env(
    server: Process,
) -> None:
    filed = file(server.url, [incident("attack", "JO", "groupe B", 20)])
    env = {
        "TIMELINE_HOST": "127.0.0.1",
        "TIMELINE_PORT": str(server.port),
        "TIMELINE_API_KEY": server.token,
    }
    got = subscribe("timeline", "--after", str(filed[0] - 1), "--count", "1", env=env)
    assert days(got) == ["2024-01-20"]


def test_subscribe_without_the_read_key_says_why_as_text(server: Process) -> None:
    refused = subscribe("timeline", "--after", "0", "--url", server.url)
    assert refused.returncode == 1
    assert refused.stdout == ""
    assert refused.stderr.strip() == (
        f"{server.url}/subscribe/timeline: "
        "HTTP 401: missing API key: send Authorization: Bearer <key>"
    )
    unknown = subscribe("nope", "--url", server.url, "--key", server.token)
    assert unknown.returncode == 1
    assert unknown.stderr.startswith(f"{server.url}/subscribe/nope: HTTP 422: view: ")
    assert "b'" not in unknown.stderr and 'b"' not in unknown.stderr


def test_subscribe_rollup_needs_an_actor() -> None:
    refused = CliRunner().invoke(cli, ["subscribe", "timeline", "--rollup"])
    assert refused.exit_code == 2
    assert "--rollup includes the actors within --actor: give --actor too" in refused.stderr


def test_subscribe_stops_when_it_never_connected() -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    failed = subscribe("timeline", "--url", nobody)
    assert failed.returncode == 1
    assert failed.stderr.startswith(f"cannot reach the service at {nobody} (")
    assert "Pass --url or set TIMELINE_HOST and TIMELINE_PORT." in failed.stderr
    env = {"TIMELINE_PORT": nobody.rsplit(":", 1)[1]}
    from_env = subscribe("timeline", env=env)
    assert from_env.returncode == 1
    assert from_env.stderr.startswith(f"cannot reach the service at {nobody} (")
