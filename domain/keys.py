"""API keys: who may write to the log. Only a hash of each secret is ever stored.

A key's id is derived from the hash of its secret, so checking a presented
secret is one lookup by id, and the secret itself is never written anywhere.
Keys live in their own application (their own table or file): credentials are
not part of the public record, nor of its exports.
"""

from __future__ import annotations

import hashlib
import secrets
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
    name = "timeline_keys"  # names its PostgreSQL table: keep it stable

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
        return key

    def list_keys(self) -> list[ApiKey]:
        return aggregates_created_by(self, get_topic(ApiKey.Issued))

    def authenticate(self, secret: str) -> UUID:
        """The id of the key with this secret; raises if unknown or revoked."""
        key = self._find_key(key_id_for(secret))
        if key is None or key.digest != digest_of(secret):
            raise UnknownKeyError("unknown API key")
        if key.revoked:
            raise RevokedKeyError(key.id)
        return key.id

    def _find_key(self, key_id: UUID) -> ApiKey | None:
        try:
            found = self.repository.get(key_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, ApiKey) else None
