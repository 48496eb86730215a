"""The incremental driver at any batch size equals the bulk driver; `as_of` equals a replay.

Hypothesis generates streams of reports, corrections, retractions, actor
registrations, aliases and parents. They go through the real application into
a real SQLite file or PostgreSQL schema; the views are caught up by the
incremental driver in batches of random sizes, with injected failures
mid-batch, and then compared with fresh bulk rebuilds (in pages of random
sizes): the whole table contents (every row version) for the final state, and
every view's answers for `as_of` at several positions against bulk replays
up to there.
"""

from __future__ import annotations

import contextlib
import uuid
from collections import Counter
from datetime import date, timedelta
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from domain.errors import DomainError
from domain.values import Alias, ReportContent
from projections.generation import Generation
from projections.members import descendants
from projections.projector import Projector
from projections.reading import MERGED
from projections.runner import VIEWS, apply_batch, build, create_meta, current_generation
from projections.search_text import chunks
from projections.search_view import SearchView, decode_search_cursor
from service.settings import Settings
from service.storage import open_application, open_views
from tests import oracle
from tests.conftest import POSTGRES_URL, require_postgres

NAMES = [
    "Centcom",
    "US Central Command",
    "Hachd al-Chaabi",
    "PMF",
    "force Quds",
    "Quds Force",
    "IRGC",
    "United States",
    "soldats américains",
    "Iran",
]
ACTORS = [
    ("United States", "state"),
    ("US forces", "state_force"),
    ("IRGC", "state_force"),
    ("Quds Force", "state_force"),
    ("Hachd al-Chaabi", "state_backed"),
    ("Iran", "state"),
]
INCIDENTS = ["a", "b", "c", None]
KINDS = [
    "attack",
    "strike",
    "casualties",
    "statement",
    "threat",
    "denial",
    "claim_of_responsibility",
    "tally",
]
ROLES = ["perpetrator", "target", "claimant", "denier", "speaker", "affected"]
START = date(2023, 10, 1)


@st.composite
def contents(draw) -> dict[str, Any]:
    earliest = START + timedelta(days=draw(st.integers(0, 150)))
    latest = earliest + timedelta(days=draw(st.integers(0, 10)))
    incident = draw(st.sampled_from(INCIDENTS))
    responds = draw(st.sampled_from(INCIDENTS))
    return {
        "kind": draw(st.sampled_from(KINDS)),
        "when": {
            "earliest": earliest.isoformat(),
            "latest": latest.isoformat(),
            "approximate": draw(st.booleans()),
        },
        "actors": [
            {"name": n, "role": r}
            for n, r in draw(
                st.lists(st.tuples(st.sampled_from(NAMES), st.sampled_from(ROLES)), max_size=3)
            )
        ],
        "counts": [
            {"value": v, "qualifier": q, "counted": c}
            for v, q, c in draw(
                st.lists(
                    st.tuples(
                        st.integers(0, 200),
                        st.sampled_from(["exact", "at_least", "at_most", "about"]),
                        st.sampled_from(["killed", "wounded", "attacks", "sites"]),
                    ),
                    max_size=2,
                )
            )
        ],
        "places": [
            {"name": c, "country": c}
            for c in draw(st.lists(st.sampled_from(["IQ", "SY", "JO"]), max_size=2, unique=True))
        ],
        "source": {"outlet": draw(st.sampled_from(["AFP", "Reuters"])), "language": "fr"},
        "incident_key": incident,
        "responds_to": responds if responds != incident else None,
    }


FILE = st.tuples(st.just("file"), contents())
CORRECT = st.tuples(
    st.just("correct"),
    st.integers(0, 50),
    contents(),
    st.sets(st.sampled_from(["when", "incident_key", "actors", "counts", "kind"]), min_size=1),
)
operations = st.lists(
    st.one_of(
        FILE,
        FILE,
        FILE,
        FILE,
        CORRECT,
        CORRECT,
        st.tuples(st.just("retract"), st.integers(0, 50)),
        st.tuples(st.just("actor"), st.integers(0, len(ACTORS) - 1)),
        st.tuples(st.just("actor"), st.integers(0, len(ACTORS) - 1)),
        st.tuples(st.just("alias"), st.integers(0, len(ACTORS) - 1), st.sampled_from(NAMES)),
        st.tuples(
            st.just("parent"), st.integers(0, len(ACTORS) - 1), st.integers(0, len(ACTORS) - 1)
        ),
        # Analysts' decisions: a report linked into an incident (one of the keys, or
        # another report's own), unlinked, or two incidents marked distinct.
        st.tuples(st.just("link"), st.integers(0, 50), st.sampled_from(["a", "b", "c", None])),
        st.tuples(st.just("unlink"), st.integers(0, 50)),
        st.tuples(st.just("distinct"), st.integers(0, 50), st.integers(0, 50)),
        st.tuples(st.just("catch_up"), st.integers(1, 7)),
        st.tuples(st.just("crash"), st.integers(1, 7)),
    ),
    min_size=25,
    max_size=70,
)


def _run(timeline: Any, views: Any, ops: list[tuple[Any, ...]]) -> None:
    # Each example is a new store: its generation numbers and (content-derived)
    # report ids can be another example's, so entries merged for one must not serve.
    MERGED.clear()
    reports: list[Any] = []
    actors: dict[int, Any] = {}
    for op in ops:
        with contextlib.suppress(DomainError):
            if op[0] == "file":
                reports.append(timeline.file_report(ReportContent.model_validate(op[1])).report_id)
            elif op[0] == "correct" and reports:
                target = reports[op[1] % len(reports)]
                report = timeline.get_report(target)
                merged = {**report.content.model_dump(mode="json"), **{f: op[2][f] for f in op[3]}}
                if merged.get("responds_to") and merged["responds_to"] == merged["incident_key"]:
                    merged["responds_to"] = None
                changes = {
                    f: getattr(ReportContent.model_validate(merged), f)
                    for f in (*op[3], "responds_to")
                }
                timeline.correct_report(target, changes, "property test")
            elif op[0] == "retract" and reports:
                timeline.retract_report(reports[op[1] % len(reports)], "property test")
            elif op[0] == "actor":
                name, category = ACTORS[op[1]]
                actors[op[1]] = timeline.register_actor(name, category=category)[0].id
            elif op[0] == "alias" and op[1] in actors:
                timeline.add_alias(actors[op[1]], Alias(name=op[2]))
            elif op[0] == "parent" and op[1] in actors and op[2] in actors:
                timeline.set_parent(actors[op[1]], actors[op[2]])
            elif op[0] == "link" and reports:
                into = op[2] or f"report:{reports[(op[1] + 1) % len(reports)]}"
                timeline.decide(
                    "link", report=reports[op[1] % len(reports)], incident=into, reason="same"
                )
            elif op[0] == "unlink" and reports:
                timeline.decide("unlink", report=reports[op[1] % len(reports)], reason="undo")
            elif op[0] == "distinct" and len(reports) > 1:
                a, b = (f"report:{reports[i % len(reports)]}" for i in op[1:])
                if a != b:
                    timeline.decide("distinct", incidents=(a, b), reason="not the same")
            elif op[0] == "catch_up":
                apply_batch(timeline, views, batch=op[1])
            elif op[0] == "crash":
                _crash_mid_batch(timeline, views, op[1])


class _Crash(Exception):
    pass


def _crash_mid_batch(timeline: Any, views: Any, batch: int) -> None:
    """Fail on the last event of a batch: nothing of it may stick."""
    original = Projector.apply
    seen = {"n": 0}

    def failing(self: Any, event: Any) -> None:
        seen["n"] += 1
        original(self, event)
        if seen["n"] == batch:
            raise _Crash

    Projector.apply = failing  # type: ignore[method-assign]
    try:
        with contextlib.suppress(_Crash):
            apply_batch(timeline, views, batch=batch)
    finally:
        Projector.apply = original  # type: ignore[method-assign]


def _catch_up(timeline: Any, views: Any) -> None:
    while apply_batch(timeline, views, batch=50)[0]:
        pass


def _answers(view: Any, cursor: Any, as_of: int | None) -> dict[str, Any]:
    """Everything the HTTP endpoints can ask a view."""
    if view.name == "timeline":
        entries = view.entries(cursor, as_of, limit=1000)[0]
        summaries = _paged(
            lambda after: view.entries(cursor, as_of, after=after, limit=2, sources=False)
        )
        assert summaries == [
            {**{k: v for k, v in e.items() if k != "sources"}, "source_count": len(e["sources"])}
            for e in entries
        ]
        return {
            "entries": entries,
            "summaries": summaries,
            "weekly": view.weekly(cursor, as_of),
            "contradictions": view.contradictions(cursor, as_of),
            "iraq": view.entries(cursor, as_of, country="IQ", limit=1000)[0],
        }
    if view.name == "tally":
        answers = {
            g: view.tally(
                cursor,
                as_of,
                start=START,
                target="United States",
                group_by=g,
                with_attacks=True,
                with_reported=True,
            )
            for g in ("day", "week", "country", "claimant")
        }
        for answer in answers.values():
            _check_tally(answer, _documented_by_hand(view, cursor, as_of))
        return answers
    actors = view.actor_tree(cursor, as_of)
    answers = {}
    for a in sorted(actors):
        for rollup in (False, True):
            whole = view.history(cursor, as_of, a, rollup, limit=1000)
            pages = _paged(
                lambda after, a=a, r=rollup: _history_page(view, cursor, as_of, a, r, after)
            )
            assert pages == whole["appearances"], "pages differ from the whole history"
            answers[(a, rollup)] = whole
    return answers


def _documented_by_hand(view: Any, cursor: Any, as_of: int | None) -> list[str]:
    """The tally's rule applied here, not in SQL: every current attack row, kept if it
    is dated on or after START and a target is the United States or within it."""
    root = view.resolve_name(cursor, "United States", as_of)
    side = descendants(view.actor_tree(cursor, as_of), root) if root else set()
    return sorted(
        row["doc"]["incident"]
        for row in view.attacks.select(cursor, as_of)
        if row["doc"]["day"] >= START.isoformat()
        and any(t["key"] in side for t in row["doc"]["targets"])
    )


def _check_tally(answer: dict[str, Any], documented: list[str]) -> None:
    """What the database computed equals the rule applied by hand to the attack rows,
    and to the lists the answer also returns."""
    attacks, reported = answer["attacks"], answer["reported"]
    assert sorted(a["incident"] for a in attacks) == documented
    assert answer["documented_attacks"] == len(documented)
    assert answer["reported_count"] == len(reported)
    # Per label, as the README says: an attack counts once under its day or week, and
    # under each of its countries ("unknown" without) or claimants ("unclaimed").
    labels = {
        "day": lambda a: [a["day"]],
        "week": lambda a: [a["week"]],
        "country": lambda a: a["countries"] or ["unknown"],
        "claimant": lambda a: [c["name"] for c in a["claimants"]] or ["unclaimed"],
    }[answer["group_by"]]
    expected = Counter(label for attack in attacks for label in labels(attack))
    group_by = answer["group_by"]
    assert {s[group_by]: s["attacks"] for s in answer["series"]} == dict(expected)
    if group_by in ("day", "week"):
        assert sum(s["attacks"] for s in answer["series"]) == len(attacks)
    credible = [
        r
        for r in reported
        if r["counted"] == "attacks"
        and r["qualifier"] in ("at_least", "exact", "about")
        and abs(date.fromisoformat(r["since"]) - START) <= timedelta(days=21)
    ]
    best = max(credible, key=lambda r: (r["value"], r["speaks_for"]), default=None)
    assert answer["headline"]["reported_source"] == best


def _history_page(
    view: Any, cursor: Any, as_of: int | None, actor: str, rollup: bool, after: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    answer = view.history(cursor, as_of, actor, rollup, after=after, limit=2)
    return answer["appearances"], answer["next"]


def _paged(page: Any) -> list[dict[str, Any]]:
    """Every item of pages of 2, following the cursors: each must come exactly once."""
    found, after = [], None
    while True:
        items, after = page(after)
        assert len(items) <= 2
        found.extend(items)
        if after is None:
            return found


# Place names, actor names as written, and names only aliases can reach.
SEARCHES = ["IQ", "Quds", "PMF", "US forces", "Iran soldats"]


def _searches(gen: Generation, cursor: Any, as_of: int | None) -> dict[str, Any]:
    """Every search's results, in pages of 2 (each must come exactly once)."""
    view = SearchView(gen)

    def page(q: str, after: str | None) -> tuple[list[dict[str, Any]], str | None]:
        key = decode_search_cursor(after)[1:] if after else None
        answer = view.search(cursor, as_of, chunks(q), filters={}, after=key, limit=2)
        return answer["results"], answer["next"]

    found = {}
    for q in SEARCHES:
        results = _paged(lambda after, q=q: page(q, after))
        assert len({r["report"] for r in results}) == len(results), q
        found[q] = results
    return found


def _views(views: Any, generation: int) -> dict[str, Any]:
    return {name: cls(Generation(views, generation)) for name, cls in VIEWS.items()}


def _agrees_with_oracle(
    timeline: Any, views: dict[str, Any], cursor: Any, as_of: int | None
) -> None:
    """The views' answers equal those of the README's rules replayed naively (tests/oracle.py)."""
    oracle.assert_views_agree(timeline, views, cursor, as_of, start=START, target="United States")


def _check(timeline: Any, views: Any, page: int) -> None:
    _catch_up(timeline, views)
    head = timeline.max_position()
    event(f"log of {head // 10 * 10}+ events")
    with views.transaction() as cursor:
        serving = Generation(views, current_generation(views, cursor))
        incremental = serving.dump(cursor)
        assert serving.tracked(cursor) == head
    rebuilt = Generation(views, build(timeline, views, page=page))
    with views.transaction() as cursor:
        assert rebuilt.dump(cursor) == incremental, "incremental != bulk rebuild"
        _agrees_with_oracle(timeline, _views(views, serving.number), cursor, None)
    # As of a few positions: every view's answers equal a bulk replay up to there.
    for position in sorted(p for p in {1, head // 3, head // 2, head - 1} if 0 < p < head):
        replayed = Generation(views, build(timeline, views, stop=position, page=page))
        with views.transaction() as cursor:
            assert replayed.tracked(cursor) <= position  # positions may have gaps
            now = _views(views, serving.number)
            then = _views(views, replayed.number)
            for name in VIEWS:
                assert _answers(now[name], cursor, position) == _answers(
                    then[name], cursor, None
                ), f"{name}: as_of {position} differs from a replay"
            assert _searches(serving, cursor, position) == _searches(replayed, cursor, None)
            _agrees_with_oracle(timeline, now, cursor, position)
        with views.transaction(write=True) as cursor:
            replayed.drop(cursor)


PROPERTY = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@PROPERTY
@given(ops=operations, page=st.sampled_from([1, 3, 10_000]))
def test_sqlite_incremental_equals_rebuild_and_as_of_equals_replay(tmp_path_factory, ops, page):
    folder = tmp_path_factory.mktemp("property")
    store = Settings(database_url=f"sqlite:///{folder}/timeline.sqlite3")
    timeline, views = open_application(store), open_views(store)
    try:
        _run(timeline, views, ops)
        _check(timeline, views, page)
    finally:
        views.close()
        timeline.close()


@settings(PROPERTY, max_examples=6)
@given(ops=operations, page=st.sampled_from([1, 3, 10_000]))
def test_postgres_incremental_equals_rebuild_and_as_of_equals_replay(ops, page):
    require_postgres()
    schema = f"prop_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    store = Settings(database_url=POSTGRES_URL, postgres_schema=schema, postgres_pool_size=3)
    timeline, views = open_application(store), open_views(store)
    try:
        _run(timeline, views, ops)
        _check(timeline, views, page)
    finally:
        views.close()
        timeline.close()
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_meta_tables_are_created_once(sqlite_settings):
    views = open_views(sqlite_settings)
    try:
        create_meta(views)  # idempotent
        with views.transaction() as cursor:
            assert current_generation(views, cursor) == 1
    finally:
        views.close()


pytestmark = pytest.mark.timeout(600)
