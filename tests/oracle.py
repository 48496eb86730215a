"""A slow, obviously-correct second reading of the views' rules, from the README.

It shares nothing with `projections/`: it reads every event of the log through
the application, replays it naively up to a position into plain Python state,
and computes from that state what README.md "The views" says the timeline, the
attack tally and the actor histories hold. Only the key fields are computed;
`assert_views_agree` compares them with what the views answer.

Where the README leaves a choice open, the comment says which reading is taken.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from pydantic_core import to_jsonable_python

from domain.values import ReportContent, normalise_name

SLACK = timedelta(days=7)  # "widened by 7 days if the source marks it approximate or uncertain"


# Replaying the log ------------------------------------------------------------------------


@dataclass
class State:
    """The log replayed up to a position: reports as they now stand, actors, names."""

    reports: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> report
    actors: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> actor
    names: dict[str, str] = field(default_factory=dict)  # normalised name -> actor id


def replay(app: Any, upto: int) -> State:
    """Every event with a position up to `upto`, applied in log order."""
    state, start = State(), 1
    while True:
        page = app.recorder.select_notifications(start, 100, stop=upto)
        for notification in page:
            _apply(state, app.mapper.to_domain_event(notification), notification.id)
        if len(page) < 100:
            return state
        start = page[-1].id + 1


def _apply(state: State, event: Any, position: int) -> None:
    kind, oid = type(event).__qualname__, str(event.originator_id)
    if kind == "Report.Filed":
        content = event.content.model_dump(mode="json")
        state.reports[oid] = {"id": oid, "content": content, "retracted": False, "at": position}
    elif kind == "Report.Corrected":
        report = state.reports[oid]
        changed = {**report["content"], **to_jsonable_python(event.changes)}
        report["content"] = ReportContent.model_validate(changed).model_dump(mode="json")
    elif kind == "Report.Retracted":
        state.reports[oid]["retracted"] = True
    elif kind == "Actor.Registered":
        category = str(event.category) if event.category is not None else None
        parent = str(event.parent_id) if event.parent_id else None
        state.actors[oid] = {"id": oid, "name": event.name, "category": category, "parent": parent}
        for name in [event.name, *(alias.name for alias in event.aliases)]:
            state.names.setdefault(normalise_name(name), oid)  # one name, one actor
    elif kind == "Actor.AliasAdded":
        state.names.setdefault(normalise_name(event.alias.name), oid)
    elif kind == "Actor.ParentSet":
        state.actors[oid]["parent"] = str(event.parent_id) if event.parent_id else None


def actor_of(state: State, mention: dict[str, Any]) -> str | None:
    """The registered actor a mention means (explicit id, else its name), or None."""
    if mention.get("actor_id"):
        return str(mention["actor_id"])
    return state.names.get(normalise_name(mention["name"]))


def within(state: State, root: str) -> set[str]:
    """`root` and every actor whose chain of parents reaches it."""
    found = set()
    for actor in state.actors:
        seen, current = set(), actor
        while current is not None and current not in seen:
            if current == root:
                found.add(actor)
                break
            seen.add(current)
            current = state.actors[current]["parent"] if current in state.actors else None
    return found


# The escalation timeline ------------------------------------------------------------------


def incidents(state: State) -> dict[str, list[dict[str, Any]]]:
    """Reports grouped by incident key; a report without one is its own incident."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for report in state.reports.values():
        key = report["content"]["incident_key"] or f"report:{report['id']}"
        grouped.setdefault(key, []).append(report)
    return grouped


def _days(report: dict[str, Any], widen: bool) -> tuple[date, date]:
    when = report["content"]["when"]
    first, last = date.fromisoformat(when["earliest"]), date.fromisoformat(when["latest"])
    if widen and (when["approximate"] or when["uncertain"]):
        return first - SLACK, last + SLACK
    return first, last


def _allowed(reports: list[dict[str, Any]]) -> tuple[date, date]:
    """What every source allows: the days all stated intervals share, or, where they
    meet only thanks to the slack, the days all widened intervals share. (The README
    says "what every source allows"; it does not say the slack widens an answer the
    stated intervals already give.)"""
    low = max(_days(r, False)[0] for r in reports)
    high = min(_days(r, False)[1] for r in reports)
    if low <= high:
        return low, high
    return max(_days(r, True)[0] for r in reports), min(_days(r, True)[1] for r in reports)


def when_of(reports: list[dict[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The entry's interval, and the reports in the group it sits with (all when agreed)."""
    wide = [_days(r, True) for r in reports]
    first, last = min(a for a, _ in wide), max(b for _, b in wide)
    best: list[dict[str, Any]] = []
    day = first
    while day <= last:  # every day, one by one: the largest group sharing it, the later on a tie
        group = [r for r, (a, b) in zip(reports, wide, strict=True) if a <= day <= b]
        if len(group) >= len(best):
            best = group
        day += timedelta(days=1)
    low, high = _allowed(best)
    agreed = len(best) == len(reports)
    return {"earliest": low.isoformat(), "latest": high.isoformat(), "agreed": agreed}, best


CAP = 1_000  # beyond every figure the generated logs hold: stands for "no upper bound"


def _allows(count: dict[str, Any]) -> range:
    """The whole numbers one count allows, as the README states its qualifier and bounds."""
    value, qualifier = count["value"], count["qualifier"]
    low = count.get("low")
    high = count.get("high")
    if low is None:
        low = {"exact": value, "at_least": value}.get(qualifier, 0)
    if high is None:
        high = {"exact": value, "at_most": value}.get(qualifier, CAP)
    return range(low, high + 1)


def _summed_qualifier(qualifiers: list[str]) -> str:
    kinds = set(qualifiers)
    if len(kinds) == 1:
        return qualifiers[0]
    if kinds == {"exact", "at_least"}:
        return "at_least"
    if kinds == {"exact", "at_most"}:
        return "at_most"
    return "about"


def counts_of(active: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per thing counted (the generated logs say nothing of whose): each report's
    counts summed as parts; the whole numbers every source allows; the figure the
    README says those give."""
    figures: dict[str, list[dict[str, Any]]] = {}
    for report in active:
        parts: dict[str, list[dict[str, Any]]] = {}
        for count in report["content"]["counts"]:
            parts.setdefault(count["counted"], []).append(count)
        for counted, stated in parts.items():
            spans = [_allows(c) for c in stated]
            figures.setdefault(counted, []).append(
                {
                    "value": sum(c["value"] for c in stated),
                    "qualifier": _summed_qualifier([c["qualifier"] for c in stated]),
                    "from": sum(r.start for r in spans),
                    "to": min(CAP, sum(r.stop - 1 for r in spans)),
                }
            )
    merged = {}
    for counted, found in figures.items():
        values = [f["value"] for f in found]
        allowed = [n for n in range(0, CAP + 1) if all(f["from"] <= n <= f["to"] for f in found)]
        item: dict[str, Any] = {"low": min(values), "high": max(values)}
        exact = {f["value"] for f in found if f["qualifier"] == "exact"}
        if not allowed:
            item.update(qualifier="disputed", value=min(values))
        elif len(exact) == 1 and exact <= set(allowed):
            item.update(qualifier="exact", value=exact.pop())
        elif len(allowed) == 1:
            item.update(qualifier="exact", value=allowed[0])
        elif all(f["qualifier"] == "about" for f in found):
            item.update(qualifier="about" if len(set(values)) == 1 else "range", value=min(values))
        elif allowed[-1] == CAP:
            item.update(qualifier="at_least", value=allowed[0])
        elif allowed[0] == 0:
            item.update(qualifier="at_most", value=allowed[-1])
        else:
            item.update(qualifier="range", value=allowed[0])
        merged[counted] = item
    return merged


LADDER_ZERO = {"statement", "threat", "denial", "claim_of_responsibility", "tally"}


def level_of(active: list[dict[str, Any]], state: State) -> int | None:
    """The ladder, top rung first. A strike's targets are the incident's targets (one
    incident is one occurrence, whichever report names them)."""
    if not active:
        return None
    kinds = {r["content"]["kind"] for r in active}
    if kinds <= LADDER_ZERO:
        return 0
    targets = {
        state.actors[a]["category"]
        for r in active
        for m in r["content"]["actors"]
        if m["role"] == "target" and (a := actor_of(state, m)) in state.actors
    }
    if "strike" in kinds and targets & {"state", "state_force"}:
        return 4
    if "strike" in kinds and "state_backed" in targets:
        return 3
    harmed = any(
        c["counted"] in ("killed", "wounded", "casualties") and c["value"] > 0
        for r in active
        for c in r["content"]["counts"]
    )
    return 2 if harmed or "casualties" in kinds else 1


def actors_of(active: list[dict[str, Any]], state: State) -> list[tuple[Any, ...]]:
    """(actor id, normalised name, roles, spellings) per actor, names resolved as they stand."""
    found: dict[str, dict[str, Any]] = {}
    for report in active:
        for mention in report["content"]["actors"]:
            actor = actor_of(state, mention)
            if actor in state.actors:
                key, name = actor, normalise_name(state.actors[actor]["name"])
            else:
                actor, key = None, "name:" + normalise_name(mention["name"])
                name = normalise_name(mention["name"])
            item = found.setdefault(key, {"id": actor, "name": name, "roles": set(), "as": set()})
            item["roles"].add(mention["role"])
            item["as"].add(mention["name"])
    return by_actor(
        (a["id"], a["name"], tuple(sorted(a["roles"])), tuple(sorted(a["as"])))
        for a in found.values()
    )


def by_actor(actors: Any) -> list[tuple[Any, ...]]:
    return sorted(actors, key=lambda a: (a[0] or "", *a[1:]))


def timeline(state: State) -> dict[str, dict[str, Any]]:
    """Every incident's entry, key fields only."""
    grouped = incidents(state)
    entries = {}
    for key, reports in grouped.items():
        active = [r for r in reports if not r["retracted"]]
        # An all-retracted incident stays visible, placed where its reports placed it.
        when, group = when_of(active or reports)
        disagreement = (
            [("date_disagreement", r["id"], r in group) for r in active]
            if not when["agreed"]
            else []
        )
        entries[key] = {
            "incident": key,
            "status": "active" if active else "retracted",
            "kinds": sorted({r["content"]["kind"] for r in active}),
            "when": when,
            "level": level_of(active, state),
            "countries": sorted(
                {p["country"] for r in active for p in r["content"]["places"] if p["country"]}
            ),
            "actors": actors_of(active, state),
            "counts": counts_of(active),
            "source_count": len(active),
            "responds_to": {
                r["content"]["responds_to"] for r in active if r["content"]["responds_to"]
            },
            "disagreement": disagreement,
        }
    for key, entry in entries.items():
        # Figures that cannot all be true are a count_disagreement, one per thing counted.
        entry["count_disputes"] = sorted(
            counted for counted, item in entry["counts"].items() if item["qualifier"] == "disputed"
        )
        entry["chain"] = _chain(key, entries)
        entry["before_cause"] = _before_cause(grouped[key], entries)
    return entries


def _chain(key: str, entries: dict[str, dict[str, Any]]) -> list[str]:
    """The incidents `key` responds to, transitively (unknown ones included, not followed)."""
    found, todo = set(), list(entries[key]["responds_to"])
    while todo:
        cause = todo.pop()
        if cause in found or cause == key:
            continue
        found.add(cause)
        todo.extend(entries[cause]["responds_to"] if cause in entries else ())
    return sorted(found)


def _before_cause(
    reports: list[dict[str, Any]], entries: dict[str, dict[str, Any]]
) -> list[tuple[str, str]]:
    """(report, cause) for each active report dated entirely before the start of the
    incident the report itself says it answers."""
    found = []
    for report in reports:
        cause = report["content"]["responds_to"]
        if report["retracted"] or cause not in entries:
            continue
        if report["content"]["when"]["latest"] < entries[cause]["when"]["earliest"]:
            found.append((report["id"], cause))
    return sorted(found)


# The attack tally ---------------------------------------------------------------------------


def week_of(day: str) -> str:
    """The Monday of the ISO week."""
    parsed = date.fromisoformat(day)
    return (parsed - timedelta(days=parsed.isoweekday() - 1)).isoformat()


def tally(
    state: State, target: str, start: date, roles: tuple[str, ...] = ("target",)
) -> dict[str, str]:
    """Attack incidents on the target or anything within it (named in one of `roles`),
    since `start`, each with the earliest day its sources allow. An unregistered
    target name is no actor: nothing is within it, nothing counts."""
    root = state.names.get(normalise_name(target))
    side = within(state, root) if root else set()
    days = {}
    for key, entry in timeline(state).items():
        on_side = any(a[0] in side and set(roles) & set(a[2]) for a in entry["actors"])
        if "attack" in entry["kinds"] and on_side and entry["when"]["earliest"] >= str(start):
            days[key] = entry["when"]["earliest"]
    return days


def per_week(days: dict[str, str]) -> dict[str, int]:
    weeks: dict[str, int] = {}
    for day in days.values():
        weeks[week_of(day)] = weeks.get(week_of(day), 0) + 1
    return weeks


# Actor histories ----------------------------------------------------------------------------


def history_summary(state: State, actor: str, rollup: bool) -> dict[str, int]:
    """Counts over every report naming the actor (or, with rollup, anything within it)."""
    members = within(state, actor) if rollup else {actor}
    live, retracted = set(), set()
    carried_out, suffered = set(), set()
    for key, reports in incidents(state).items():
        for report in reports:
            roles = {
                m["role"] for m in report["content"]["actors"] if actor_of(state, m) in members
            }
            if not roles:
                continue
            if report["retracted"]:
                retracted.add(report["id"])
                continue
            live.add((key, report["id"]))
            violent = report["content"]["kind"] in ("attack", "strike")
            if violent and "perpetrator" in roles:
                carried_out.add(key)
            if violent and "target" in roles:
                suffered.add(key)
    return {
        "reports": len({r for _, r in live}),
        "incidents": len({k for k, _ in live}),
        "attacks_carried_out": len(carried_out),
        "attacks_suffered": len(suffered),
        "retracted_reports": len(retracted),
    }


# Comparing with the views -----------------------------------------------------------------


def _as_seen(entry: dict[str, Any], wanted_counts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A view's timeline entry cut down to the fields the oracle computes."""
    counts = {c["counted"]: c for c in entry["counts"]}
    contradictions = entry["contradictions"]
    return {
        "incident": entry["incident"],
        "status": entry["status"],
        "kinds": entry["kinds"],
        "when": {k: entry["when"][k] for k in ("earliest", "latest", "agreed")},
        "level": entry["level"],
        "countries": entry["countries"],
        "actors": by_actor(
            (
                a["actor_id"],
                normalise_name(a["name"]),
                tuple(sorted(a["roles"])),
                tuple(sorted(a["written_as"])),
            )
            for a in entry["actors"]
        ),
        "counts": {
            counted: {k: counts[counted].get(k) for k in wanted_counts.get(counted, {})}
            if counted in wanted_counts
            else counts[counted]
            for counted in counts
        },
        "source_count": len(entry["sources"]),
        "responds_to": set(entry["responds_to"]),
        "disagreement": [
            ("date_disagreement", r["report"], r["agrees_with_placement"])
            for c in contradictions
            if c["type"] == "date_disagreement"
            for r in c["reports"]
        ],
        "count_disputes": sorted(
            c["counted"] for c in contradictions if c["type"] == "count_disagreement"
        ),
        "chain": sorted(link["incident"] for link in entry["chain"]),
        "before_cause": sorted(
            (c["report"], c["responds_to"])
            for c in contradictions
            if c["type"] == "response_before_cause"
        ),
    }


def assert_views_agree(
    app: Any, views: dict[str, Any], cursor: Any, as_of: int | None, *, start: date, target: str
) -> None:
    """The views' answers at `as_of` (None: the head) equal the oracle's replay to there."""
    position = app.max_position() if as_of is None else as_of
    state = replay(app, position)
    where = f"as of {position}"

    expected = timeline(state)
    entries = views["timeline"].entries(cursor, as_of, limit=1000)[0]
    seen = {
        e["incident"]: _as_seen(e, expected.get(e["incident"], {}).get("counts", {}))
        for e in entries
    }
    assert sorted(seen) == sorted(expected), f"timeline incidents differ {where}"
    for key, entry in expected.items():
        for name, value in entry.items():
            assert seen[key][name] == value, f"timeline {key}.{name} differs {where}"

    answer = views["tally"].tally(
        cursor, as_of, start=start, target=target, group_by="week", with_attacks=True
    )
    # "Attacks on" the target: the views also count attacks that name it `affected`,
    # which the README neither includes nor excludes. Named a target: must count;
    # named only affected: may count; anything else must not.
    must, may = tally(state, target, start), tally(state, target, start, ("target", "affected"))
    documented = {a["incident"] for a in answer["attacks"]}
    assert set(must) <= documented <= set(may), f"tally's attacks differ {where}"
    assert answer["documented_attacks"] == len(documented), f"tally differs {where}"
    weeks = per_week({k: day for k, day in may.items() if k in documented})
    assert {s["week"]: s["attacks"] for s in answer["series"]} == weeks, where

    history = views["actor_history"]
    assert sorted(history.actor_tree(cursor, as_of)) == sorted(state.actors), where
    for actor in sorted(state.actors):
        for rollup in (False, True):
            summary = history.history(cursor, as_of, actor, rollup, limit=1000)["summary"]
            wanted = history_summary(state, actor, rollup)
            # "Attacks suffered" is not defined further in the README; the views also
            # count the roles `affected` and reports of kind `casualties`. A target of
            # an attack or strike surely suffered it: only check that those are counted.
            suffered = wanted.pop("attacks_suffered")
            assert summary["attacks_suffered"] >= suffered, f"history of {actor} {where}"
            got = {k: summary[k] for k in wanted}
            assert got == wanted, f"history of {actor} (rollup {rollup}) differs {where}"
