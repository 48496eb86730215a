"""One generation of the read side: the facts, once, and the rows every view reads.

All views share one set of tables and one tracked position, so that a report
is stored once, not once per view, and an event is applied once:

- facts: `reports` (a report's document as it stood from each position, and
  the day that version counts from for `reported_by`),
  `actors`, `names` (normalised name -> actor), `mentions` (which reports name
  which tokens; current only, to re-resolve them when a name gains an actor),
  `times` (when each position was recorded);
- timeline: `incidents` (sort and filter keys only) and `tags`;
- tally: `attacks`, `attack_days` (how many attacks each actor, or an actor
  within it, suffered each day: what the tally sums), `tallies` (figures
  sources reported) and `tally_about` (who each is about, with its figures'
  count and its highest credible attack figure);
- actor histories: `appearances`, and `actor_counts` (each actor's summary,
  on its own and with the actors within it);
- likely duplicates (`projections/duplicates.py`): `dup_blocks` (each incident
  under each (country, week, actor) block it falls in, with what it is compared by),
  `dup_pairs` (the candidates found) and `distinct` (pairs analysts decided
  are not the same);
- search: `search` (each version of a report's searchable text, with the
  store's full-text index over it: `projections/search_index.py`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from projections.database import Cursor, ViewDatabase
from projections.search_index import SearchTable, SearchVector
from projections.versioned import Column, Derived, VersionedTable

NAME = "views"  # the read side's row in tl_generations and tl_tracking
# Bump when the tables change (columns, derived columns, indexes relied on):
# stores with another shape then rebuild the read side (runner.create_meta).
# 8: means tags, attacks' and tallies' means, counts per (counted, whose);
# 9: reports.published (reported_by); 10: actor_counts (history summaries as sums);
# 11: likely duplicates (dup_blocks, dup_pairs, distinct) and attacks.latest;
# 12: search (each version of a report's searchable text);
# 13: duplicate blocks by (country, week, actor).
SHAPE = 13

INCIDENT_ORDER = ("earliest", "latest", "key")  # the timeline's order, and its cursor's key
HISTORY_ORDER = ("earliest", "report", "key")  # an actor's history, and its cursor's key


def utc_text(moment: datetime) -> str:
    """Fixed-width UTC text, so that string order is time order on both stores."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Generation:
    """The tables of generation `number`, and its tracking."""

    def __init__(self, db: ViewDatabase, number: int) -> None:
        self.db, self.number = db, number
        prefix = self.prefix = f"tl_g{number}"
        # `published`: the day a version counts from for `reported_by` (fold.filed).
        self.reports = VersionedTable(
            db,
            f"{prefix}_reports",
            (Column("incident", "TEXT"), Column("published", "TEXT")),
            (("incident",),),
        )
        self.actors = VersionedTable(db, f"{prefix}_actors")
        self.names = VersionedTable(
            db, f"{prefix}_names", (Column("actor", "TEXT"),), (("actor",),)
        )
        self.incidents = VersionedTable(
            db,
            f"{prefix}_incidents",
            (
                Column("earliest", "TEXT"),
                Column("latest", "TEXT"),
                Column("week", "TEXT"),
                Column("level", "INTEGER"),
                Column("status", "TEXT"),
                Column("disputed", "INTEGER"),
                Column("responds", "INTEGER"),
            ),
            (("earliest", "latest", "key"), ("week",), ("disputed",), ("responds",)),
            current_orders=(INCIDENT_ORDER,),
        )
        self.tags = VersionedTable(
            db,
            f"{prefix}_tags",
            (Column("incident", "TEXT"), Column("tag", "TEXT")),
            (("tag", "incident"), ("incident",)),
        )
        # Computed by the database on write, so that counting attacks for a side
        # reads a few small columns and parses no doc.
        targets = Derived("targets", "targets", json=True)
        self.attacks = VersionedTable(
            db,
            f"{prefix}_attacks",
            # latest: what finds attacks straddling a tally's start
            (Column("day", "TEXT"), Column("latest", "TEXT")),
            (("day",), ("latest",)),
            derived=(Derived("week", "week"), targets),
            current_orders=(("day", "week", "targets"),),
        )
        # Attacks per (actor, day), counted for the actor and every actor it is
        # within, so that a tally sums at most a row per day, whatever the log's size.
        self.attack_days = VersionedTable(
            db,
            f"{prefix}_attack_days",
            (
                Column("actor", "TEXT"),
                Column("day", "TEXT"),
                Column("week", "TEXT"),
                Column("attacks", "INTEGER"),
            ),
            (("actor", "day"),),
            current_orders=(("actor", "day", "week", "attacks"),),
        )
        self.tallies = VersionedTable(
            db,
            f"{prefix}_tallies",
            (Column("day", "TEXT"),),  # the day it speaks for
            (("day",),),
        )
        # One row per (reported tally, actor it is about, or "*" for no one): the
        # headline's figure and the figures' count, found through an index.
        self.tally_about = VersionedTable(
            db,
            f"{prefix}_tally_about",
            (
                Column("report", "TEXT"),
                Column("about", "TEXT"),
                Column("since", "TEXT"),
                Column("day", "TEXT"),
                Column("figures", "INTEGER"),
                Column("best", "INTEGER"),
            ),
            (("about", "since"), ("report",)),
            current_orders=(("about", "since", "best", "day", "report", "figures"),),
        )
        self.appearances = VersionedTable(
            db,
            f"{prefix}_appearances",
            (
                Column("actor", "TEXT"),
                Column("report", "TEXT"),
                Column("earliest", "TEXT"),
                # What the history's summary counts by, read without the doc.
                Column("incident", "TEXT"),
                Column("role", "TEXT"),
                Column("kind", "TEXT"),
                Column("retracted", "INTEGER"),
            ),
            (("actor", "earliest"), ("report",)),
            current_orders=(("actor", *HISTORY_ORDER),),
        )
        # Each actor's history summary, kept as sums (projections.history_counts),
        # so that a summary reads one row however many appearances it counts.
        self.actor_counts = VersionedTable(db, f"{prefix}_actor_counts")
        # The blocking table: narrow, found by block (or week), never scanned whole.
        self.dup_blocks = VersionedTable(
            db,
            f"{prefix}_dup_blocks",
            (Column("block", "TEXT"), Column("incident", "TEXT"), Column("week", "TEXT")),
            (("block",), ("week",), ("incident",)),
        )
        self.dup_pairs = VersionedTable(
            db,
            f"{prefix}_dup_pairs",
            (
                Column("a", "TEXT"),
                Column("b", "TEXT"),
                Column("metres", "INTEGER"),  # NULL: matched by place name, or no place
                Column("attacks", "INTEGER"),  # 1: both are attacks (the tally's concern)
                Column("day", "TEXT"),  # the earlier of the two attacks' days
            ),
            (("a",), ("b",), ("attacks", "day")),
            current_orders=(("key",),),
        )
        self.distinct = VersionedTable(db, f"{prefix}_distinct")
        schema = getattr(db, "schema", "")
        self.search = SearchTable(
            db,
            f"{prefix}_search",
            (Column("incident", "TEXT"), Column("size", "INTEGER")),
            derived=(SearchVector(schema),) if db.dialect == "postgres" else (),
        )
        self.mentions = db.table(f"{prefix}_mentions")
        self.times = db.table(f"{prefix}_times")

    def versioned(self) -> list[VersionedTable]:
        return [
            self.reports,
            self.actors,
            self.names,
            self.incidents,
            self.tags,
            self.attacks,
            self.attack_days,
            self.tallies,
            self.tally_about,
            self.appearances,
            self.actor_counts,
            self.dup_blocks,
            self.dup_pairs,
            self.distinct,
            self.search,
        ]

    # Tables ---------------------------------------------------------------------------

    def create(self, cursor: Cursor, read_indexes: bool = True) -> None:
        for table in self.versioned():
            table.create(cursor, read_indexes)
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {self.mentions} "
            "(name TEXT NOT NULL, report TEXT NOT NULL, PRIMARY KEY (name, report))"
        )
        # Each report change replaces its mentions: without this index that is a
        # scan of the whole table per event.
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {self.prefix}_mentions_report ON {self.mentions} (report)"
        )
        # `seen_by`: the latest time recorded at or before this position. Times
        # are taken before commit, so a later position can carry an earlier time;
        # "as of an instant" is the last position whose whole prefix was recorded
        # by then, which this running maximum makes one indexed lookup.
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {self.times} "
            "(position BIGINT PRIMARY KEY, recorded_at TEXT NOT NULL, seen_by TEXT NOT NULL)"
        )
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {self.prefix}_times_seen ON {self.times} (seen_by)"
        )

    def create_read_indexes(self, cursor: Cursor) -> None:
        for table in self.versioned():
            table.create_read_indexes(cursor)

    def analyze(self, cursor: Cursor) -> None:
        if self.db.dialect == "postgres":
            for table in self.versioned():
                cursor.execute(f"ANALYZE {table.sql}")

    def drop(self, cursor: Cursor) -> None:
        for table in self.versioned():
            table.drop(cursor)
        cursor.execute(f"DROP TABLE IF EXISTS {self.mentions}")
        cursor.execute(f"DROP TABLE IF EXISTS {self.times}")

    # Tracking ---------------------------------------------------------------------------

    def tracked(self, cursor: Cursor) -> int:
        cursor.execute(
            f"SELECT position FROM {self.db.table('tl_tracking')} "
            "WHERE view = %s AND generation = %s",
            (NAME, self.number),
        )
        row = cursor.fetchone()
        return int(row["position"]) if row else 0

    def track(self, cursor: Cursor, position: int) -> None:
        cursor.execute(
            f"UPDATE {self.db.table('tl_tracking')} SET position = %s "
            "WHERE view = %s AND generation = %s AND position < %s",
            (position, NAME, self.number, position),
        )

    # Reading helpers ---------------------------------------------------------------------

    def last_seen(self, cursor: Cursor) -> str:
        cursor.execute(f"SELECT MAX(seen_by) AS seen FROM {self.times}")
        row = cursor.fetchone()
        return (row["seen"] if row else None) or ""

    def position_at(self, cursor: Cursor, moment: datetime) -> int:
        """The last position such that it, and every position before it, was recorded
        at or before `moment`."""
        cursor.execute(
            f"SELECT MAX(position) AS position FROM {self.times} WHERE seen_by <= %s",
            (utc_text(moment),),
        )
        row = cursor.fetchone()
        return int(row["position"] or 0) if row else 0

    def dump(self, cursor: Cursor) -> dict[str, list[tuple[Any, ...]]]:
        """Every row version of every table, in a stable order (rebuild comparisons)."""
        found = {
            table.name.removeprefix(f"{self.prefix}_"): table.dump(cursor)
            for table in self.versioned()
        }
        cursor.execute(f"SELECT name, report FROM {self.mentions} ORDER BY name, report")
        found["mentions"] = [tuple(dict(row).values()) for row in cursor.fetchall()]
        cursor.execute(f"SELECT * FROM {self.times} ORDER BY position")
        found["times"] = [tuple(dict(row).values()) for row in cursor.fetchall()]
        return found
