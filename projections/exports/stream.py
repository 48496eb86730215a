"""Pages of entries framed as one export's bytes, a page at a time.

Each generator takes an iterable of pages (lists of entries) and yields the
bytes of each page as soon as it has it, so an export never holds more than a
page, however large the timeline.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from projections.exports.geojson import incident_feature
from projections.exports.table import HEADER, HXL_TAGS, incident_row
from projections.exports.timelinejs import incident_slide, title_slide

Pages = Iterable[list[dict[str, Any]]]


def paged(
    read_page: Callable[[str | None], tuple[list[dict[str, Any]], str | None]],
) -> Iterator[list[dict[str, Any]]]:
    """Every page `read_page(after)` gives, following its cursor until there is none."""
    after: str | None = None
    while True:
        page, after = read_page(after)
        yield page
        if after is None:
            return


def _csv_lines(rows: Iterable[Iterable[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def csv_stream(pages: Pages, hxl: bool = False) -> Iterator[bytes]:
    """A header line (and with `hxl`, the HXL hashtag line), then a row per entry."""
    yield _csv_lines([HEADER, HXL_TAGS] if hxl else [HEADER])
    for page in pages:
        if page:
            yield _csv_lines(incident_row(entry) for entry in page)


def geojson_stream(pages: Pages) -> Iterator[bytes]:
    """A FeatureCollection; `unlocated` (a foreign member, after the features) counts
    the incidents left out because no source locates them."""
    yield b'{"type":"FeatureCollection","features":['
    first, unlocated = True, 0
    for page in pages:
        chunk = []
        for entry in page:
            feature = incident_feature(entry)
            if feature is None:
                unlocated += 1
                continue
            chunk.append(b"" if first else b",")
            chunk.append(orjson.dumps(feature))
            first = False
        if chunk:
            yield b"".join(chunk)
    yield b'],"unlocated":' + str(unlocated).encode() + b"}"


def timelinejs_stream(pages: Pages, title: dict[str, Any]) -> Iterator[bytes]:
    """TimelineJS 3's JSON: a title slide and one event slide per entry."""
    yield b'{"title":' + orjson.dumps(title) + b',"events":['
    first = True
    for page in pages:
        chunk = []
        for entry in page:
            chunk.append(b"" if first else b",")
            chunk.append(orjson.dumps(incident_slide(entry)))
            first = False
        if chunk:
            yield b"".join(chunk)
    yield b"]}"


@dataclass(frozen=True)
class Format:
    name: str  # the CLI's --format
    filename: str  # the HTTP path's last part
    media_type: str
    encode: Callable[[Pages, int, dict[str, Any]], Iterator[bytes]]


FORMATS = {
    f.name: f
    for f in (
        Format("csv", "incidents.csv", "text/csv; charset=utf-8", lambda p, _, __: csv_stream(p)),
        Format(
            "hxl",
            "incidents.hxl.csv",
            "text/csv; charset=utf-8",
            lambda p, _, __: csv_stream(p, hxl=True),
        ),
        Format(
            "geojson",
            "incidents.geojson",
            "application/geo+json",
            lambda p, _, __: geojson_stream(p),
        ),
        Format(
            "timelinejs",
            "incidents.timelinejs.json",
            "application/json",
            lambda p, position, filters: timelinejs_stream(p, title_slide(position, filters)),
        ),
    )
}
