"""Importing ACLED and UCDP GED CSV files: rows to reports, re-imports to corrections.

Streaming: rows are read one at a time and written in batches of `BATCH`, so
memory stays flat however long the file. Unless bad rows may be skipped, a first
pass checks every row and a second writes: a file with a bad row writes nothing.

Each batch: (1) every actor name is looked up in the registry, and a name nobody
registered is registered with the category the row gives it; (2) the reports
are filed under their dataset keys (`acled:KEN7182`): a row filed before with
the same content writes nothing; (3) a row whose key was filed with other
content becomes a `Report.Corrected` of the fields that changed.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, TextIO

import orjson

from domain.application import BatchConflictError, TimelineApplication
from domain.datasets import acled, ucdp
from domain.datasets.common import MappedRow, Row, RowError
from domain.datasets.revision import (
    changed_fields,
    correction_key,
    correction_reason,
    retraction_reason,
    revised_at,
)
from domain.errors import UnknownReportError
from domain.reports import content_digest, report_id_for_key
from service.storage import LogIndex

BATCH = 1_000
MAX_PROBLEMS = 1_000  # reported in full; beyond, only counted


@dataclass(frozen=True)
class Format:
    name: str
    dataset: str
    required: tuple[str, ...]
    map_row: Callable[[Row], MappedRow]


FORMATS = {
    "acled": Format("acled", acled.DATASET, acled.REQUIRED_COLUMNS, acled.map_row),
    "ucdp": Format("ucdp", ucdp.DATASET, ucdp.REQUIRED_COLUMNS, ucdp.map_row),
}

Opener = Callable[[], AbstractContextManager[TextIO]]
Progress = Callable[[str, int], None]  # (phase: "checked" or "imported", rows)


@dataclass(frozen=True)
class Problem:
    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"

    def as_detail(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "field": self.column or "row",
            "msg": self.message,
            "type": "value_error",
        }


@dataclass
class Outcome:
    rows: int = 0
    filed: int = 0
    corrected: int = 0
    unchanged: int = 0
    retracted: int = 0
    not_found: int = 0  # deleted rows never imported
    actors_registered: int = 0
    bad_rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    written: bool = False  # False when bad rows stopped the import

    @property
    def events(self) -> int:
        return self.filed + self.corrected + self.retracted + self.actors_registered

    def add_problem(self, problem: Problem) -> None:
        self.bad_rows += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)

    def as_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "events": self.events,
            "filed": self.filed,
            "corrected": self.corrected,
            "unchanged": self.unchanged,
            "retracted": self.retracted,
            "not_found": self.not_found,
            "actors_registered": self.actors_registered,
            "bad_rows": self.bad_rows,
            "problems": [p.as_detail() for p in self.problems],
        }


class HeaderError(ValueError):
    """The file is not the format asked for: nothing can be read."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def read_rows(text: TextIO, required: tuple[str, ...]) -> Iterator[tuple[int, Row | Problem]]:
    """(line, row) for every record, its first physical line numbering it; a row
    that cannot be read is a Problem. A second line of HXL hashtags is skipped."""
    reader = csv.reader(text)
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise HeaderError(Problem(1, None, "the file is empty: no header line")) from None
    except (csv.Error, UnicodeDecodeError) as error:
        raise HeaderError(Problem(1, None, f"the header cannot be read: {error}")) from None
    missing = [c for c in required if c not in header]
    if missing:
        raise HeaderError(
            Problem(1, missing[0], f"the header lacks {', '.join(missing)}; is this the format?")
        )
    line = reader.line_num
    first = True
    while True:
        start = line + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as error:
            yield start, Problem(start, None, f"not UTF-8 text: {error.reason}")
            return
        except csv.Error as error:
            yield start, Problem(start, None, f"not valid CSV: {error}")
            return
        line = reader.line_num
        if first and record and all(c.strip().startswith("#") for c in record if c.strip()):
            first = False
            continue  # the HDX copies' HXL tag row
        first = False
        if not any(c.strip() for c in record):
            continue
        if len(record) != len(header):
            yield (
                start,
                Problem(
                    start, None, f"has {len(record)} fields where the header has {len(header)}"
                ),
            )
            continue
        yield start, dict(zip(header, record, strict=True))


def mapped_rows(text: TextIO, fmt: Format, outcome: Outcome) -> Iterator[tuple[int, MappedRow]]:
    for line, row in read_rows(text, fmt.required):
        outcome.rows += 1
        if isinstance(row, Problem):
            outcome.add_problem(row)
            continue
        try:
            yield line, fmt.map_row(row)
        except RowError as error:
            outcome.add_problem(Problem(line, error.column, error.message))


def import_rows(
    timeline: TimelineApplication,
    open_text: Opener,
    format_name: str,
    skip_bad: bool = False,
    written_by: str | None = None,
    progress: Progress | None = None,
) -> Outcome:
    """Import a CSV file in `format_name`; with bad rows and no `skip_bad`, write nothing."""
    fmt = FORMATS[format_name]
    if not skip_bad:
        checked = Outcome()
        with open_text() as text:
            reported = 0
            for _ in mapped_rows(text, fmt, checked):
                if progress and checked.rows - reported >= BATCH:
                    progress("checked", checked.rows - reported)
                    reported = checked.rows
            if progress:
                progress("checked", checked.rows - reported)
        if checked.bad_rows:
            return checked
    outcome = Outcome(written=True)
    writer = _Writer(timeline, fmt, outcome, written_by)
    with open_text() as text:
        batch: list[MappedRow] = []
        keys: set[str] = set()
        for _, row in mapped_rows(text, fmt, outcome):
            if row.key in keys or len(batch) >= BATCH:
                # A key twice in one batch: the second is a revision of the first.
                writer.write(batch)
                if progress:
                    progress("imported", len(batch))
                batch, keys = [], set()
            batch.append(row)
            keys.add(row.key)
        writer.write(batch)
        if progress:
            progress("imported", len(batch))
    return outcome


class _Writer:
    def __init__(
        self, timeline: TimelineApplication, fmt: Format, outcome: Outcome, written_by: str | None
    ) -> None:
        self.timeline, self.fmt, self.outcome, self.written_by = timeline, fmt, outcome, written_by
        self.index = LogIndex(timeline)
        self.known_names: set[str] = set()  # resolved in this import already

    def write(self, batch: list[MappedRow]) -> None:
        if not batch:
            return
        # Rows filed before: the same content writes nothing, other content is
        # a revision. Only the rest are filed (a key filed meanwhile, by a
        # concurrent import, shows as a conflict and is revised too).
        filed = self._filed_digests([row.key for row in batch])
        changed: list[MappedRow] = []
        pending: list[MappedRow] = []
        for row in batch:
            if row.key not in filed:
                pending.append(row)
            elif filed[row.key] == (content_digest(row.content), 1):
                self.outcome.unchanged += 1  # as filed, and never changed since
            else:
                changed.append(row)  # compared with the report as it stands now
        self._register_actors(pending + changed)
        while pending:
            try:
                filings = self.timeline.file_reports(
                    [(row.content, row.key) for row in pending], self.written_by
                )
            except BatchConflictError as error:
                conflicting = {index for index, _ in error.conflicts}
                changed.extend(pending[i] for i in sorted(conflicting))
                pending = [row for i, row in enumerate(pending) if i not in conflicting]
                continue
            created = sum(f.created for f in filings)
            self.outcome.filed += created
            self.outcome.unchanged += len(filings) - created
            break
        for row in changed:
            self._revise(row)

    def _filed_digests(self, keys: list[str]) -> dict[str, tuple[str, int]]:
        """key -> (content digest as filed, latest version) of the keys' reports
        already filed (their `Report.Filed` read raw: rebuilding costs more)."""
        ids = {report_id_for_key(key): key for key in keys}
        mapper = self.timeline.mapper
        found = {}
        for report_id, (state, latest) in self.index.first_states(list(ids)).items():
            if mapper.cipher is not None:
                state = mapper.cipher.decrypt(state)
            if mapper.compressor is not None:
                state = mapper.compressor.decompress(state)
            found[ids[report_id]] = (orjson.loads(state)["digest"], latest)
        return found

    def _register_actors(self, batch: list[MappedRow]) -> None:
        """Names nobody registered are registered with their row's category, all
        of a batch's in one transaction."""
        unknown: dict[str, Any] = {}
        for row in batch:
            for name, category in row.actors:
                if name in self.known_names or name in unknown:
                    continue
                if self.timeline.resolve_actor(name) is None:
                    unknown[name] = category
                else:
                    self.known_names.add(name)
        if unknown:
            self.outcome.actors_registered += self.timeline.register_new_actors(
                list(unknown.items()), self.written_by
            )
            self.known_names.update(unknown)

    def _revise(self, row: MappedRow) -> None:
        report_id = report_id_for_key(row.key)
        report = self.timeline.get_report(report_id)
        changes = changed_fields(report.content, row.content)
        if report.retracted or not changes:
            # A row the dataset deleted stays retracted; an unchanged row writes nothing.
            self.outcome.unchanged += 1
            return
        change = self.timeline.correct_report(
            report_id,
            changes,
            correction_reason(row),
            corrected_by=row.dataset,
            written_by=self.written_by,
            key=correction_key(row, content_digest(row.content), report.version),
            published_at=revised_at(row.revision),
        )
        if change.created:
            self.outcome.corrected += 1
        else:
            self.outcome.unchanged += 1


def retract_deleted(
    timeline: TimelineApplication, open_text: Opener, written_by: str | None = None
) -> Outcome:
    """Retract the reports of the rows in ACLED's deleted list (all or nothing:
    checked whole first, then read again to retract)."""

    def listed(outcome: Outcome) -> Iterator[tuple[str, str]]:
        with open_text() as text:
            for line, row in read_rows(text, acled.DELETED_COLUMNS):
                outcome.rows += 1
                if isinstance(row, Problem):
                    outcome.add_problem(row)
                    continue
                try:
                    yield acled.deleted_row(row)
                except RowError as error:
                    outcome.add_problem(Problem(line, error.column, error.message))

    checked = Outcome()
    for _ in listed(checked):
        pass
    if checked.bad_rows:
        return checked
    outcome = Outcome(written=True)
    for event_id, deleted_at in listed(outcome):
        key = acled.KEY_PREFIX + event_id
        try:
            report = timeline.get_report(report_id_for_key(key))
        except UnknownReportError:
            outcome.not_found += 1
            continue
        if report.retracted:
            outcome.unchanged += 1
            continue
        timeline.retract_report(
            report.id,
            retraction_reason(acled.DATASET, event_id, deleted_at),
            retracted_by=acled.DATASET,
            written_by=written_by,
            key=f"{key}@deleted:{deleted_at}",
            published_at=revised_at(deleted_at),
        )
        outcome.retracted += 1
    return outcome
