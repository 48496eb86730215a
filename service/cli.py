"""The `timeline` command: serve, ingest, export, import."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

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
        "--database-url", envvar="TIMELINE_DATABASE_URL", help="sqlite:///PATH or postgresql://..."
    ),
]


@app.command()
def serve(
    database_url: DatabaseOption = None,
    host: Annotated[str | None, typer.Option(help="Bind address")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
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
    changed through the API since); reports carry keys, so none is filed twice."""
    from service.ingest import ingest_local

    return ingest_local(settings, EXAMPLES / "actors.ndjson", keep_registered=True) + ingest_local(
        settings, EXAMPLES / "seed-reports.ndjson"
    )


@app.command()
def ingest(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="JSON or NDJSON reports")
    ],
    database_url: DatabaseOption = None,
    api: Annotated[
        str | None, typer.Option(help="Send through a running service, e.g. http://127.0.0.1:8000")
    ] = None,
    key: Annotated[
        str | None, typer.Option(envvar="TIMELINE_API_KEY", help="API key, with --api")
    ] = None,
) -> None:
    """File reports (or actors, if the file's objects look like actors) from FILE."""
    from service.ingest import IngestError, ingest_http, ingest_local

    try:
        count = ingest_http(api, file, key) if api else ingest_local(_settings(database_url), file)
    except IngestError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{count} new events written")


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

    from projections.runner import VIEWS, rebuild_views
    from service.storage import open_application, open_views

    names = projection or list(VIEWS)
    unknown = [n for n in names if n not in VIEWS]
    if unknown:
        typer.echo(f"unknown projection {unknown[0]!r}; one of {', '.join(VIEWS)}", err=True)
        raise typer.Exit(2)
    settings = _settings(database_url)
    timeline, views = open_application(settings), open_views(settings)
    try:
        started = time.perf_counter()
        # One pass over the log for every view asked for: each event is decoded once.
        generations = rebuild_views(timeline, views, names)
        elapsed = time.perf_counter() - started
        for name, generation in generations.items():
            typer.echo(f"{name}: rebuilt as generation {generation}")
        typer.echo(f"{len(names)} view(s) rebuilt in {elapsed:.2f}s")
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


@app.command()
def subscribe(
    view: Annotated[str, typer.Argument(help="timeline, tally or actor_history")],
    after: Annotated[int | None, typer.Option(help="Start after this log position")] = None,
    api: Annotated[str, typer.Option(help="Service URL")] = "http://127.0.0.1:8000",
    actor: Annotated[str | None, typer.Option(help="Only this actor (id or name)")] = None,
    country: Annotated[str | None, typer.Option(help="Only this ISO country")] = None,
    count: Annotated[int | None, typer.Option(help="Exit after this many messages")] = None,
) -> None:
    """Print view updates as they arrive, one JSON line each; reconnects and resumes."""
    import time

    import httpx
    from httpx_sse import connect_sse

    params = {k: v for k, v in {"actor": actor, "country": country}.items() if v}
    last, printed = after, 0
    while True:
        headers = {"Last-Event-ID": str(last)} if last is not None else {}
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(10, read=None)) as client,
                connect_sse(
                    client, "GET", f"{api}/subscribe/{view}", params=params, headers=headers
                ) as source,
            ):
                if source.response.status_code != 200:
                    typer.echo(
                        f"HTTP {source.response.status_code}: {source.response.read()!r}", err=True
                    )
                    raise typer.Exit(1)
                for event in source.iter_sse():
                    if event.event == "change":
                        typer.echo(event.data)
                        last, printed = int(event.id), printed + 1
                        if count is not None and printed >= count:
                            return
                    elif event.event in ("overflow", "end"):
                        typer.echo(f"{event.event}: resuming after {last}", err=True)
                        break
        except httpx.TransportError as error:
            typer.echo(f"connection lost ({error}); resuming after {last}", err=True)
        time.sleep(1)


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
        key, secret = keyring.issue_key(name)
    finally:
        keyring.close()
    typer.echo(
        f"key {key.id} ({name}) created; send it as Authorization: Bearer <secret>", err=True
    )
    typer.echo(secret)


@keys.command("list")
def keys_list(database_url: DatabaseOption = None) -> None:
    """Every key: id, name, state."""
    from service.storage import open_keyring

    keyring = open_keyring(_settings(database_url))
    try:
        for key in keyring.list_keys():
            state = f"revoked ({key.revoked_reason or 'no reason'})" if key.revoked else "active"
            typer.echo(f"{key.id}\t{key.name}\t{state}")
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


@app.command("export")
def export_log(
    database_url: DatabaseOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default: stdout)")
    ] = None,
) -> None:
    """Write the whole log as NDJSON, exactly as stored (for backup or migration)."""
    from service.migration import export_events

    settings = _settings(database_url)
    if output is None:
        count = export_events(settings, sys.stdout.buffer)
    else:
        with output.open("wb") as stream:
            count = export_events(settings, stream)
    typer.echo(f"exported {count} events", err=True)


@app.command("import")
def import_log(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="NDJSON from `timeline export`")
    ],
    database_url: DatabaseOption = None,
) -> None:
    """Replay an export into an empty store, keeping ids, versions and order."""
    from service.migration import ImportRefusedError, import_events

    try:
        with file.open("rb") as stream:
            count = import_events(_settings(database_url), stream)
    except ImportRefusedError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"imported {count} events", err=True)


if __name__ == "__main__":
    app()
