"""What an actor's history summary counts, as a sum over incidents.

A report belongs to one incident, so every count of the summary (distinct
reports, distinct incidents, attacks carried out ...) is a sum of what each
incident adds. The fold keeps these sums per actor, on its own and with every
actor within it (`rollup`), so that a summary is one row read, however long
the actor's history is; when an incident changes, its old share is taken off
and its new share added.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

VIOLENT = ("attack", "strike")
SPOKEN = ("statement", "threat", "claim_of_responsibility", "denial", "tally")
SUFFERED_KINDS = (*VIOLENT, "casualties")
SUFFERED_ROLES = ("target", "affected")

COUNTS = (
    "appearances",
    "reports",
    "incidents",
    "attacks_carried_out",
    "attacks_suffered",
    "statements",
    "denials",
    "retracted_reports",
)
SCOPES = ("self", "rollup")  # the actor's own appearances; with those of actors within it

Counts = dict[str, int]
Shares = dict[str, dict[str, Counts]]  # actor -> scope -> counts


class Appearance(NamedTuple):
    """The columns of an appearance row the summary counts by."""

    actor: str
    report: str
    role: str
    kind: str
    retracted: bool


def _report_marks(roles: set[str], kind: str, retracted: bool) -> Counts:
    """What one report adds, given every role it gives the actor (or its members)."""
    if retracted:
        return {"retracted_reports": 1}
    return {
        "reports": 1,
        "statements": int("speaker" in roles or (kind in SPOKEN and "claimant" in roles)),
        "denials": int("denier" in roles or (kind == "denial" and "speaker" in roles)),
    }


def incident_share(
    appearances: Iterable[Appearance], ancestry: Callable[[str], Sequence[str]]
) -> Shares:
    """What one incident's appearances add to each actor's summary.

    `ancestry(actor)` is the actor and every actor it is within, nearest first;
    the incident counts for the actor itself (scope `self`) and, with rollup,
    for each of those (scope `rollup`). Unregistered names count for no one.
    """
    by_report: dict[tuple[str, str, str], tuple[set[str], str, bool]] = {}
    rows: dict[tuple[str, str], int] = {}
    for appearance in appearances:
        if appearance.actor.startswith("name:"):
            continue
        for number, actor in enumerate(ancestry(appearance.actor)):
            scopes = ("self", "rollup") if number == 0 else ("rollup",)
            for scope in scopes:
                rows[(actor, scope)] = rows.get((actor, scope), 0) + 1
                slot = by_report.setdefault(
                    (actor, scope, appearance.report),
                    (set(), appearance.kind, bool(appearance.retracted)),
                )
                slot[0].add(appearance.role)
    shares: Shares = {}
    for (actor, scope), number in rows.items():
        shares.setdefault(actor, {}).setdefault(scope, {"appearances": number})
    incident: dict[tuple[str, str], Counts] = {}
    for (actor, scope, _), (roles, kind, retracted) in by_report.items():
        counts = shares[actor][scope]
        for name, value in _report_marks(roles, kind, retracted).items():
            counts[name] = counts.get(name, 0) + value
        if retracted:
            continue
        flags = incident.setdefault((actor, scope), {"incidents": 1})
        if kind in VIOLENT and "perpetrator" in roles:
            flags["attacks_carried_out"] = 1
        if kind in SUFFERED_KINDS and roles & set(SUFFERED_ROLES):
            flags["attacks_suffered"] = 1
    for (actor, scope), flags in incident.items():
        shares[actor][scope].update(flags)
    return shares


def combined(shares: Iterable[Shares]) -> Shares:
    """The sum of several incidents' shares."""
    total: Shares = {}
    for share in shares:
        for actor, scopes in share.items():
            for scope, counts in scopes.items():
                into = total.setdefault(actor, {}).setdefault(scope, {})
                for name, value in counts.items():
                    into[name] = into.get(name, 0) + value
    return total


def changed_totals(
    totals: Callable[[str], dict[str, Counts] | None], before: Shares, after: Shares
) -> dict[str, dict[str, Counts] | None]:
    """The new totals of every actor whose share changed (None: nothing left to count).

    `totals(actor)` gives an actor's totals as they stand.
    """
    changed: dict[str, dict[str, Counts] | None] = {}
    for actor in sorted(before.keys() | after.keys()):
        old, new = before.get(actor, {}), after.get(actor, {})
        if old == new:
            continue
        current = totals(actor) or {}
        result = {}
        for scope in SCOPES:
            counts = dict.fromkeys(COUNTS, 0) | current.get(scope, {})
            for name in COUNTS:
                counts[name] += new.get(scope, {}).get(name, 0) - old.get(scope, {}).get(name, 0)
            result[scope] = counts
        changed[actor] = result if any(result[s]["appearances"] for s in SCOPES) else None
    return changed


def summary(totals: dict[str, Counts] | None, rollup: bool) -> tuple[Counts, int]:
    """The history's summary (without `appearances`) and its appearance count."""
    counts = dict.fromkeys(COUNTS, 0) | (totals or {}).get("rollup" if rollup else "self", {})
    appearances = counts.pop("appearances")
    return counts, appearances
