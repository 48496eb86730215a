"""Applying the fold to a generation: one projector, two ways of keeping rows.

`Projector` turns each event into row changes with the pure functions of
`fold` and `derive`. Where the rows live is the driver's choice:

- `SqlRows` (the incremental driver): current rows are read from and written
  to the generation's tables inside the batch's transaction;
- `MemoryRows` (the bulk driver, for rebuilds): current rows are kept in
  memory; a version's `valid_to` is set in memory when its key's next version
  is emitted, and rows are written in large `executemany` batches, so that no
  row is ever looked up in, or updated through, the database.

Both make exactly the same rows (a property test holds them to it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from domain.values import normalise_name
from projections import derive, duplicates, fold, history_counts, search_text
from projections.database import Cursor
from projections.generation import Generation, utc_text
from projections.history_counts import Appearance
from projections.json_sql import JsonSql
from projections.log_reader import LoggedEvent
from projections.members import descendants, members
from projections.merge import incident_core, incident_of, week_of
from projections.versioned import VersionedTable, doc_text


def recorded_text(timestamp: str) -> str:
    return utc_text(datetime.fromisoformat(timestamp))


class Projector:
    """Folds events, in log order, into the rows of one generation."""

    def __init__(self, gen: Generation, rows: Any) -> None:
        self.gen, self.rows = gen, rows
        # Names resolve the same way until the next actor event.
        self._resolved: dict[tuple[str, str | None], dict[str, Any]] = {}
        self._ancestors: dict[str, list[str]] = {}  # likewise, until the next actor event
        self._stems = gen.db.dialect == "sqlite"  # PostgreSQL stems in its own index

    def apply(self, event: LoggedEvent) -> None:
        self.rows.record_time(event.position, recorded_text(event.recorded_at))
        if event.type in fold.REPORT_EVENTS:
            self._report(event)
        elif event.type in fold.ACTOR_EVENTS:
            self._actor(event)
        elif event.type == fold.DECISION_EVENT:
            self._decision(event)

    # Reports ----------------------------------------------------------------------------

    def _report(self, event: LoggedEvent) -> None:
        rows, position = self.rows, event.position
        before = rows.report(event.originator_id)
        after = fold.report_after(before, event)
        if after is None:  # pragma: no cover - a report's events come in order
            return
        self._report_changed(before, after, position)

    def _report_changed(
        self, before: dict[str, Any] | None, after: dict[str, Any], position: int
    ) -> None:
        rows = self.rows
        new = before is None  # its first event: nothing of it to look up or replace
        touched = sorted({incident_of(doc) for doc in (before, after) if doc})
        # Only this report's appearances change: the others' are read once.
        others = {i: rows.incident_appearances(i) for i in touched}
        shares = history_counts.combined(
            history_counts.incident_share(others[i], self._ancestry) for i in touched
        )
        columns = (incident_of(after), after["published"])
        rows.put(self.gen.reports, after["id"], after, position, columns, new=new)
        rows.set_mentions(after["id"], fold.mention_tokens(after), new)
        # A retraction (or a link) leaves the text as it was: no new version then.
        self._search(after, position, new)
        for incident in touched:
            self._incident(incident, position)
        self._tally(after, position)
        mine = self._appearances(after, position, new)
        for incident in touched:
            kept = [a for a in others[incident] if a.report != after["id"]]
            others[incident] = kept + mine if incident == incident_of(after) else kept
        self._recount(shares, self._shares(touched, others), position)

    def _search(self, report: dict[str, Any], position: int, new: bool) -> None:
        # The incident is in the doc too: rows are compared by their doc alone.
        incident = incident_of(report)
        doc = {**search_text.document(report["content"], self._stems), "incident": incident}
        values = (incident, doc["n"])
        self.rows.put(self.gen.search, report["id"], doc, position, values, new=new)

    def _incident(self, incident: str, position: int, decided: bool = False) -> None:
        gen, rows = self.gen, self.rows
        reports = rows.reports_in(incident)
        current_tags = rows.tag_keys(incident)
        if not reports:  # every report moved away by corrections
            rows.remove(gen.incidents, incident, position)
            for key in current_tags.values():
                rows.remove(gen.tags, key, position)
            before = rows.attack(incident)
            rows.remove(gen.attacks, incident, position)
            self._count(self._contributions(before, -1), position)
            self._candidates(incident, None, position)
            return
        entry = incident_core(incident, reports, self.resolve)
        doc, values = derive.incident_row(entry)
        rows.put(gen.incidents, incident, doc, position, values)
        wanted = derive.incident_tags(entry)
        for tag, key in current_tags.items():
            if tag not in wanted:
                rows.remove(gen.tags, key, position)
        for tag in sorted(wanted - set(current_tags)):
            rows.put(gen.tags, f"{incident}|{tag}", {"tag": tag}, position, (incident, tag))
        attack = derive.attack(entry)
        before = rows.attack(incident)
        if attack is None:
            rows.remove(gen.attacks, incident, position)
        else:
            values = (attack["day"], attack["when"]["latest"])
            rows.put(gen.attacks, incident, attack, position, values)
        self._count(self._contributions(before, -1) + self._contributions(attack, 1), position)
        self._candidates(incident, entry, position, force=decided)

    # Decisions and likely duplicates ----------------------------------------------------

    def _decision(self, event: LoggedEvent) -> None:
        """A link or unlink moves a report between incidents, as a correction of its
        incident key would; a "distinct" drops the pair from the candidates."""
        state = event.state
        if state["action"] == "distinct":
            first, second = sorted(state["incidents"])
            key = duplicates.pair_key(first, second)
            self.rows.put(self.gen.distinct, key, fold.decision_doc(event), event.position)
            for incident in (first, second):
                self._incident(incident, event.position, decided=True)
            return
        before = self.rows.report(state["report"])
        if before is not None:
            self._report_changed(before, fold.linked(before, event), event.position)

    def _candidates(
        self, incident: str, core: dict[str, Any] | None, position: int, force: bool = False
    ) -> None:
        """File the incident under its blocks and keep its candidate pairs up to date.

        Its pairs change only when what it is compared by changes (or, `force`, a
        pair of it was decided): others' changes update their own pairs."""
        gen, rows = self.gen, self.rows
        found = duplicates.features(core) if core else None
        blocks = duplicates.blocks(found) if found else []
        wanted = {f"{incident}|{block}": block for block in blocks}
        filed = rows.keys_by(gen.dup_blocks, "incident", incident)
        if not filed and not wanted:
            return  # never a candidate, then or now: it has no pairs
        changed = False
        for key in filed:
            if key not in wanted:
                changed |= rows.remove(gen.dup_blocks, key, position)
        for key, block in sorted(wanted.items()):
            values = (block, incident, duplicates.block_scope(block))
            changed |= rows.put(gen.dup_blocks, key, found, position, values)
        if not changed and not force:
            return
        pairs: dict[str, dict[str, Any]] = {}
        if found and blocks:
            # Placeless: everything sharing a week and an actor; else the same
            # country too, or placeless.
            scopes = sorted({duplicates.block_scope(block) for block in blocks})
            placeless = blocks[0].startswith(f"{duplicates.NO_PLACE}|")
            others = (
                rows.blocked(weeks=scopes)
                if placeless
                else rows.blocked(blocks=[*blocks, *(f"{duplicates.NO_PLACE}|{s}" for s in scopes)])
            )
            for other in others:
                key = duplicates.pair_key(incident, other["incident"])
                if key in pairs or other["incident"] == incident:
                    continue
                pair = duplicates.candidate(found, other)
                if pair is not None and not rows.is_distinct(key):
                    pairs[key] = pair
        known = {*rows.keys_by(gen.dup_pairs, "a", incident)}
        known |= {*rows.keys_by(gen.dup_pairs, "b", incident)}
        for key in sorted(known):
            if key not in pairs:
                rows.remove(gen.dup_pairs, key, position)
        for key, pair in sorted(pairs.items()):
            metres = None if pair["km"] is None else round(pair["km"] * 1000)
            values = (*pair["incidents"], metres, 1 if pair["attacks"] else 0, pair["day"])
            rows.put(gen.dup_pairs, key, pair, position, values)

    # Attacks per actor and day ----------------------------------------------------------

    def _ancestry(self, actor_id: str) -> list[str]:
        """The actor and every actor it is within, nearest first (a cycle stops it)."""
        cached = self._ancestors.get(actor_id)
        if cached is not None:
            return cached
        found: list[str] = []
        start = actor_id
        while actor_id and actor_id not in found:
            found.append(actor_id)
            actor = self.rows.actor(actor_id)
            actor_id = actor.get("parent_id") if actor else None
        self._ancestors[start] = found
        return found

    def _contributions(
        self, attack: dict[str, Any] | None, sign: int
    ) -> list[tuple[str, str, int]]:
        """(actor, day, +1 or -1) for every actor the attack counts for: each target
        and every actor a target is within, once."""
        if attack is None:
            return []
        actors: set[str] = set()
        for target in attack["targets"]:
            if not target["key"].startswith("name:"):
                actors.update(self._ancestry(target["key"]))
        return [(actor, attack["day"], sign) for actor in sorted(actors)]

    def _count(self, changes: list[tuple[str, str, int]], position: int) -> None:
        net: dict[tuple[str, str], int] = {}
        for actor, day, sign in changes:
            net[(actor, day)] = net.get((actor, day), 0) + sign
        table = self.gen.attack_days
        for (actor, day), delta in sorted(net.items()):
            if not delta:
                continue
            key = f"{actor}|{day}"
            attacks = self.rows.attack_count(key) + delta
            if attacks:
                doc = {"actor": actor, "day": day, "attacks": attacks}
                self.rows.put(table, key, doc, position, (actor, day, week_of(day), attacks))
            else:
                self.rows.remove(table, key, position)

    def _tally(self, report: dict[str, Any], position: int) -> None:
        gen, rows = self.gen, self.rows
        before = rows.tally(report["id"])
        doc = derive.reported_tally(report, self.resolve)
        if doc is None:
            rows.remove(gen.tallies, report["id"], position)
        else:
            rows.put(gen.tallies, report["id"], doc, position, (doc["speaks_for"],))
        wanted = derive.tally_about(doc) if doc else {}
        for key in derive.tally_about(before) if before else {}:
            if key not in wanted:
                rows.remove(gen.tally_about, key, position)
        for key, columns in sorted(wanted.items()):
            rows.put(gen.tally_about, key, {"columns": columns}, position, columns)

    def _appearances(
        self, report: dict[str, Any], position: int, new: bool = False
    ) -> list[Appearance]:
        gen, rows = self.gen, self.rows
        wanted = derive.appearances(report, self.resolve)
        if not new:  # a new report has no appearances yet
            for key in rows.appearance_keys(report["id"]):
                if key not in wanted:
                    rows.remove(gen.appearances, key, position)
        for key in sorted(wanted):
            doc = wanted[key]
            rows.put(gen.appearances, key, doc, position, derive.appearance_columns(doc), new=new)
        return [
            Appearance(d["actor"], d["report"], d["role"], d["kind"], bool(d["retracted"]))
            for d in wanted.values()
        ]

    # History summaries -------------------------------------------------------------------

    def _shares(
        self, incidents: list[str], known: dict[str, list[Appearance]] | None = None
    ) -> history_counts.Shares:
        """What these incidents add to each actor's history summary: from their
        appearances as rows stand, or as `known`."""
        appearances = known or {i: self.rows.incident_appearances(i) for i in incidents}
        return history_counts.combined(
            history_counts.incident_share(appearances[i], self._ancestry) for i in incidents
        )

    def _recount(
        self, before: history_counts.Shares, after: history_counts.Shares, position: int
    ) -> None:
        table = self.gen.actor_counts
        changed = history_counts.changed_totals(self.rows.actor_totals, before, after)
        for actor, totals in changed.items():
            if totals is None:
                self.rows.remove(table, actor, position)
            else:
                self.rows.put(table, actor, totals, position)

    # Actors -----------------------------------------------------------------------------

    def _actor(self, event: LoggedEvent) -> None:
        self._resolved.clear()
        self._ancestors.clear()
        gen, rows, position = self.gen, self.rows, event.position
        actor_id = event.originator_id
        doc, new_names = fold.actor_after(rows.actor(actor_id), event)
        # Attacks on it, or on an actor within it, now count for other actors: a
        # new parent, or a registration that gives actors already within it one.
        # (An attack that named it by id before it was registered counted for no
        # actor: it is re-resolved below.)
        moved, regrouped, shares = [], [], {}
        if event.type != "Actor.AliasAdded":
            within = rows.within(actor_id)
            if event.type == "Actor.ParentSet" or len(within) > 1:
                moved = rows.attacks_on(sorted(within))
                self._count([c for a in moved for c in self._contributions(a, -1)], position)
                # Its histories now count for other actors too (or no longer).
                regrouped = rows.incidents_naming(sorted(within))
                shares = self._shares(regrouped)
        rows.put(gen.actors, actor_id, doc, position)
        self._ancestors.clear()  # it may have a new parent
        if moved:
            self._count([c for a in moved for c in self._contributions(a, 1)], position)
        if regrouped:
            self._recount(shares, self._shares(regrouped), position)
        changed = set()
        for name in new_names:
            norm = normalise_name(name)
            if rows.put(gen.names, norm, {"actor": actor_id}, position, (actor_id,)):
                changed.add(norm)
        if event.type == "Actor.Registered":
            changed.add(f"id:{actor_id}")  # reports that named it by id before it existed
        if not changed:
            return
        # Reports naming this actor, before or after it was registered.
        docs = [d for d in map(rows.report, rows.reports_naming(sorted(changed))) if d]
        touched = sorted({incident_of(report) for report in docs})
        shares = self._shares(touched)
        for report in docs:
            self._tally(report, position)
            self._appearances(report, position)
        for incident in touched:
            self._incident(incident, position)
        self._recount(shares, self._shares(touched), position)

    def resolve(self, name: str, explicit_id: str | None) -> dict[str, Any]:
        """Which actor a mention means now: its explicit id, else its name's owner."""
        cache_key = (name, explicit_id)
        found = self._resolved.get(cache_key)
        if found is not None:
            return found
        actor_id = explicit_id or self.rows.name_owner(normalise_name(name))
        actor = self.rows.actor(actor_id) if actor_id else None
        if actor:
            found = {
                "key": actor["id"],
                "id": actor["id"],
                "name": actor["name"],
                "category": actor["category"],
            }
        else:
            found = {"key": f"name:{normalise_name(name)}", "id": None, "name": None}
            found["category"] = None
        self._resolved[cache_key] = found
        return found


class SqlRows:
    """Rows read and written in the generation's tables, inside one transaction."""

    def __init__(self, gen: Generation, cursor: Cursor) -> None:
        self.gen, self.cursor = gen, cursor
        self._times: list[tuple[int, str, str]] = []
        self._seen: str | None = None

    def put(
        self,
        table: VersionedTable,
        key: str,
        doc: Any,
        position: int,
        values: Sequence[Any] = (),
        new: bool = False,
    ) -> bool:
        return table.put(self.cursor, key, doc, position, values, new=new)

    def remove(self, table: VersionedTable, key: str, position: int) -> bool:
        return table.remove(self.cursor, key, position)

    def _doc(self, table: VersionedTable, key: str) -> dict[str, Any] | None:
        rows = table.fetch(self.cursor, None, ("doc",), "key = %s", (key,))
        return orjson.loads(rows[0]["doc"]) if rows else None

    def report(self, report_id: str) -> dict[str, Any] | None:
        return self._doc(self.gen.reports, report_id)

    def actor(self, actor_id: str) -> dict[str, Any] | None:
        return self._doc(self.gen.actors, actor_id)

    def name_owner(self, norm: str) -> str | None:
        rows = self.gen.names.fetch(self.cursor, None, ("actor",), "key = %s", (norm,))
        return rows[0]["actor"] if rows else None

    def attack(self, incident: str) -> dict[str, Any] | None:
        return self._doc(self.gen.attacks, incident)

    def tally(self, report_id: str) -> dict[str, Any] | None:
        return self._doc(self.gen.tallies, report_id)

    def attack_count(self, key: str) -> int:
        rows = self.gen.attack_days.fetch(self.cursor, None, ("attacks",), "key = %s", (key,))
        return int(rows[0]["attacks"]) if rows else 0

    def within(self, actor_id: str) -> set[str]:
        return members(self.cursor, self.gen.actors, None, actor_id)

    def attacks_on(self, actor_ids: list[str]) -> list[dict[str, Any]]:
        """The current attacks with a target among `actor_ids` (a parent changed)."""
        on_side, params = JsonSql(self.gen.db.dialect).any_key_in("targets", actor_ids)
        rows = self.gen.attacks.fetch(self.cursor, None, ("doc",), on_side, params, "key")
        return [orjson.loads(row["doc"]) for row in rows]

    def reports_in(self, incident: str) -> list[dict[str, Any]]:
        rows = self.gen.reports.fetch(self.cursor, None, ("doc",), "incident = %s", (incident,))
        return [orjson.loads(row["doc"]) for row in rows]

    def tag_keys(self, incident: str) -> dict[str, str]:
        rows = self.gen.tags.fetch(self.cursor, None, ("key", "tag"), "incident = %s", (incident,))
        return {row["tag"]: row["key"] for row in rows}

    def appearance_keys(self, report_id: str) -> list[str]:
        rows = self.gen.appearances.fetch(self.cursor, None, ("key",), "report = %s", (report_id,))
        return [row["key"] for row in rows]

    def incident_appearances(self, incident: str) -> list[Appearance]:
        gen = self.gen
        self.cursor.execute(
            f"SELECT a.actor, a.report, a.role, a.kind, a.retracted "
            f"FROM {gen.reports.sql} r JOIN {gen.appearances.sql} a ON a.report = r.key "
            "WHERE r.incident = %s AND r.valid_to IS NULL AND a.valid_to IS NULL",
            (incident,),
        )
        columns = ("actor", "report", "role", "kind", "retracted")
        return [
            Appearance(*(row[c] for c in columns[:4]), bool(row["retracted"]))
            for row in self.cursor.fetchall()
        ]

    def incidents_naming(self, actor_ids: list[str]) -> list[str]:
        """The incidents with a current appearance of one of `actor_ids`."""
        marks = ", ".join(["%s"] * len(actor_ids))
        rows = self.gen.appearances.fetch(
            self.cursor, None, ("DISTINCT incident",), f"actor IN ({marks})", actor_ids
        )
        return sorted(row["incident"] for row in rows)

    def actor_totals(self, actor_id: str) -> dict[str, Any] | None:
        return self._doc(self.gen.actor_counts, actor_id)

    def keys_by(self, table: VersionedTable, column: str, value: str) -> list[str]:
        rows = table.fetch(self.cursor, None, ("key",), f"{column} = %s", (value,), "key")
        return [row["key"] for row in rows]

    def blocked(
        self, blocks: Sequence[str] = (), weeks: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        """The features of the incidents filed under `blocks`, or in `weeks`."""
        column, values = ("block", blocks) if blocks else ("week", weeks)
        marks = ", ".join(["%s"] * len(values))
        rows = self.gen.dup_blocks.fetch(
            self.cursor, None, ("doc",), f"{column} IN ({marks})", list(values), "key"
        )
        return [orjson.loads(row["doc"]) for row in rows]

    def is_distinct(self, key: str) -> bool:
        return bool(self.gen.distinct.fetch(self.cursor, None, ("key",), "key = %s", (key,)))

    def set_mentions(self, report_id: str, tokens: list[str], new: bool) -> None:
        cursor, table = self.cursor, self.gen.mentions
        if not new:
            cursor.execute(f"DELETE FROM {table} WHERE report = %s", (report_id,))
        cursor.executemany(
            f"INSERT INTO {table} (name, report) VALUES (%s, %s)",
            [(token, report_id) for token in tokens],
        )

    def reports_naming(self, tokens: list[str]) -> list[str]:
        marks = ", ".join(["%s"] * len(tokens))
        self.cursor.execute(
            f"SELECT DISTINCT report FROM {self.gen.mentions} WHERE name IN ({marks}) "
            "ORDER BY report",
            tokens,
        )
        return [row["report"] for row in self.cursor.fetchall()]

    def record_time(self, position: int, recorded_at: str) -> None:
        if self._seen is None:
            self._seen = self.gen.last_seen(self.cursor)
        self._seen = max(self._seen, recorded_at)
        self._times.append((position, recorded_at, self._seen))

    def flush(self) -> None:
        self.cursor.executemany(
            f"INSERT INTO {self.gen.times} (position, recorded_at, seen_by) VALUES (%s, %s, %s)",
            self._times,
        )
        self._times.clear()


class _Row:
    """A current row in memory; `written` once it is in the database."""

    __slots__ = (
        "digest",
        "doc",
        "dropped",
        "full",
        "key",
        "valid_from",
        "valid_to",
        "values",
        "written",
    )

    def __init__(
        self, key: str, valid_from: int, digest: bytes, full: str, values: tuple[Any, ...]
    ) -> None:
        self.key, self.valid_from, self.values = key, valid_from, values
        self.digest = digest  # what it is compared by
        self.full: str | None = full  # its doc, until it is written
        self.valid_to: int | None = None
        self.written = self.dropped = False
        self.doc: Any = None  # reports' and actors': the fold reads them again


def _digest(text: str) -> bytes:
    # What a current row is compared by: its text is not kept once written.
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


class MemoryRows:
    """Every current row of a fresh generation in memory; new versions written in bulk.

    Every row keeps a digest of its document, to tell an unchanged row from a
    new version; reports, attacks and actors also keep the document itself,
    which the fold reads again.
    """

    def __init__(self, gen: Generation) -> None:
        self.gen = gen
        # Documents the fold reads again: actors as dicts (few); reports, attacks
        # and tallies packed as their JSON (most of the memory a rebuild holds).
        # Blocks' features too: each incident change compares with its whole block.
        self._parsed = {gen.actors.name, gen.actor_counts.name, gen.dup_blocks.name}
        self._packed = {gen.reports.name, gen.attacks.name, gen.tallies.name}
        # Lookups by column: table -> column -> value -> keys.
        self._by: dict[str, dict[str, dict[Any, set[str]]]] = {
            gen.dup_blocks.name: {"block": {}, "week": {}, "incident": {}},
            gen.dup_pairs.name: {"a": {}, "b": {}},
        }
        self._current: dict[str, dict[str, _Row]] = {t.name: {} for t in gen.versioned()}
        self._pending: dict[str, list[_Row]] = {t.name: [] for t in gen.versioned()}
        self._closed: dict[str, list[tuple[int, str, int]]] = {t.name: [] for t in gen.versioned()}
        self._by_incident: dict[str, set[str]] = {}
        self._tags: dict[str, dict[str, str]] = {}
        self._appearances: dict[str, set[str]] = {}
        self._mentions: dict[str, set[str]] = {}
        self._tokens: dict[str, list[str]] = {}
        self._times: list[tuple[int, str, str]] = []
        self._seen = ""

    # Writing ------------------------------------------------------------------------------

    def put(
        self,
        table: VersionedTable,
        key: str,
        doc: Any,
        position: int,
        values: Sequence[Any] = (),
        new: bool = False,
    ) -> bool:
        text = doc_text(doc)
        digest = _digest(text)
        current = self._current[table.name]
        row = current.get(key)
        if row is not None and row.digest == digest:
            return False
        if row is not None:
            self._unindex(table, row)
        if row is not None and row.valid_from == position:
            # Replaced within the same event: no one can have seen the old one.
            row.digest, row.full, row.values = digest, text, tuple(values)
            row.doc = self._keep(table, doc, text)
            self._index(table, row)
            return True
        if row is not None:
            self._close(table, row, position)
        fresh = _Row(key, position, digest, text, tuple(values))
        fresh.doc = self._keep(table, doc, text)
        self._pending[table.name].append(fresh)
        current[key] = fresh
        self._index(table, fresh)
        return True

    def remove(self, table: VersionedTable, key: str, position: int) -> bool:
        row = self._current[table.name].pop(key, None)
        if row is None:
            return False
        self._unindex(table, row)
        if row.valid_from == position:  # never seen: as if it had not been written
            row.dropped = True
        else:
            self._close(table, row, position)
        return True

    def _close(self, table: VersionedTable, row: _Row, position: int) -> None:
        if row.written:
            self._closed[table.name].append((position, row.key, row.valid_from))
        else:
            row.valid_to = position

    def _index(self, table: VersionedTable, row: _Row) -> None:
        gen = self.gen
        if table is gen.reports:
            self._by_incident.setdefault(row.values[0], set()).add(row.key)
        elif table is gen.tags:
            self._tags.setdefault(row.values[0], {})[row.values[1]] = row.key
        elif table is gen.appearances:
            self._appearances.setdefault(row.values[1], set()).add(row.key)
        elif table.name in self._by:
            self._index_by(table, row, add=True)

    def _unindex(self, table: VersionedTable, row: _Row) -> None:
        gen = self.gen
        if table is gen.reports:
            self._by_incident[row.values[0]].discard(row.key)
        elif table is gen.tags:
            self._tags[row.values[0]].pop(row.values[1], None)
        elif table is gen.appearances:
            self._appearances[row.values[1]].discard(row.key)
        elif table.name in self._by:
            self._index_by(table, row, add=False)

    def _index_by(self, table: VersionedTable, row: _Row, add: bool) -> None:
        names = [c.name for c in table.columns]
        for column, index in self._by[table.name].items():
            keys = index.setdefault(row.values[names.index(column)], set())
            if add:
                keys.add(row.key)
            else:
                keys.discard(row.key)

    def set_mentions(self, report_id: str, tokens: list[str], new: bool) -> None:
        for token in self._tokens.get(report_id, ()):
            self._mentions[token].discard(report_id)
        self._tokens[report_id] = tokens
        for token in tokens:
            self._mentions.setdefault(token, set()).add(report_id)

    def record_time(self, position: int, recorded_at: str) -> None:
        self._seen = max(self._seen, recorded_at)
        self._times.append((position, recorded_at, self._seen))

    # Reading ------------------------------------------------------------------------------

    def _keep(self, table: VersionedTable, doc: Any, text: str) -> Any:
        if table.name in self._packed:
            return text.encode()
        return doc if table.name in self._parsed else None

    def _doc(self, table: VersionedTable, key: str) -> dict[str, Any] | None:
        row = self._current[table.name].get(key)
        if row is None:
            return None
        return orjson.loads(row.doc) if table.name in self._packed else row.doc

    def report(self, report_id: str) -> dict[str, Any] | None:
        return self._doc(self.gen.reports, report_id)

    def actor(self, actor_id: str) -> dict[str, Any] | None:
        return self._doc(self.gen.actors, actor_id)

    def name_owner(self, norm: str) -> str | None:
        row = self._current[self.gen.names.name].get(norm)
        return row.values[0] if row else None

    def attack(self, incident: str) -> dict[str, Any] | None:
        return self._doc(self.gen.attacks, incident)

    def tally(self, report_id: str) -> dict[str, Any] | None:
        return self._doc(self.gen.tallies, report_id)

    def attack_count(self, key: str) -> int:
        row = self._current[self.gen.attack_days.name].get(key)
        return row.values[3] if row else 0

    def within(self, actor_id: str) -> set[str]:
        actors = {key: row.doc for key, row in self._current[self.gen.actors.name].items()}
        return descendants(actors, actor_id)

    def attacks_on(self, actor_ids: list[str]) -> list[dict[str, Any]]:
        wanted = set(actor_ids)
        attacks = [
            orjson.loads(row.doc) for _, row in sorted(self._current[self.gen.attacks.name].items())
        ]
        return [a for a in attacks if any(t["key"] in wanted for t in a["targets"])]

    def reports_in(self, incident: str) -> list[dict[str, Any]]:
        current = self._current[self.gen.reports.name]
        return [orjson.loads(current[key].doc) for key in self._by_incident.get(incident, ())]

    def tag_keys(self, incident: str) -> dict[str, str]:
        return dict(self._tags.get(incident, {}))

    def appearance_keys(self, report_id: str) -> list[str]:
        return sorted(self._appearances.get(report_id, ()))

    def incident_appearances(self, incident: str) -> list[Appearance]:
        current = self._current[self.gen.appearances.name]
        found = []
        for report in self._by_incident.get(incident, ()):
            for key in self._appearances.get(report, ()):
                actor, report_id, _, _, role, kind, retracted = current[key].values
                found.append(Appearance(actor, report_id, role, kind, bool(retracted)))
        return found

    def incidents_naming(self, actor_ids: list[str]) -> list[str]:
        # A scan, as for `attacks_on`: only an actor's new parent (rare) asks.
        wanted = set(actor_ids)
        current = self._current[self.gen.appearances.name].values()
        return sorted({row.values[3] for row in current if row.values[0] in wanted})

    def actor_totals(self, actor_id: str) -> dict[str, Any] | None:
        return self._doc(self.gen.actor_counts, actor_id)

    def keys_by(self, table: VersionedTable, column: str, value: str) -> list[str]:
        return sorted(self._by[table.name][column].get(value, ()))

    def blocked(
        self, blocks: Sequence[str] = (), weeks: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        column, values = ("block", blocks) if blocks else ("week", weeks)
        index = self._by[self.gen.dup_blocks.name][column]
        keys = sorted({key for value in values for key in index.get(value, ())})
        return [self._doc(self.gen.dup_blocks, key) for key in keys]  # type: ignore[misc]

    def is_distinct(self, key: str) -> bool:
        return key in self._current[self.gen.distinct.name]

    def reports_naming(self, tokens: list[str]) -> list[str]:
        found: set[str] = set()
        for token in tokens:
            found |= self._mentions.get(token, set())
        return sorted(found)

    # Bulk writes --------------------------------------------------------------------------

    def flush(self, cursor: Cursor) -> None:
        """Write every version emitted since the last flush; close written ones."""
        db = self.gen.db
        for table in self.gen.versioned():
            # Close first: a key has one current row at a time (a unique index).
            db.bulk_close(cursor, table.sql, self._closed[table.name])
            self._closed[table.name] = []
            columns = [
                ("key", "TEXT"),
                ("valid_from", "BIGINT"),
                ("valid_to", "BIGINT"),
                ("doc", "TEXT"),
                *((c.name, c.type) for c in table.columns),
            ]
            pending = self._pending[table.name]
            db.bulk_insert(
                cursor,
                table.sql,
                columns,
                [
                    (r.key, r.valid_from, r.valid_to, r.full, *r.values)
                    for r in pending
                    if not r.dropped
                ],
            )
            for row in pending:
                row.full, row.written = None, True
            self._pending[table.name] = []
        db.bulk_insert(
            cursor,
            self.gen.times,
            [("position", "BIGINT"), ("recorded_at", "TEXT"), ("seen_by", "TEXT")],
            self._times,
        )
        self._times = []

    def write_mentions(self, cursor: Cursor) -> None:
        """The current mentions, once at the end: the incremental driver goes on from them."""
        self.gen.db.bulk_insert(
            cursor,
            self.gen.mentions,
            [("name", "TEXT"), ("report", "TEXT")],
            [(token, report) for report, tokens in self._tokens.items() for token in tokens],
        )
