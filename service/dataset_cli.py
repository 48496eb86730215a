"""`timeline ingest --format acled|ucdp`: a dataset file into the store, locally or
through a running service, with a progress bar on a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, TextIO

import httpx
import orjson

from service.dataset_import import HeaderError, Outcome, Problem, import_rows, retract_deleted
from service.settings import Settings
from service.storage import open_application

CHUNK = 1024 * 1024


class DatasetImportError(Exception):
    """Nothing was written: the lines say why."""


def _opener(path: Path) -> Callable[[], AbstractContextManager[TextIO]]:
    return lambda: path.open(encoding="utf-8-sig", newline="")


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[str, int], None] | None]:
    """Rich progress bars (rows checked, rows imported, rows per second each),
    on a terminal only."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress, ProgressColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.text import Text

    class RowsPerSecond(ProgressColumn):
        def render(self, task: Any) -> Text:
            return Text(f"{task.speed or 0:,.0f} rows/s")

    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,.0f} rows"),
        RowsPerSecond(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        tasks: dict[str, Any] = {}

        def advance(phase: str, rows: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(f"{label}: {phase}", total=None)
            bar.advance(tasks[phase], rows)

        yield advance


def summary(outcome: Outcome) -> str:
    parts = [
        f"{outcome.rows} rows",
        f"{outcome.filed} filed",
        f"{outcome.corrected} corrected",
        f"{outcome.unchanged} unchanged",
    ]
    if outcome.retracted or outcome.not_found:
        parts += [f"{outcome.retracted} retracted", f"{outcome.not_found} not found"]
    parts.append(f"{outcome.actors_registered} actors registered")
    if outcome.bad_rows:
        parts.append(f"{outcome.bad_rows} bad rows skipped")
    return ", ".join(parts)


def problem_lines(path: Path, outcome: Outcome) -> list[str]:
    lines = [f"{path}:{p}" for p in outcome.problems]
    if outcome.bad_rows > len(outcome.problems):
        lines.append(f"{path}: and {outcome.bad_rows - len(outcome.problems)} more bad rows")
    return lines


def ingest_dataset_local(
    settings: Settings, fmt: str, path: Path | None, deleted: Path | None, skip_bad: bool
) -> list[Outcome]:
    timeline = open_application(settings)
    outcomes = []
    try:
        if path is not None:
            with progress_bar(f"{fmt} {path.name}") as progress:
                outcomes.append(
                    _checked(
                        path,
                        lambda: import_rows(
                            timeline, _opener(path), fmt, skip_bad, progress=progress
                        ),
                    )
                )
        if deleted is not None:
            outcomes.append(_checked(deleted, lambda: retract_deleted(timeline, _opener(deleted))))
    finally:
        timeline.close()
    return outcomes


def _checked(path: Path, run: Callable[[], Outcome]) -> Outcome:
    try:
        outcome = run()
    except HeaderError as error:
        raise DatasetImportError(f"{path}:{error.problem}\nnothing written") from None
    if not outcome.written:
        lines = problem_lines(path, outcome)
        raise DatasetImportError("\n".join([*lines, f"{path}: nothing written (see --skip-bad)"]))
    return outcome


def ingest_dataset_http(
    base_url: str,
    fmt: str,
    path: Path | None,
    deleted: Path | None,
    skip_bad: bool,
    key: str | None,
) -> list[Outcome]:
    """The same through POST /imports, the file streamed in chunks."""
    headers = {"content-type": "text/csv"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    outcomes = []
    with httpx.Client(base_url=base_url, timeout=None, headers=headers) as client:
        for file, is_deleted in ((path, False), (deleted, True)):
            if file is None:
                continue
            params = {
                "format": fmt,
                "skip_bad": str(skip_bad).lower(),
                "deleted": str(is_deleted).lower(),
            }
            with file.open("rb") as body:
                answer = client.post(
                    "/imports", params=params, content=iter(lambda: body.read(CHUNK), b"")
                )
            outcomes.append(_answered(file, answer))
    return outcomes


def _answered(path: Path, answer: httpx.Response) -> Outcome:
    body = orjson.loads(answer.content) if answer.content else {}
    if answer.status_code == 422 and isinstance(body.get("detail"), list):
        lines = [
            f"{path}:line {p.get('line')}, column {p.get('field')}: {p.get('msg')}"
            if "line" in p
            else f"{path}: {p.get('field')}: {p.get('msg')}"
            for p in body["detail"]
        ]
        raise DatasetImportError("\n".join([*lines, f"{path}: nothing written (see --skip-bad)"]))
    if answer.status_code >= 400:
        raise DatasetImportError(f"{path}: HTTP {answer.status_code}: {answer.text}")
    outcome = Outcome(written=True)
    for name in ("rows", "filed", "corrected", "unchanged", "retracted", "not_found"):
        setattr(outcome, name, body[name])
    outcome.actors_registered, outcome.bad_rows = body["actors_registered"], body["bad_rows"]
    outcome.problems = [Problem(p["line"], p["field"], p["msg"]) for p in body["problems"]]
    return outcome
