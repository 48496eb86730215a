"""`timeline export --format ...` on a real store: the same bytes as GET /export/..."""

from __future__ import annotations

import csv
import io

import orjson
import pytest
from typer.testing import CliRunner

from projections.exports.table import HEADER
from service.cli import app as cli
from service.settings import Settings
from tests.conftest import keyed_client
from tests.seeding import EXAMPLES
from tests.test_cli import database_url

pytestmark = pytest.mark.timeout(180)


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_cli_exports_what_the_api_exports(settings: Settings, tmp_path) -> None:
    url = database_url(settings)
    for name in ("actors.ndjson", "seed-reports.ndjson"):
        code, output = _run("ingest", str(EXAMPLES / name), "--database-url", url)
        assert code == 0, output
    files = {}
    for format_ in ("csv", "hxl", "geojson", "timelinejs"):
        files[format_] = tmp_path / f"out.{format_}"
        code, output = _run(
            "export",
            "--format",
            format_,
            "--country",
            "IQ",
            "-o",
            str(files[format_]),
            "--database-url",
            url,
        )
        assert code == 0, output
        assert "exported 3 incidents" in output  # the seed's Iraqi incidents
    rows = list(csv.DictReader(io.StringIO(files["csv"].read_text("utf-8"), newline="")))
    assert all("IQ" in row["iso2"].split("; ") for row in rows) and len(rows) == 3
    assert tuple(rows[0]) == HEADER
    as_of = tmp_path / "as_of.json"
    code, output = _run(
        "export", "--format", "timelinejs", "--as-of", "85", "-o", str(as_of), "--database-url", url
    )
    assert code == 0, output
    # position 85: 80 actor events, then five reports, all of the strikes
    assert len(orjson.loads(as_of.read_bytes())["events"]) == 1

    with keyed_client(settings) as client:
        paths = {
            "csv": "incidents.csv",
            "hxl": "incidents.hxl.csv",
            "geojson": "incidents.geojson",
            "timelinejs": "incidents.timelinejs.json",
        }
        for format_, path in paths.items():
            answer = client.get(f"/export/{path}", params={"country": "IQ"})
            assert answer.status_code == 200, answer.text
            assert answer.content == files[format_].read_bytes(), format_
        answer = client.get("/export/incidents.timelinejs.json", params={"as_of": 85})
        assert answer.content == as_of.read_bytes()


def test_cli_refuses_what_it_does_not_understand(sqlite_settings: Settings) -> None:
    url = sqlite_settings.database_url
    code, output = _run("ingest", str(EXAMPLES / "actors.ndjson"), "--database-url", url)
    assert code == 0, output
    refusals = [
        (["--format", "kml"], 2, "--format must be one of log, csv, hxl, geojson, timelinejs"),
        (["--format", "csv", "--country", "Iraq"], 2, "write IQ"),
        (["--format", "csv", "--kind", "Strike"], 2, "did you mean 'strike'?"),
        (["--format", "csv", "--from", "2024-2-2"], 2, "--from: '2024-2-2' is not a day"),
        (["--format", "csv", "--as-of", "9999"], 1, "beyond the log's head (80)"),
        (["--format", "csv", "--as-of", "soon"], 1, "--as-of: 'soon' is neither"),
        (["--format", "csv", "--actor", "Nobody"], 1, "--actor: no actor is named 'Nobody'"),
        (["--country", "IQ"], 2, "--country: only with --format"),
    ]
    for args, status, message in refusals:
        code, output = _run("export", *args, "--database-url", url)
        assert (code, message in output) == (status, True), (args, output)
