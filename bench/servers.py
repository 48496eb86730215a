"""Stores and server processes for the benchmark, all on 127.0.0.1.

A store is a fresh SQLite directory or a fresh PostgreSQL schema (created with
psycopg, dropped afterwards). Servers are real processes: `timeline serve`
(uvicorn, uvloop, httptools, one worker, as `make serve` runs it) and the bare
ceiling app under the same uvicorn settings.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get(
    "TIMELINE_BENCH_POSTGRES_URL",
    os.environ.get("TIMELINE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_error(url: str = POSTGRES_URL) -> str | None:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=3):
            return None
    except psycopg.Error as error:
        return str(error).strip()


@dataclass
class Store:
    """One fresh store: its TIMELINE_* environment and Settings."""

    kind: str  # sqlite | postgres
    env: dict[str, str]

    def settings(self) -> Any:  # service.settings.Settings
        from service.settings import Settings

        if self.kind == "sqlite":
            return Settings(database_url=self.env["TIMELINE_DATABASE_URL"])
        return Settings(
            database_url=self.env["TIMELINE_DATABASE_URL"],
            postgres_schema=self.env["TIMELINE_POSTGRES_SCHEMA"],
        )


@contextlib.contextmanager
def fresh_store(kind: str, workdir: Path, name: str) -> Iterator[Store]:
    if kind == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=workdir))
        try:
            yield Store(kind, {"TIMELINE_DATABASE_URL": f"sqlite:///{directory}/timeline.sqlite3"})
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    import psycopg

    schema = f"bench_{name.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield Store(
            kind,
            {"TIMELINE_DATABASE_URL": POSTGRES_URL, "TIMELINE_POSTGRES_SCHEMA": schema},
        )
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


class Server:
    """A server process on a free loopback port, its log in the work directory."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.command = [*command, "--port", str(self.port)]
        self.env = {**os.environ, **env}
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, ready_path: str = "/healthz", timeout: float = 60) -> Server:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                self.command, cwd=ROOT, env=self.env, stdout=log, stderr=log
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.command} exited:\n{self.output()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + ready_path, timeout=1).status_code == 200:
                    return self
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"{self.command} did not start:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def rss_mb(self) -> float:
        return rss_mb(self.pid)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def rss_mb(pid: int) -> float:
    """Resident set of a process and its children (the view runners), in MB."""
    from bench.loadclient import rss_mb as tree_rss

    found = tree_rss(pid)
    if found is None:
        raise RuntimeError(f"no VmRSS for {pid}")
    return found


def api_key(store: Store) -> str | None:
    """A write key for the service, when this version of it has keys; else None."""
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "keys", "create", "bench"],
        cwd=ROOT,
        env={**os.environ, **store.env},
        capture_output=True,
    )
    if done.returncode != 0:
        return None
    return done.stdout.decode().strip().splitlines()[-1]


def timeline_server(store: Store, workdir: Path, name: str, **env: str) -> Server:
    """`timeline serve` over the store: the service as `make serve` runs it."""
    return Server(
        [sys.executable, "-m", "service.cli", "serve"],
        {**store.env, **env},
        workdir / f"{name}.log",
    )


def ceiling_server(workdir: Path, name: str) -> Server:
    """The bare FastAPI app of bench/ceiling_app.py with the service's uvicorn settings."""
    return Server(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.ceiling_app:app",
            "--host",
            "127.0.0.1",
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--workers",
            "1",
            "--log-level",
            "info",
        ],
        {},
        workdir / f"{name}.log",
    )
