"""Fixtures: every API test runs against a real SQLite file and a real PostgreSQL.

PostgreSQL tests each get a fresh schema in the `test` database and drop it after.
Locally an unreachable PostgreSQL skips those tests; with CI=true it fails them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from fastapi.testclient import TestClient

from service.api import create_app
from service.settings import Settings

POSTGRES_URL = os.environ.get(
    "TIMELINE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _postgres_error() -> str | None:
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            return None
    except psycopg.Error as error:
        return str(error)


def require_postgres() -> None:
    error = _postgres_error()
    if error is None:
        return
    message = f"PostgreSQL at {POSTGRES_URL} is unreachable: {error}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def sqlite_settings(tmp_path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path}/timeline.sqlite3")


@pytest.fixture
def postgres_settings() -> Iterator[Settings]:
    require_postgres()
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield Settings(database_url=POSTGRES_URL, postgres_schema=schema, postgres_pool_size=4)
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request) -> Settings:
    """The same test, once per store."""
    return request.getfixturevalue(f"{request.param}_settings")


@contextmanager
def keyed_client(settings: Settings) -> Iterator[TestClient]:
    """The real app over a real store, sending a valid API key with every request."""
    with TestClient(create_app(settings)) as test_client:
        _, secret = test_client.app.state.keyring.issue_key("tests")
        test_client.headers["Authorization"] = f"Bearer {secret}"
        yield test_client


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with keyed_client(settings) as test_client:
        yield test_client


@pytest.fixture(params=["sqlite", "postgres"])
def store_env(request, tmp_path) -> Iterator[dict[str, str]]:
    """Environment for `timeline` processes over a fresh store, once per store."""
    if request.param == "sqlite":
        yield {"TIMELINE_DATABASE_URL": f"sqlite:///{tmp_path}/timeline.sqlite3"}
        return
    require_postgres()
    schema = f"proc_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield {"TIMELINE_DATABASE_URL": POSTGRES_URL, "TIMELINE_POSTGRES_SCHEMA": schema}
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
