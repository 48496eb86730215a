"""Full-text search over report versions as of a position, with the timeline's filters.

A query's words are matched in the text each report version had at the asked
position (`projections/search_index.py`). Actor aliases are resolved here, at
query time, as names stood at that position: a run of query words that is an
actor's name also matches the actor's other names, so no alias added later
rewrites what was indexed, and "PMF" as of before that alias existed finds only
"PMF".
"""

from __future__ import annotations

from typing import Any

import orjson

from domain.values import normalise_name
from projections import search_text
from projections.database import Cursor
from projections.paging import BadCursorError, decode_cursor, encode_cursor
from projections.reading import fetch_in
from projections.search_text import Term
from projections.timeline_view import TimelineView
from projections.versioned import valid_at


def decode_search_cursor(cursor: str) -> tuple[int, float, str]:
    """(position, rank, report) where a page ended; BadCursorError if not ours."""
    position, rank, key = decode_cursor(cursor, 3)
    try:
        return int(position), float(rank), key
    except ValueError as error:
        raise BadCursorError(cursor) from error


class SearchView(TimelineView):
    name = "search"

    def actor_names(
        self, cursor: Cursor, as_of: int | None, words: list[str]
    ) -> dict[str, tuple[str, list[str]]]:
        """Each run of query words that is an actor's name at `as_of`: (actor id,
        the actor's name and aliases then)."""
        runs = {
            run: normalise_name(" ".join(search_text.words_of(run)))
            for run in search_text.name_candidates(words)
        }
        owners = {
            row["key"]: row["actor"]
            for row in fetch_in(self.names, cursor, as_of, ("key", "actor"), "key", runs.values())
        }
        actors = {
            row["key"]: orjson.loads(row["doc"])
            for row in fetch_in(self.actors, cursor, as_of, ("key", "doc"), "key", owners.values())
        }
        found = {}
        for run, norm in runs.items():
            actor = actors.get(owners.get(norm, ""))
            if actor:
                names = [actor["name"], *(alias["name"] for alias in actor["aliases"])]
                found[run] = (actor["id"], names)
        return found

    def search(
        self,
        cursor: Cursor,
        as_of: int | None,
        words: list[str],
        *,
        filters: dict[str, Any],
        after: tuple[float, str] | None = None,
        limit: int = 20,
    ) -> dict[str, Any]:
        found = search_text.terms(words, self.actor_names(cursor, as_of, words))
        where, params = self.incident_filter(as_of, **filters)
        rows = self._matches(cursor, as_of, found, where, params, after, limit + 1)
        page, more = rows[:limit], len(rows) > limit
        docs = {
            row["key"]: orjson.loads(row["doc"])
            for row in fetch_in(
                self.gen.reports, cursor, as_of, ("key", "doc"), "key", [r["key"] for r in page]
            )
        }
        results = [_result(row, docs[row["key"]], found) for row in page]
        position = as_of if as_of is not None else self.gen.tracked(cursor)
        next_cursor = None
        if more and page:
            last = page[-1]
            next_cursor = encode_cursor([str(position), repr(float(last["rank"])), last["key"]])
        return {
            "terms": [
                {"text": t.text, "actor": t.actor, "phrases": [" ".join(p) for p in t.phrases]}
                for t in found
            ],
            "results": results,
            "next": next_cursor,
        }

    def _matches(
        self,
        cursor: Cursor,
        as_of: int | None,
        found: list[Term],
        where: list[str],
        params: list[Any],
        after: tuple[float, str] | None,
        limit: int,
    ) -> list[Any]:
        """The matching versions valid at `as_of` (key, incident, rank), best first."""
        validity, validity_args = valid_at(as_of)
        incidents = ""
        if where:
            incident_validity, incident_args = valid_at(as_of)
            incidents = (
                f" AND s.incident IN (SELECT key FROM {self.incidents.sql} "
                f"WHERE {incident_validity} AND {' AND '.join(where)})"
            )
            incident_params = [*incident_args, *params]
        else:
            incident_params = []
        table = self.gen.search
        if self.db.dialect == "sqlite":
            fts = table.fts
            # Not FTS5's bm25: it weighs a match against the whole index, rows of
            # later positions included, so a write between two pages would move
            # results across the page boundary. A score of the version alone
            # (fewer words holding every term rank higher) keeps pages exact.
            inner = (
                "SELECT s.key AS key, s.incident AS incident, 1.0 / (1 + s.size) AS rank "
                f"FROM {fts} CROSS JOIN {table.sql} s ON s.rowid = {fts}.rowid "
                f"WHERE {fts} MATCH %s AND {validity}{incidents}"
            )
            args = [search_text.fts5_match(found), *validity_args, *incident_params]
        else:
            query, query_args = search_text.tsquery_sql(found, table.pg_configs)
            inner = (
                "SELECT s.key AS key, s.incident AS incident, "
                "ts_rank(s.search, q.query)::float8 AS rank "
                f"FROM {table.sql} s, (SELECT {query} AS query) q "
                f"WHERE s.search @@ q.query AND {validity}{incidents}"
            )
            args = [*query_args, *validity_args, *incident_params]
        sql = f"SELECT key, incident, rank FROM ({inner}) m"
        if after is not None:
            sql += " WHERE (rank < %s OR (rank = %s AND key > %s))"
            args += [after[0], after[0], after[1]]
        sql += " ORDER BY rank DESC, key LIMIT %s"
        cursor.execute(sql, [*args, limit])
        return cursor.fetchall()


def _result(row: Any, report: dict[str, Any], found: list[Term]) -> dict[str, Any]:
    content = report["content"]
    source = content["source"]
    return {
        "report": report["id"],
        "incident": row["incident"],
        "rank": round(float(row["rank"]), 6),
        "kind": content["kind"],
        "when": content["when"],
        "source": {
            "outlet": source["outlet"],
            "speaker": source.get("speaker"),
            "anonymous": source.get("anonymous", False),
            "language": source.get("language"),
        },
        "retracted": report["retracted"],
        "corrections": len(report["corrections"]),
        "snippets": search_text.snippets(content, found),
    }
