"""Configuration, read from TIMELINE_* environment variables (or a .env file)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TIMELINE_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./data/timeline.sqlite3",
        description="sqlite:///PATH (default, embedded) or postgresql://USER@HOST:PORT/DB",
    )
    postgres_schema: str = Field(default="public", description="PostgreSQL schema for tables")
    postgres_pool_size: int = Field(default=10, ge=1)
    postgres_max_overflow: int = Field(default=10, ge=0)
    views_pool_size: int = Field(default=10, ge=4, description="PostgreSQL connections for views")
    read_your_writes_timeout: float = Field(default=3.0, ge=0, description="min_position wait, s")
    tally_start: str = Field(default="2023-10-17", description="Tally start ('mi-octobre')")
    tally_target: str = Field(default="United States", description="Whose forces the tally counts")
    write_keys_required: bool = Field(
        default=True, description="Writes need `Authorization: Bearer <key>`"
    )
    read_keys_required: bool = Field(default=False, description="Reads need a key too")
    run_projections: bool = Field(
        default=True, description="Run the view runners in this process (one per view)"
    )
    sse_heartbeat_seconds: float = Field(default=15, gt=0, description="SSE comment pings")
    sse_send_timeout_seconds: float = Field(
        default=10, gt=0, description="Drop a subscriber whose socket blocks this long"
    )
    subscriber_buffer: int = Field(default=1_000, ge=1, description="Messages queued per client")
    max_subscribers: int = Field(default=1_000, ge=1, description="Per process; 503 beyond")
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    max_import_bytes: int = Field(
        default=4 * 1024**3, ge=1024, description="CSV bodies of POST /imports (streamed)"
    )
    max_batch_reports: int = Field(default=10_000, ge=1)
    group_commit_max_reports: int = Field(
        default=10_000, ge=1, description="Reports per group commit (a request is never split)"
    )
    log_page_max: int = Field(default=10_000, ge=1)


@lru_cache
def get_settings() -> Settings:
    return Settings()
