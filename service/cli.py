"""The `timeline` command: serve, ingest, export, import."""

from __future__ import annotations

import sys
from datetime import UTC
from pathlib import Path
from typing import Annotated, Any

import typer

from service.settings import Settings, get_settings

app = typer.Typer(
    help="Event-sourced timeline of reports about armed conflict.", no_args_is_help=True
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _settings(database_url: str | None) -> Settings:
    settings = get_settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    return settings


DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="TIMELINE_DATABASE_URL",
        help="sqlite:///PATH or postgresql://...",
        show_default=Settings.model_fields["database_url"].default,
    ),
]


DEFAULTS = Settings.model_fields


@app.command()
def serve(
    database_url: DatabaseOption = None,
    host: Annotated[
        str | None,
        typer.Option(
            help="Bind address", envvar="TIMELINE_HOST", show_default=DEFAULTS["host"].default
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            help="Port", envvar="TIMELINE_PORT", show_default=str(DEFAULTS["port"].default)
        ),
    ] = None,
    demo: Annotated[bool, typer.Option(help="Load the seed article's reports first")] = False,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
    runners: Annotated[
        str,
        typer.Option(
            help="Where the view runners run: 'process' (a child process, its own core), "
            "'thread' (inside the API process) or 'none' (run `timeline project` yourself)"
        ),
    ] = "process",
) -> None:
    """Run the HTTP service (uvicorn, uvloop, httptools) and its view runners."""
    import os

    import uvicorn

    from service.runner_process import RunnerProcess

    if runners not in ("process", "thread", "none"):
        typer.echo("--runners must be process, thread or none", err=True)
        raise typer.Exit(2)
    settings = _settings(database_url)
    if database_url:
        os.environ["TIMELINE_DATABASE_URL"] = database_url
    if demo:
        loaded = load_examples(settings)
        typer.echo(f"demo data: {loaded} events new", err=True)
    if runners != "thread" or not settings.run_projections:
        os.environ["TIMELINE_RUN_PROJECTIONS"] = "false"
        get_settings.cache_clear()  # the app reads its settings again, with this
    child = RunnerProcess({}) if runners == "process" and settings.run_projections else None
    if child is not None:
        child.start()
    try:
        uvicorn.run(
            "service.main:app",
            host=host or settings.host,
            port=port or settings.port,
            workers=workers,
            loop="uvloop",
            http="httptools",
            log_level="info",
        )
    finally:
        if child is not None:
            child.stop()


def load_examples(settings: Settings) -> int:
    """File the seed's actors and reports; safe to repeat on a store that has grown.

    Actors already registered are left as they are now (aliases added, parents
    changed through the API since); reports carry keys, so none is filed twice, and
    so do the filer's corrections that add the places' coordinates (the source gives
    none), so none is made twice."""
    from service.ingest import ingest_local

    return (
        ingest_local(settings, EXAMPLES / "actors.ndjson", keep_registered=True)
        + ingest_local(settings, EXAMPLES / "seed-reports.ndjson")
        + ingest_local(settings, EXAMPLES / "seed-geocoding.ndjson")
    )


@app.command()
def ingest(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, help="JSON or NDJSON reports, or a --format CSV file"
        ),
    ],
    database_url: DatabaseOption = None,
    api: Annotated[
        str | None, typer.Option(help="Send through a running service, e.g. http://127.0.0.1:8000")
    ] = None,
    key: Annotated[
        str | None, typer.Option(envvar="TIMELINE_API_KEY", help="API key, with --api")
    ] = None,
    format: Annotated[
        str | None,
        typer.Option(
            "--format", help="acled or ucdp: FILE is that dataset's CSV (re-imports correct)"
        ),
    ] = None,
    deleted: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="With --format acled: ACLED's deleted list"),
    ] = None,
    skip_bad: Annotated[
        bool, typer.Option(help="With --format: file the good rows, report the bad ones")
    ] = False,
) -> None:
    """File reports (or actors, if the file's objects look like actors) from FILE."""
    if format is not None:
        _ingest_dataset(format, file, deleted, skip_bad, database_url, api, key)
        return
    from service.ingest import IngestError, ingest_http, ingest_local

    try:
        count = ingest_http(api, file, key) if api else ingest_local(_settings(database_url), file)
    except IngestError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{count} new events written")


def _ingest_dataset(
    fmt: str,
    file: Path,
    deleted: Path | None,
    skip_bad: bool,
    database_url: str | None,
    api: str | None,
    key: str | None,
) -> None:
    from service.dataset_cli import (
        DatasetImportError,
        ingest_dataset_http,
        ingest_dataset_local,
        problem_lines,
        summary,
    )
    from service.dataset_import import FORMATS

    if fmt not in FORMATS:
        typer.echo(f"--format {fmt!r}: use one of {', '.join(FORMATS)}", err=True)
        raise typer.Exit(2)
    if deleted is not None and fmt != "acled":
        typer.echo("--deleted: only ACLED publishes a deleted list", err=True)
        raise typer.Exit(2)
    try:
        if api:
            outcomes = ingest_dataset_http(api, fmt, file, deleted, skip_bad, key)
        else:
            outcomes = ingest_dataset_local(_settings(database_url), fmt, file, deleted, skip_bad)
    except DatasetImportError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    for path, outcome in zip([file, deleted], outcomes, strict=False):
        for line in problem_lines(path, outcome):
            typer.echo(line, err=True)
        typer.echo(f"{path}: {summary(outcome)}")
    typer.echo(f"{sum(o.events for o in outcomes)} new events written")


@app.command()
def replay(
    database_url: DatabaseOption = None,
    projection: Annotated[
        list[str] | None,
        typer.Option("--projection", help="timeline, tally or actor_history (default: all)"),
    ] = None,
) -> None:
    """Rebuild views from the whole log into fresh tables and switch over atomically.

    A running service keeps serving the old tables until the switch.
    """
    import time

    from projections.runner import VIEWS, rebuild
    from service.storage import open_application, open_views

    unknown = [n for n in projection or () if n not in VIEWS]
    if unknown:
        typer.echo(f"unknown projection {unknown[0]!r}; one of {', '.join(VIEWS)}", err=True)
        raise typer.Exit(2)
    settings = _settings(database_url)
    timeline, views = open_application(settings), open_views(settings)
    try:
        started = time.perf_counter()
        # Every view reads one generation: rebuilding one rebuilds them all, in one pass.
        generation = rebuild(timeline, views)
        elapsed = time.perf_counter() - started
        typer.echo(f"{', '.join(VIEWS)}: rebuilt as generation {generation}")
        typer.echo(f"views rebuilt in {elapsed:.2f}s")
    finally:
        views.close()
        timeline.close()


@app.command()
def project(database_url: DatabaseOption = None) -> None:
    """Run the view runners only (no HTTP): one process runs each view, others stand by.

    With several of these on one PostgreSQL, the first holds each view's advisory
    lock and the rest take over within seconds if it dies.
    """
    import signal
    import time

    from projections.runner import Projections
    from service.runner_process import die_with_parent
    from service.storage import open_application, open_views

    # A plain flag: setting a threading.Event from a signal handler can deadlock
    # with the main thread waiting on that same Event.
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda number, _: stopping.append(number))
    signal.signal(signal.SIGINT, lambda number, _: stopping.append(number))
    die_with_parent()  # when started by `timeline serve`
    settings = _settings(database_url)
    timeline, views = open_application(settings), open_views(settings)
    projections = Projections(timeline, views, run=True)
    projections.start()
    typer.echo("view runners started (standing by where another process runs a view)", err=True)
    try:
        while not stopping:
            time.sleep(0.2)
    finally:
        projections.stop()
        views.close()
        timeline.close()


def service_url(url: str | None, settings: Settings) -> str:
    """Where a client finds the service: --url, else TIMELINE_HOST and TIMELINE_PORT."""
    if url:
        return url.rstrip("/")
    # A server bound to every interface is reached on the loopback one.
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "", "::") else settings.host
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


def error_text(status: int, body: bytes) -> str:
    """An error answer as one line of text: the API's `detail`, else the body."""
    import orjson

    text = body.decode("utf-8", errors="replace").strip()
    try:
        detail = orjson.loads(body).get("detail", text)
    except (orjson.JSONDecodeError, AttributeError):
        detail = text
    if isinstance(detail, list):  # [{"field": ..., "msg": ...}], see service/errors.py
        detail = "; ".join(
            f"{item.get('field', '?')}: {item.get('msg', '')}"
            if isinstance(item, dict)
            else str(item)
            for item in detail
        )
    return f"HTTP {status}: {detail}"


@app.command()
def subscribe(
    view: Annotated[
        str, typer.Argument(help="timeline, tally, actor_history, or events (the log itself)")
    ],
    after: Annotated[
        int | None, typer.Option(help="Start after this log position (0: everything)")
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            "--api",
            help="Service URL",
            show_default="http://$TIMELINE_HOST:$TIMELINE_PORT, 127.0.0.1:8000",
        ),
    ] = None,
    actor: Annotated[str | None, typer.Option(help="Only this actor (id or any name)")] = None,
    rollup: Annotated[bool, typer.Option(help="With --actor: the actors within it too")] = False,
    country: Annotated[str | None, typer.Option(help="Only this ISO country (IQ)")] = None,
    kind: Annotated[str | None, typer.Option(help="timeline: only incidents of this kind")] = None,
    means: Annotated[
        list[str] | None,
        typer.Option(help="timeline, tally: only what used one of these means (repeat it)"),
    ] = None,
    event_type: Annotated[
        list[str] | None, typer.Option("--type", help="events: only this event type (repeatable)")
    ] = None,
    report: Annotated[
        str | None, typer.Option(help="events: only this report's (or actor's) events")
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            envvar="TIMELINE_API_KEY", help="API key, if the service has read keys required"
        ),
    ] = None,
    count: Annotated[int | None, typer.Option(help="Exit after this many messages")] = None,
) -> None:
    """Print view updates (or, for `events`, the log's events) as they arrive, one JSON
    line each; reconnects and resumes.

    Exits 1 if the service cannot be reached at first, or answers an error.
    """
    import time

    import httpx
    from httpx_sse import connect_sse

    if rollup and not actor:
        typer.echo("--rollup includes the actors within --actor: give --actor too", err=True)
        raise typer.Exit(2)
    following_log = view == "events"
    misplaced = _misplaced_options(following_log, actor, country, kind or means, event_type, report)
    if misplaced:
        typer.echo(misplaced, err=True)
        raise typer.Exit(2)
    base = service_url(url, get_settings())
    params: dict[str, Any] = {
        k: v
        for k, v in {
            "actor": actor,
            "country": country,
            "kind": kind,
            "means": means,
            "type": event_type,
            "report": report,
        }.items()
        if v
    }
    if rollup:
        params["rollup"] = "true"
    data_event = "event" if following_log else "change"  # the messages that carry data
    auth = {"Authorization": f"Bearer {key}"} if key else {}
    last, printed, connected = after, 0, False
    while True:
        headers = {**auth, **({"Last-Event-ID": str(last)} if last is not None else {})}
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(10, read=None)) as client,
                connect_sse(
                    client, "GET", f"{base}/subscribe/{view}", params=params, headers=headers
                ) as source,
            ):
                status = source.response.status_code
                if status != 200:
                    text = error_text(status, source.response.read())
                    typer.echo(f"{base}/subscribe/{view}: {text}", err=True)
                    raise typer.Exit(1)
                connected = True
                for event in source.iter_sse():
                    if event.event == data_event:
                        typer.echo(event.data)
                        last, printed = int(event.id), printed + 1
                        if count is not None and printed >= count:
                            return
                    elif event.event in ("overflow", "end"):
                        typer.echo(f"{event.event}: resuming after {last}", err=True)
                        break
        except httpx.TransportError as error:
            if not connected:
                typer.echo(
                    f"cannot reach the service at {base} ({error or type(error).__name__}); "
                    "is `timeline serve` running there? Pass --url or set "
                    "TIMELINE_HOST and TIMELINE_PORT.",
                    err=True,
                )
                raise typer.Exit(1) from None
            typer.echo(f"connection lost ({error}); resuming after {last}", err=True)
        time.sleep(1)


def _misplaced_options(
    following_log: bool,
    actor: str | None,
    country: str | None,
    kind: str | None,
    types: list[str] | None,
    report: str | None,
) -> str | None:
    """Which filter was given to the wrong kind of subscription, if any."""
    if following_log and (actor or country or kind):
        return (
            "--actor, --country, --kind and --means filter views; the log takes --type and --report"
        )
    if not following_log and (types or report):
        return "--type and --report filter the log: subscribe to `events`"
    return None


keys = typer.Typer(help="API keys for writes (stored only as hashes).", no_args_is_help=True)
app.add_typer(keys, name="keys")


@keys.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="Who or what uses it, e.g. 'afp-desk'")],
    database_url: DatabaseOption = None,
) -> None:
    """Issue a key; its secret is printed once, on stdout, and never stored."""
    from service.storage import open_keyring

    keyring = open_keyring(_settings(database_url))
    try:
        namesakes = [k for k in keyring.list_keys() if k.name == name and not k.revoked]
        key, secret = keyring.issue_key(name)
    finally:
        keyring.close()
    if namesakes:  # allowed (a key per machine, say), but usually a slip
        typer.echo(
            f"warning: {len(namesakes)} active key(s) already named {name!r} "
            f"({', '.join(str(k.id) for k in namesakes)}); "
            "revoke any that is no longer used with `timeline keys revoke KEY_ID`",
            err=True,
        )
    typer.echo(
        f"key {key.id} ({name}) created; send it as Authorization: Bearer <secret>", err=True
    )
    typer.echo(secret)


def key_rows(keys: list[Any]) -> list[str]:
    """`keys list` output: a header, then one tab-separated line per key, oldest first."""
    rows = ["id\tname\tcreated\tstate"]
    for key in sorted(keys, key=lambda k: k.created_on):
        state = f"revoked ({key.revoked_reason or 'no reason'})" if key.revoked else "active"
        created = key.created_on.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        rows.append(f"{key.id}\t{key.name}\t{created}\t{state}")
    return rows


@keys.command("list")
def keys_list(database_url: DatabaseOption = None) -> None:
    """Every key, oldest first: id, name, creation time (UTC), state."""
    from service.storage import open_keyring

    keyring = open_keyring(_settings(database_url))
    try:
        for row in key_rows(keyring.list_keys()):
            typer.echo(row)
    finally:
        keyring.close()


@keys.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (from `keys list`)")],
    reason: Annotated[str | None, typer.Option(help="Why")] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Revoke a key: it answers 403 from now on."""
    from uuid import UUID

    from domain.errors import UnknownKeyError
    from service.storage import open_keyring

    keyring = open_keyring(_settings(database_url))
    try:
        keyring.revoke_key(UUID(key_id), reason)
    except (UnknownKeyError, ValueError):
        typer.echo(f"no key {key_id}", err=True)
        raise typer.Exit(1) from None
    finally:
        keyring.close()
    typer.echo(f"key {key_id} revoked", err=True)


EXPORT_FORMATS = ("log", "csv", "hxl", "geojson", "timelinejs")


@app.command("export")
def export_log(
    database_url: DatabaseOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default: stdout)")
    ] = None,
    format_: Annotated[
        str,
        typer.Option(
            "--format",
            help="log: the whole log as NDJSON, exactly as stored; csv, hxl, geojson, "
            "timelinejs: the timeline's incidents (README: Exports)",
        ),
    ] = "log",
    start: Annotated[
        str | None, typer.Option("--from", help="Incidents ending on or after (YYYY-MM-DD)")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Incidents starting on or before (YYYY-MM-DD)")
    ] = None,
    country: Annotated[str | None, typer.Option(help="ISO 3166-1 alpha-2, e.g. IQ")] = None,
    actor: Annotated[str | None, typer.Option(help="Actor id or any of its names")] = None,
    kind: Annotated[str | None, typer.Option(help="Report kind present in the incident")] = None,
    min_level: Annotated[int | None, typer.Option(min=0, max=4, help="Lowest level")] = None,
    as_of: Annotated[
        str | None, typer.Option(help="A log position or an ISO 8601 instant, as for /timeline")
    ] = None,
) -> None:
    """Write the log as NDJSON (for backup or migration), or the timeline's incidents
    as CSV, HXL, GeoJSON or TimelineJS, with the filters and as_of of GET /timeline."""
    from service.migration import export_events

    if format_ not in EXPORT_FORMATS:
        typer.echo(f"--format must be one of {', '.join(EXPORT_FORMATS)}", err=True)
        raise typer.Exit(2)
    settings = _settings(database_url)
    asked = {"--from": start, "--to": end, "--country": country, "--actor": actor}
    asked |= {"--kind": kind, "--min-level": min_level, "--as-of": as_of}
    if format_ == "log":
        given = [name for name, value in asked.items() if value is not None]
        if given:
            typer.echo(
                f"{', '.join(given)}: only with --format csv|hxl|geojson|timelinejs; "
                "the log is exported whole",
                err=True,
            )
            raise typer.Exit(2)
        export = lambda stream: export_events(settings, stream)  # noqa: E731
        noun = "events"
    else:
        from service.export_local import ExportRefusedError, export_incidents, filters_from

        try:
            filters = filters_from(start, end, country, actor, kind, min_level)
        except ValueError as error:
            typer.echo(str(error), err=True)
            raise typer.Exit(2) from None

        def export(stream: Any) -> int:
            try:
                return export_incidents(settings, format_, filters, as_of, stream)
            except ExportRefusedError as error:
                typer.echo(str(error), err=True)
                raise typer.Exit(1) from None

        noun = "incidents"
    if output is None:
        count = export(sys.stdout.buffer)
    else:
        with output.open("wb") as stream:
            count = export(stream)
    typer.echo(f"exported {count} {noun}", err=True)


@app.command("import")
def import_log(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="NDJSON from `timeline export`")
    ],
    database_url: DatabaseOption = None,
    merge: Annotated[
        bool,
        typer.Option(
            help="Into a store that is not empty: append the events it does not hold yet. "
            "The store must hold exactly the start of this export (an interrupted import, "
            "or an older export of the same log); anything else is refused."
        ),
    ] = False,
) -> None:
    """Replay an export into an empty store (see --merge), keeping ids, versions and order."""
    from service.migration import ImportRefusedError, import_events

    try:
        with file.open("rb") as stream:
            count = import_events(_settings(database_url), stream, merge=merge)
    except ImportRefusedError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"imported {count} events", err=True)


if __name__ == "__main__":
    app()
