"""The history summary's rule, as sums over incidents (projections.history_counts)."""

from __future__ import annotations

from projections.history_counts import Appearance, changed_totals, combined, incident_share

PARENTS = {"quds": "irgc", "irgc": "iran"}


def ancestry(actor: str) -> list[str]:
    found = [actor]
    while found[-1] in PARENTS:
        found.append(PARENTS[found[-1]])
    return found


def test_a_strike_counts_for_its_target_and_everyone_above_it_but_only_once_each() -> None:
    share = incident_share(
        [
            Appearance("centcom", "r1", "perpetrator", "strike", False),
            Appearance("quds", "r1", "target", "strike", False),
            Appearance("irgc", "r1", "target", "strike", False),  # a second member, same report
            Appearance("quds", "r2", "target", "strike", False),  # a second source
        ],
        ancestry,
    )
    assert share["centcom"]["self"] == {
        "appearances": 1,
        "reports": 1,
        "statements": 0,
        "denials": 0,
        "incidents": 1,
        "attacks_carried_out": 1,
    }
    quds = share["quds"]["self"]
    assert (quds["appearances"], quds["reports"], quds["incidents"]) == (2, 2, 1)
    assert quds["attacks_suffered"] == 1 and "attacks_carried_out" not in quds
    # IRGC on its own: one appearance; with what is within it, three, in two
    # reports and still one incident.
    assert (share["irgc"]["self"]["appearances"], share["irgc"]["self"]["reports"]) == (1, 1)
    rollup = share["iran"]["rollup"]
    assert (rollup["appearances"], rollup["reports"], rollup["incidents"]) == (3, 2, 1)
    assert "self" not in share["iran"]


def test_statements_denials_and_retractions() -> None:
    share = incident_share(
        [
            Appearance("pmf", "r1", "speaker", "statement", False),
            Appearance("pmf", "r2", "speaker", "denial", False),
            Appearance("pmf", "r3", "claimant", "claim_of_responsibility", False),
            Appearance("pmf", "r4", "perpetrator", "attack", True),  # retracted
        ],
        ancestry,
    )["pmf"]["self"]
    assert share["statements"] == 3  # a speaker, a speaker denying, a claimant
    assert share["denials"] == 1
    assert (share["reports"], share["retracted_reports"], share["appearances"]) == (3, 1, 4)
    assert "attacks_carried_out" not in share  # the attack was retracted


def test_unregistered_names_count_for_no_one() -> None:
    assert incident_share([Appearance("name:x", "r1", "target", "attack", False)], ancestry) == {}


def test_totals_move_by_the_difference_and_vanish_at_zero() -> None:
    one = incident_share([Appearance("quds", "r1", "target", "attack", False)], ancestry)
    two = combined(
        [one, incident_share([Appearance("quds", "r2", "target", "attack", False)], ancestry)]
    )
    assert two["irgc"]["rollup"]["incidents"] == 2
    totals = {}
    for before, after in (({}, one), (one, two)):
        for actor, new in changed_totals(totals.get, before, after).items():
            totals[actor] = new
    assert totals["quds"]["self"]["incidents"] == 2
    assert totals["iran"]["rollup"]["attacks_suffered"] == 2
    assert totals["iran"]["self"]["appearances"] == 0
    gone = changed_totals(totals.get, two, {})
    assert gone == {"iran": None, "irgc": None, "quds": None}
