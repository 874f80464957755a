"""herbtrace's settings, read from HERBTRACE_* environment variables and built lazily."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_PASSPHRASE = "herbtrace-development-only"  # noqa: S105 - refused outside development


class Settings(BaseSettings):
    """Every setting herbtrace reads; `HERBTRACE_<NAME>` in the environment overrides each."""

    model_config = SettingsConfigDict(env_prefix="HERBTRACE_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    database_url: str = Field(
        default="sqlite:///herbtrace.db",
        description="SQLAlchemy URL: sqlite:///FILE or postgresql+psycopg://USER@HOST/DB",
    )
    log_origin: str = Field(
        default="herbtrace.local/log",
        description="The checkpoint origin line and the log key's name (C2SP tlog-checkpoint)",
    )
    log_key_passphrase: str = Field(
        default=DEVELOPMENT_PASSPHRASE,
        description="Encrypts the log's private key at rest",
    )
    checkpoint_interval: float = Field(
        default=1.0, gt=0, description="Seconds between checkpoints while the log grows"
    )
    append_batch_size: int = Field(default=500, ge=1, le=10_000)
    verify_workers: int = Field(default=2, ge=1, le=64, description="Processes checking signatures")
    max_envelope_bytes: int = Field(default=65_536, ge=1_024)

    @model_validator(mode="after")
    def _refuse_development_secrets(self) -> Settings:
        if self.environment == "production" and self.log_key_passphrase == DEVELOPMENT_PASSPHRASE:
            raise ValueError("HERBTRACE_LOG_KEY_PASSPHRASE must be set to a secret in production")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process's settings, read once from the environment on first use."""
    return Settings()
