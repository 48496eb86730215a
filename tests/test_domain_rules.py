"""Pure rules: when a registration repeats what is known, and the digests behind keys."""

from __future__ import annotations

import hashlib
from uuid import uuid4

from domain.actors import Actor, registration_conflicts
from domain.reports import change_digest, default_key
from domain.values import ActorCategory, Alias

IRAN = uuid4()


def hachd() -> Actor:
    return Actor(
        name="Hachd al-Chaabi",
        aliases=(Alias(name="PMF", language="en"), Alias(name="Hachd")),
        parent_id=IRAN,
        description="coalition",
        category=ActorCategory("state_backed"),
    )


def conflicts(**given: object) -> list[tuple[str, str]]:
    actor = hachd()
    details = {"name": actor.name, "aliases": [], "parent_id": None, "description": None}
    details |= {"category": None, **given}
    owners = {"iran": IRAN}
    return registration_conflicts(actor, **details, owner_of=lambda n: owners.get(n.lower()))


def test_a_subset_of_what_is_known_is_no_conflict() -> None:
    assert conflicts() == []
    assert conflicts(aliases=[Alias(name="pmf"), Alias(name="HACHD")]) == []
    assert conflicts(aliases=[Alias(name="PMF", language="en")]) == []
    assert conflicts(aliases=[Alias(name="hachd al chaabi")]) == []  # the canonical name
    assert conflicts(parent_id=IRAN, description="coalition", category="state_backed") == []


def test_every_detail_at_odds_is_named() -> None:
    actor = hachd()
    other = uuid4()
    found = conflicts(
        name="Hâchd al-Chaabi",
        aliases=[Alias(name="PMF", language="ar"), Alias(name="Kataeb"), Alias(name="Iran")],
        parent_id=other,
        description="autre",
        category="state",
    )
    assert found == [
        ("name", f"actor {actor.id} is registered as 'Hachd al-Chaabi'; use it"),
        ("aliases.0.language", "'PMF' is registered with language 'en'"),
        (
            "aliases.1.name",
            f"'Kataeb' is not a name of actor {actor.id}; "
            f"add it with POST /actors/{actor.id}/aliases",
        ),
        ("aliases.2.name", f"name 'Iran' already belongs to actor {IRAN}"),
        ("parent_id", f"is {IRAN}; change it with PUT /actors/{actor.id}/parent"),
        ("description", "is registered as 'coalition'"),
        ("category", "is registered as state_backed"),
    ]


def test_a_language_where_the_registry_has_none_is_a_conflict() -> None:
    assert conflicts(aliases=[Alias(name="Hachd", language="fr")]) == [
        ("aliases.0.language", "'Hachd' is registered with language None")
    ]


def test_change_digest_is_the_request_not_its_spelling() -> None:
    one = change_digest("correction", {"reason": "r", "changes": {"summary": "x"}})
    same = change_digest("correction", {"changes": {"summary": "x"}, "reason": "r"})
    assert one == same
    assert (
        one
        == hashlib.sha256(
            b'{"changes":{"summary":"x"},"kind":"correction","reason":"r"}'
        ).hexdigest()
    )
    assert change_digest("retraction", {"reason": "r", "changes": {"summary": "x"}}) != one


def test_default_key() -> None:
    assert default_key("ab" * 32) == "sha256:" + "ab" * 32
