"""API keys on the wire: `Authorization: Bearer <key>`.

Writes need a key (TIMELINE_WRITE_KEYS_REQUIRED, on by default); reads are open
unless TIMELINE_READ_KEYS_REQUIRED is set. 401: no key or an unknown one;
403: a revoked one. The key's id is recorded in every event it writes.
"""

from __future__ import annotations

import asyncio
from typing import Annotated
from uuid import UUID

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from domain.errors import RevokedKeyError, UnknownKeyError
from domain.keys import Keyring, digest_of

bearer = HTTPBearer(auto_error=False, description="An API key from `timeline keys create`.")
CHALLENGE = {"WWW-Authenticate": "Bearer"}


async def check_key(connection: HTTPConnection, secret: str | None, needed: bool) -> str | None:
    """The key id for `secret`; raises 401/403 as the rules say."""
    if secret is None:
        if needed:
            raise HTTPException(
                401, "missing API key: send Authorization: Bearer <key>", headers=CHALLENGE
            )
        return None
    keyring = connection.app.state.keyring
    try:
        # A recently verified key is answered from memory, without a thread hop.
        key_id = keyring.cached(secret) or await _verified(keyring, secret)
    except UnknownKeyError:
        raise HTTPException(401, "unknown API key", headers=CHALLENGE) from None
    except RevokedKeyError:
        raise HTTPException(403, "this API key has been revoked") from None
    return str(key_id)


# Verifications in flight, by keyring and key: when a cached key expires, the
# requests carrying it wait for one store read instead of each making its own.
_checking: dict[tuple[int, str], asyncio.Future[UUID]] = {}


async def _verified(keyring: Keyring, secret: str) -> UUID:
    which = (id(keyring), digest_of(secret))
    check = _checking.get(which)
    if check is None:
        check = asyncio.ensure_future(run_in_threadpool(keyring.authenticate, secret))
        _checking[which] = check
        check.add_done_callback(lambda _: _checking.pop(which, None))
    return await asyncio.shield(check)


async def access(
    connection: HTTPConnection,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """Router dependency: checks the key a request needs and remembers who it is."""
    settings = connection.app.state.settings
    method = connection.scope.get("method", "GET")
    writing = method not in ("GET", "HEAD", "OPTIONS")
    needed = settings.write_keys_required if writing else settings.read_keys_required
    secret = credentials.credentials if credentials else None
    connection.state.key_id = await check_key(connection, secret, needed)


def writer(connection: HTTPConnection) -> str | None:
    """The key id that authorised this request (None when keys are not required)."""
    return getattr(connection.state, "key_id", None)
