"""herbtrace's settings, read from HERBTRACE_* environment variables and built lazily."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
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
    import_key_passphrase: str = Field(
        default=DEVELOPMENT_PASSPHRASE,
        description="Encrypts the EPCIS import signer's key file at rest",
    )
    digital_link_host: str = Field(
        default="id.herbtrace.local",
        pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(:[0-9]{1,5})?$",
        description="Host of the GS1 Digital Link URIs of batches and units (the resolver's); "
        "the default is a reserved .local name, so nothing claims a domain it does not own",
    )

    mqtt_host: str = Field(default="127.0.0.1", description="The MQTT broker's host")
    mqtt_port: int = Field(default=1883, ge=1, le=65535, description="The MQTT broker's port")
    mqtt_username: str = Field(
        default="herbtrace-gateway", description="The ingest gateway's MQTT username"
    )
    mqtt_password: str = Field(default="", description="The ingest gateway's MQTT password")
    mqtt_ca_file: str | None = Field(
        default=None,
        description="CA certificate file that verifies the broker's TLS certificate; set, "
        "the gateway and the broker admin connect over TLS",
    )
    mqtt_admin_username: str = Field(
        default="herbtrace-admin", description="The broker's admin account (dynamic security)"
    )
    mqtt_admin_password: str = Field(
        default="",
        description="The broker admin's password, when no HERBTRACE_BROKER_DIR says it: with "
        "it, `device enroll/revoke` and the gateway change device accounts on the broker",
    )
    broker_dir: str | None = Field(
        default=None,
        description="Directory of the local Mosquitto broker (devices/broker): its admin.json "
        "lets `device enroll/revoke` and the gateway change device accounts on it",
    )

    catalogue_path: Path | None = Field(
        default=None,
        description="The operator's herb catalogue (TOML, same layout as the packaged "
        "traceability/data/herbs.toml); unset means the packaged catalogue",
    )

    public_rate: float = Field(
        default=10.0,
        gt=0,
        le=100_000,
        description="Requests a second one client IP may make to the public (anonymous) "
        "endpoints, sustained; authenticated calls are not limited",
    )
    public_burst: int = Field(
        default=60, ge=1, le=1_000_000, description="Requests one client IP may make at once"
    )

    scan_warn_count: int = Field(
        default=20,
        ge=1,
        le=1_000_000,
        description="Distinct scanners (client networks) of one unit above which its consumer "
        "page warns of a copied code and regulators get a `counterfeit_scan` alert",
    )
    scan_warn_distance_km: int = Field(
        default=300,
        ge=1,
        le=20_040,
        description="Kilometres between two places one unit was scanned from above which the "
        "page warns and regulators get a `counterfeit_scan` alert",
    )
    scan_salt: str = Field(
        default=DEVELOPMENT_PASSPHRASE,
        min_length=16,
        description="Secret key of the salted hashes of scanners' network prefixes "
        "(traceability/scans.py), so scanners are counted without storing addresses",
    )

    @model_validator(mode="after")
    def _refuse_development_secrets(self) -> Settings:
        if self.environment == "production" and self.log_key_passphrase == DEVELOPMENT_PASSPHRASE:
            raise ValueError("HERBTRACE_LOG_KEY_PASSPHRASE must be set to a secret in production")
        production = self.environment == "production"
        if production and self.import_key_passphrase == DEVELOPMENT_PASSPHRASE:
            raise ValueError("HERBTRACE_IMPORT_KEY_PASSPHRASE must be a secret in production")
        if production and self.scan_salt == DEVELOPMENT_PASSPHRASE:
            raise ValueError("HERBTRACE_SCAN_SALT must be a secret in production")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process's settings, read once from the environment on first use."""
    return Settings()
