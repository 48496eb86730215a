"""The full-text index of report versions: one versioned row per version of a
report's searchable text, and the store's own full-text machinery over it.

- SQLite: an FTS5 table (`unicode61 remove_diacritics 2`) without content of
  its own (`content=''`), keyed by the row's rowid and kept by triggers, so
  that both drivers write the plain row and the index follows. Columns: the
  words as written (`w`) and the folded words' French and English stems (`fr`,
  `en`, computed by the fold: FTS5 has no French stemmer).
- PostgreSQL: a STORED generated `tsvector` over the words under three text
  search configurations of the views' schema, each with `unaccent`: simple
  (weight A), French (B) and English (C) stems; a GIN index.

"As of P" filters the row versions (`valid_from <= P < valid_to`) like every
view table, so an excerpt is found by its words as they stood at P.
"""

from __future__ import annotations

from dataclasses import dataclass

from projections.database import Cursor
from projections.search_text import LANGUAGES
from projections.versioned import VersionedTable

PG_CONFIGS = (
    ("simple", "simple", "A"),
    ("french", "french_stem", "B"),
    ("english", "english_stem", "C"),
)


@dataclass(frozen=True)
class SearchTable(VersionedTable):
    @property
    def fts_name(self) -> str:
        return f"{self.name}_fts"

    @property
    def fts(self) -> str:
        return self.db.table(self.fts_name)

    def pg_config(self, name: str) -> str:
        """A text search configuration of the views' schema, by language."""
        return f'"{getattr(self.db, "schema", "public")}".tl_search_{name}'

    @property
    def pg_configs(self) -> list[str]:
        return [self.pg_config(name) for name, _, _ in PG_CONFIGS]

    def create(self, cursor: Cursor, read_indexes: bool = True) -> None:
        if self.db.dialect == "postgres":
            self._create_configs(cursor)
        else:
            columns = ", ".join(("w", *LANGUAGES))
            cursor.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {self.fts} USING fts5({columns}, "
                "content='', tokenize='unicode61 remove_diacritics 2')"
            )
        super().create(cursor, read_indexes)

    def _columns(self, row: str) -> str:
        return ", ".join(f"json_extract({row}.doc, '$.{c}')" for c in ("w", *LANGUAGES))

    def create_read_indexes(self, cursor: Cursor) -> None:
        super().create_read_indexes(cursor)
        if self.db.dialect == "postgres":
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {self.name}_gin ON {self.sql} USING GIN (search)"
            )
            return
        cursor.execute(
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
            (self.name,),
        )
        if cursor.fetchone()["n"]:
            return
        # A bulk build writes its rows before this: index them at once, then let
        # triggers follow every later write.
        names = ", ".join(("w", *LANGUAGES))
        cursor.execute(
            f"INSERT INTO {self.fts} (rowid, {names}) "
            f"SELECT rowid, {self._columns(self.sql)} FROM {self.sql}"
        )
        insert = (
            f"INSERT INTO {self.fts} (rowid, {names}) VALUES (new.rowid, {self._columns('new')});"
        )
        delete = (
            f"INSERT INTO {self.fts} ({self.fts}, rowid, {names}) "
            f"VALUES ('delete', old.rowid, {self._columns('old')});"
        )
        for suffix, when, body in (
            ("ai", "AFTER INSERT", insert),
            ("ad", "AFTER DELETE", delete),
            ("au", "AFTER UPDATE OF doc", delete + insert),
        ):
            cursor.execute(
                f'CREATE TRIGGER IF NOT EXISTS "{self.name}_{suffix}" {when} ON {self.sql} '
                f"BEGIN {body} END"
            )

    def _create_configs(self, cursor: Cursor) -> None:
        """unaccent, and the schema's text search configurations (once per schema)."""
        cursor.execute(
            "SELECT extnamespace::regnamespace::text AS s FROM pg_extension "
            "WHERE extname = 'unaccent'"
        )
        row = cursor.fetchone()
        if row is None:
            # In `public`, not the views' schema: dropping a schema must not take it along.
            cursor.execute("CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public")
            unaccent = "public"
        else:
            unaccent = row["s"]
        schema = getattr(self.db, "schema", "public")
        for name, dictionary, _ in PG_CONFIGS:
            cursor.execute(
                "SELECT 1 AS found FROM pg_ts_config c "
                "JOIN pg_namespace n ON n.oid = c.cfgnamespace "
                "WHERE c.cfgname = %s AND n.nspname = %s",
                (f"tl_search_{name}", schema),
            )
            if cursor.fetchone() is not None:
                continue
            config = self.pg_config(name)
            cursor.execute(f"CREATE TEXT SEARCH CONFIGURATION {config} (COPY = pg_catalog.{name})")
            # Accents off before the stemmer, on the word types that can carry them.
            cursor.execute(
                f"ALTER TEXT SEARCH CONFIGURATION {config} ALTER MAPPING FOR hword, hword_part, "
                f'word WITH "{unaccent}".unaccent, {dictionary}'
            )

    def drop(self, cursor: Cursor) -> None:
        super().drop(cursor)
        if self.db.dialect == "sqlite":
            cursor.execute(f"DROP TABLE IF EXISTS {self.fts}")


@dataclass(frozen=True)
class SearchVector:
    """The generated tsvector column (PostgreSQL): a `Derived` of its own kind."""

    schema: str
    name: str = "search"

    def sql(self, dialect: str) -> str:
        parts = [
            f"setweight(to_tsvector('\"{self.schema}\".tl_search_{config}'::regconfig, "
            f"coalesce(doc::jsonb ->> 'w', '')), '{weight}')"
            for config, _, weight in PG_CONFIGS
        ]
        return f"{self.name} tsvector GENERATED ALWAYS AS ({' || '.join(parts)}) STORED"
