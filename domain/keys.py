"""API keys: who may write to the log. Only a hash of each secret is ever stored.

A key's id is derived from the hash of its secret, so checking a presented
secret is one lookup by id, and the secret itself is never written anywhere.
Keys live in their own application (their own table or file): credentials are
not part of the public record, nor of its exports.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import get_topic

from domain.errors import RevokedKeyError, UnknownKeyError
from domain.history import aggregates_created_by

KEY_NAMESPACE = uuid5(NAMESPACE_URL, "urn:timeline:api-key")
PREFIX = "tl_"


def digest_of(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def key_id_for(secret: str) -> UUID:
    return uuid5(KEY_NAMESPACE, digest_of(secret))


def new_secret() -> str:
    # 256 bits from the OS: a hash of it cannot be reversed by guessing.
    return PREFIX + secrets.token_urlsafe(32)


class ApiKey(Aggregate):
    @staticmethod
    def create_id(digest: str, **_: Any) -> UUID:
        return uuid5(KEY_NAMESPACE, digest)

    @event("Issued")
    def __init__(self, digest: str, name: str) -> None:
        self.digest = digest
        self.name = name
        self.revoked = False
        self.revoked_reason: str | None = None

    @event("Revoked")
    def revoke(self, reason: str | None) -> None:
        self.revoked = True
        self.revoked_reason = reason


class Keyring(Application[UUID]):
    """Issues, revokes and checks keys.

    A verified key is trusted for `cache_seconds` without reading the store
    again: checking a key is on every write's path. A revocation made through
    this keyring applies at once; one made by another process (the CLI, another
    server) applies here within `cache_seconds`. Revocation is final, so a
    revoked key is remembered for good, and unknown keys are never cached (a
    key just issued elsewhere works at once).
    """

    name = "timeline_keys"  # names its PostgreSQL table: keep it stable
    CACHE_LIMIT = 10_000

    def __init__(self, env: dict[str, str] | None = None, cache_seconds: float = 1.0) -> None:
        super().__init__(env)
        self.cache_seconds = cache_seconds
        # key id -> (digest of its secret, trusted until on the monotonic clock)
        self._verified: dict[UUID, tuple[str, float]] = {}
        self._revoked: set[UUID] = set()

    def issue_key(self, name: str) -> tuple[ApiKey, str]:
        """A new key and its secret; the secret is shown once and never stored."""
        secret = new_secret()
        key = ApiKey(digest=digest_of(secret), name=name)
        self.save(key)
        return key, secret

    def revoke_key(self, key_id: UUID, reason: str | None = None) -> ApiKey:
        key = self._find_key(key_id)
        if key is None:
            raise UnknownKeyError(str(key_id))
        if not key.revoked:
            key.revoke(reason)
            self.save(key)
        self._revoked.add(key.id)
        self._verified.pop(key.id, None)
        return key

    def list_keys(self) -> list[ApiKey]:
        return aggregates_created_by(self, get_topic(ApiKey.Issued))

    def authenticate(self, secret: str) -> UUID:
        """The id of the key with this secret; raises if unknown or revoked."""
        key_id = self.cached(secret)
        if key_id is not None:
            return key_id
        digest = digest_of(secret)
        key = self._find_key(uuid5(KEY_NAMESPACE, digest))
        if key is None or key.digest != digest:
            raise UnknownKeyError("unknown API key")
        if key.revoked:
            self._revoked.add(key.id)
            raise RevokedKeyError(key.id)
        if len(self._verified) >= self.CACHE_LIMIT:
            self._verified.clear()
        self._verified[key.id] = (digest, time.monotonic() + self.cache_seconds)
        return key.id

    def cached(self, secret: str) -> UUID | None:
        """The key id if this secret was verified recently (no store read);
        None when the store must be asked. Raises for a key known revoked."""
        digest = digest_of(secret)
        key_id = uuid5(KEY_NAMESPACE, digest)
        if key_id in self._revoked:
            raise RevokedKeyError(key_id)
        entry = self._verified.get(key_id)
        if entry is not None and entry[0] == digest and time.monotonic() < entry[1]:
            return key_id
        return None

    def _find_key(self, key_id: UUID) -> ApiKey | None:
        try:
            found = self.repository.get(key_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, ApiKey) else None
