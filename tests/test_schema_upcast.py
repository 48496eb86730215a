"""A log written before the schema change of issue 13 still loads: the API gives
the answers it gave then, plus the new fields at their defaults."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson

from service.migration import import_events
from tests.conftest import keyed_client

FIXTURES = Path(__file__).resolve().parent / "fixtures"
LOG = FIXTURES / "log_v2.ndjson"
ANSWERS = orjson.loads((FIXTURES / "log_v2_answers.json").read_bytes())

# What the new code adds, and the default an old report reads with.
NEW_DEFAULTS: dict[str, Any] = {
    "means": [],
    "aggregate": False,
    "whose": None,
    "low": None,
    "high": None,
    "published_at": None,
}
VIEWS = ("/timeline", "/incidents", "/tally", "/contradictions")
# What the new merge adds beside each merged count: the bounds all sources allow
# (checked below on the fixture's own figures).
# Read-side fields issues 13 and 15 added beside the schema's (duplicates, the tally's
# periods, the coordinates of an entry's places).
DERIVED = {
    "bounds",
    "possible_duplicates",
    "possibly_in_period",
    "possibly_double_counted",
    "latitude",
    "longitude",
    "coordinate_precision",
}
QUERIES = [key for key in ANSWERS if key.startswith(VIEWS)]


# Where the count merge rules of issue 13 answer otherwise, on purpose: two
# sources' exact 85 fits a third's "plus de 85" (at least 85), so it stays exact.
RULE_CHANGES = [("2024-02-02-us-strikes-iraq-syria", "sites", "qualifier", "at_least", "exact")]


def with_rule_changes(answer: Any) -> Any:
    """The old answer with RULE_CHANGES applied to every entry of those incidents."""
    if isinstance(answer, list):
        return [with_rule_changes(item) for item in answer]
    if not isinstance(answer, dict):
        return answer
    changed = {key: with_rule_changes(value) for key, value in answer.items()}
    if "documented" in changed and "text" in changed:  # the tally's headline
        # It now says all three counts; this old log has nothing possibly in the
        # period and no duplicates, so both are 0.
        changed["text"] = re.sub(
            r"^(\d+ attacks?) documented in the log since (\S+);",
            r"\1 documented since \2 (0 more possibly in the period; 0 possibly counted twice);",
            changed["text"],
        )
    for incident, counted, field, was, now in RULE_CHANGES:
        if changed.get("incident") == incident and "counts" in changed:
            for count in changed["counts"]:
                if count["counted"] == counted:
                    assert count[field] == was, (incident, count)
                    count[field] = now
    return changed


def same_plus_defaults(old: Any, new: Any, path: str, seen: set[str]) -> None:
    """`new` is `old` with, at most, new fields at their defaults (collected in `seen`)."""
    if isinstance(old, dict):
        assert isinstance(new, dict), path
        for key in old:
            assert key in new, f"{path}.{key} is gone"
            same_plus_defaults(old[key], new[key], f"{path}.{key}", seen)
        for key in new.keys() - old.keys() - DERIVED:
            assert key in NEW_DEFAULTS, f"{path}.{key} is new and not a schema field"
            assert new[key] == NEW_DEFAULTS[key], f"{path}.{key} = {new[key]!r}"
            seen.add(key)
    elif isinstance(old, list):
        assert isinstance(new, list) and len(new) == len(old), path
        for index, (was, now) in enumerate(zip(old, new, strict=True)):
            same_plus_defaults(was, now, f"{path}[{index}]", seen)
    else:
        assert new == old, f"{path}: {old!r} then, {new!r} now"


def test_old_log_reads_the_same_plus_defaults(settings):
    with LOG.open("rb") as stream:
        assert import_events(settings, stream) == ANSWERS["position"]
    position = ANSWERS["position"]
    seen: set[str] = set()
    with keyed_client(settings) as client:
        for path in QUERIES:
            sep = "&" if "?" in path else "?"
            answer = client.get(f"{path}{sep}min_position={position}")
            assert answer.status_code == 200, (path, answer.text)
            same_plus_defaults(with_rule_changes(ANSWERS[path]), answer.json(), path, seen)
        jordan = client.get(
            f"/incidents/2024-01-late-drone-attack-jordan?min_position={position}"
        ).json()["entry"]
        bounds = {c["counted"]: c["bounds"] for c in jordan["counts"]}
        assert bounds == {"killed": {"low": 3, "high": 3}}
        assert jordan["means"] == []
        for key, report_id in ANSWERS["ids"].items():
            if f"/reports/{key}" not in ANSWERS:
                continue
            answer = client.get(f"/reports/{report_id}")
            assert answer.status_code == 200, answer.text
            report = answer.json()
            same_plus_defaults(ANSWERS[f"/reports/{key}"], report, key, seen)
            # The log shows each event as it was stored, at the version it was stored.
            versions = {e["type"]: e["schema_version"] for e in report["history"]}
            assert versions.get("Report.Filed") == 2
            assert versions.get("Report.Corrected", 3) == 3
            assert versions.get("Report.Retracted", 3) == 3
        corrected = client.get(f"/reports/{ANSWERS['ids']['fixture-casualties']}").json()
        assert corrected["content"]["counts"] == [
            {
                "value": 3,
                "qualifier": "exact",
                "counted": "killed",
                "whose": None,
                "low": None,
                "high": None,
                "wording": None,
            }
        ]
        assert corrected["content"]["means"] == []
        assert corrected["content"]["aggregate"] is False
        # An old report can be corrected with the new fields, and its entry follows.
        change = {
            "changes": {
                "means": ["drone"],
                "counts": [{"value": 3, "counted": "killed", "whose": "combatants"}],
            },
            "reason": "the communiqué names a drone and the soldiers",
            "published_at": "2024-01-30",
        }
        answer = client.post(f"/reports/{corrected['id']}/corrections", json=change)
        assert answer.status_code == 201, answer.text
        now = client.get(f"/reports/{corrected['id']}").json()
        assert now["content"]["means"] == ["drone"]
        assert now["content"]["counts"][0]["whose"] == "combatants"
        last = now["history"][-1]
        assert (last["schema_version"], last["data"]["published_at"]) == (4, "2024-01-30")
    # Every new field was met with its default somewhere, and none is unexplained.
    assert {"means", "aggregate", "whose", "low", "high"} <= seen
