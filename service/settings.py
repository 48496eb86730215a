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
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    max_batch_reports: int = Field(default=10_000, ge=1)
    log_page_max: int = Field(default=10_000, ge=1)


@lru_cache
def get_settings() -> Settings:
    return Settings()
