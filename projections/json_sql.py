"""Reading inside JSON docs in SQL, on SQLite and PostgreSQL.

Queries that count or filter by what is inside a doc do it in the database, so
that the docs themselves are neither sent to Python nor decoded there. Docs are
TEXT on both stores; PostgreSQL reads them as jsonb.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class JsonSql:
    dialect: str  # sqlite | postgres

    def _doc(self, doc: str) -> str:
        return doc if self.dialect == "sqlite" else f"({doc})::jsonb"

    def text(self, doc: str, name: str) -> str:
        """A top-level string field of `doc`, as SQL text (NULL if absent or null)."""
        if self.dialect == "sqlite":
            return f"json_extract({doc}, '$.{name}')"
        return f"({self._doc(doc)} ->> '{name}')"

    def length(self, doc: str, array: str) -> str:
        if self.dialect == "sqlite":
            return f"json_array_length({doc}, '$.{array}')"
        return f"jsonb_array_length({self._doc(doc)} -> '{array}')"

    def any_key_in(self, column: str, count: int) -> str:
        """An object of the array in a Derived JSON column has a `key` among `count`
        parameters."""
        if self.dialect == "sqlite":
            # A text search, 2-3 times faster than json_each, and exact: in SQLite's
            # minified JSON a quote inside a string is escaped, so `key":"<k>"` can
            # only be a member whose name ends in "key" (here only `key`) valued <k>.
            test = f"instr({column}, '\"key\":' || json_quote(?)) > 0"
            return "(" + " OR ".join([test] * count) + ")"
        marks = ", ".join("?" * count)
        return (
            f"EXISTS (SELECT 1 FROM jsonb_array_elements({column}) AS e(v) "
            f"WHERE e.v ->> 'key' IN ({marks}))"
        )

    def is_true(self, doc: str, name: str) -> str:
        """A boolean top-level field of `doc` is true (an SQL condition)."""
        if self.dialect == "sqlite":
            return f"(json_type({doc}, '$.{name}') = 'true')"
        return f"(({self._doc(doc)} -> '{name}') = 'true'::jsonb)"

    def array_is_empty(self, column: str) -> str:
        """A Derived JSON column holds an empty array."""
        if self.dialect == "sqlite":
            return f"json_array_length({column}) = 0"
        return f"jsonb_array_length({column}) = 0"

    def elements(self, doc: str, array: str, alias: str) -> tuple[str, str, str]:
        """A FROM item with one row per element of `doc`'s `array` (none if empty),
        the SQL of an element (for `field` and `number`), and of its index."""
        if self.dialect == "sqlite":
            return f"json_each({doc}, '$.{array}') AS {alias}", f"{alias}.value", f"{alias}.key"
        return (
            f"LATERAL jsonb_array_elements({self._doc(doc)} -> '{array}') "
            f"WITH ORDINALITY AS {alias}(v, n)",
            f"{alias}.v",
            f"{alias}.n",
        )

    def field(self, element: str, name: str) -> str:
        """A string field of an element from `elements`, as SQL text."""
        if self.dialect == "sqlite":
            return f"json_extract({element}, '$.{name}')"
        return f"({element} ->> '{name}')"

    def number(self, element: str, name: str) -> str:
        """A number field of an element from `elements`, as an SQL number."""
        if self.dialect == "sqlite":
            return f"json_extract({element}, '$.{name}')"
        return f"(({element} ->> '{name}')::numeric)"

    def each(self, doc: str, array: str, field: str | None = None) -> tuple[str, str]:
        """A LEFT JOIN over the elements of `doc`'s `array`, and the SQL of one item
        (the element itself, a string, or its `field`). An empty array gives one row
        whose item is NULL."""
        if self.dialect == "sqlite":
            join = f"LEFT JOIN json_each({doc}, '$.{array}') AS e"
            item = "e.value" if field is None else f"json_extract(e.value, '$.{field}')"
            return join, item
        join = (
            f"LEFT JOIN LATERAL jsonb_array_elements({self._doc(doc)} -> '{array}') AS e(v) ON true"
        )
        item = "(e.v #>> '{}')" if field is None else f"(e.v ->> '{field}')"
        return join, item
