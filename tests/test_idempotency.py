"""The rule choosing a write's idempotency key from the body and the header."""

from __future__ import annotations

from service.idempotency import request_key


def test_body_key_alone_or_header_alone() -> None:
    assert request_key(None, None) == (None, [])
    assert request_key("k-1", None) == ("k-1", [])
    assert request_key(None, "k-1") == ("k-1", [])
    assert request_key(None, "  k-1 ") == ("k-1", [])  # stripped, as the body's key is
    assert request_key("k-1", "k-1") == ("k-1", [])


def test_the_header_obeys_the_body_rules() -> None:
    pattern = "String should match pattern '^[\\x21-\\x7e]+$'"
    for bad, msg, kind in (
        ("a b\x7f", pattern, "string_pattern_mismatch"),
        ("é", pattern, "string_pattern_mismatch"),
        ("   ", "String should have at least 1 character", "string_too_short"),
        ("k" * 201, "String should have at most 200 characters", "string_too_long"),
    ):
        assert request_key(None, bad) == (
            None,
            [{"field": "Idempotency-Key", "msg": msg, "type": kind}],
        ), bad


def test_body_and_header_must_agree() -> None:
    key, problems = request_key("k-1", "k-2")
    assert key is None
    assert problems == [
        {
            "field": "key",
            "msg": "differs from the Idempotency-Key header; send one or make them equal",
            "type": "value_error",
        }
    ]
