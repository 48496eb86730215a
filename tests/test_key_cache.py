"""Verified API keys are cached; revocations still apply (at once here, within
the cache's bound in other processes). Two keyrings on one store stand for two
processes; the bound is set, not waited for: no timing is asserted."""

from __future__ import annotations

import pytest

from domain.errors import RevokedKeyError, UnknownKeyError
from service.settings import Settings
from service.storage import open_keyring


def test_revocation_applies_at_once_here_and_after_the_cache_bound_elsewhere(
    settings: Settings,
) -> None:
    here, elsewhere = open_keyring(settings), open_keyring(settings)
    try:
        key, secret = here.issue_key("desk")
        assert elsewhere.authenticate(secret) == key.id  # issued elsewhere: works at once
        assert here.authenticate(secret) == key.id
        assert here.cached(secret) == elsewhere.cached(secret) == key.id

        here.revoke_key(key.id, "left")
        with pytest.raises(RevokedKeyError):
            here.authenticate(secret)  # the revoking process: at once
        assert elsewhere.cached(secret) == key.id  # elsewhere: trusted until the bound ...

        elsewhere._verified.clear()  # ... which has now passed
        with pytest.raises(RevokedKeyError):
            elsewhere.authenticate(secret)
        with pytest.raises(RevokedKeyError):
            elsewhere.cached(secret)  # a revoked key is remembered
    finally:
        here.close()
        elsewhere.close()


def test_unknown_keys_are_never_cached(settings: Settings) -> None:
    keyring = open_keyring(settings)
    try:
        for _ in range(2):
            with pytest.raises(UnknownKeyError):
                keyring.authenticate("tl_not-a-key")
            assert keyring.cached("tl_not-a-key") is None
    finally:
        keyring.close()
