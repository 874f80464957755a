"""herbtrace's settings, read from HERBTRACE_* environment variables and built lazily."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
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
    broker_dir: str | None = Field(
        default=None,
        description="Directory of the local Mosquitto broker (devices/broker): `device enroll` "
        "and `device revoke` update its password file and make it reload",
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
        "endpoints, sustained (authenticated writes have account_rate and device_rate)",
    )
    public_burst: int = Field(
        default=60, ge=1, le=1_000_000, description="Requests one client IP may make at once"
    )
    trusted_proxies: str = Field(
        default="",
        max_length=4_000,
        description="Comma-separated IP addresses or CIDR networks of the reverse proxies whose "
        "X-Forwarded-For and X-Forwarded-Proto `herbtrace serve` believes; empty (the default): "
        "none, every client is the address that connected",
    )
    account_rate: float = Field(
        default=20.0,
        gt=0,
        le=100_000,
        description="Authenticated writes (POST, PUT, PATCH, DELETE) a second per account "
        "(bearer token's user), sustained, per server process",
    )
    account_burst: int = Field(
        default=200, ge=1, le=1_000_000, description="Authenticated writes per account at once"
    )
    device_rate: float = Field(
        default=20.0,
        gt=0,
        le=100_000,
        description="Envelopes a second one signer (device or person) may submit over HTTP, "
        "and refusals a second of one device the ingest gateway keeps, per process",
    )
    device_burst: int = Field(
        default=200, ge=1, le=1_000_000, description="Envelopes of one signer at once"
    )
    refusals_kept_per_signer: int = Field(
        default=100,
        ge=0,
        le=10_000_000,
        description="Refused messages of one signer (or device) kept in full; beyond this, or "
        "beyond refusal_bytes_per_signer, only time, reason and hash are kept",
    )
    refusal_bytes_per_signer: int = Field(
        default=1_048_576,
        ge=0,
        le=1 << 40,
        description="Bytes of refused messages of one signer (or device) kept in full",
    )
    token_lifetime_days: int = Field(
        default=90,
        ge=1,
        le=3_650,
        description="Days a bearer token authenticates after it was issued",
    )
    auth_failures: int = Field(
        default=10,
        ge=1,
        le=1_000_000,
        description="Failed bearer-token authentications one client address may make in "
        "auth_failure_window seconds before further attempts get 429",
    )
    auth_failure_window: float = Field(
        default=60.0, gt=0, le=86_400, description="Seconds in which auth_failures are counted"
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: str) -> str:
        for item in (i.strip() for i in value.split(",") if i.strip()):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"HERBTRACE_TRUSTED_PROXIES lists IP addresses or CIDR networks "
                    f"separated by commas; {item!r} is neither"
                ) from None
        return value

    @property
    def trusted_proxy_networks(self) -> list[str]:
        """The trusted proxies as a list, each an IP address or CIDR network."""
        return [item.strip() for item in self.trusted_proxies.split(",") if item.strip()]

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
