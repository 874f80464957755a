"""herbtrace's settings, read from HERBTRACE_* environment variables and built lazily."""

from __future__ import annotations

import ipaddress
import re
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
    migration_database_url: str | None = Field(
        default=None,
        description="The URL `herbtrace init` migrates through, as the role owning the tables; "
        "unset means HERBTRACE_DATABASE_URL. On PostgreSQL, when its role differs from "
        "HERBTRACE_DATABASE_URL's, init grants that application role only what it needs "
        "(traceability/storage/roles.py)",
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

    clock_skew: int = Field(
        default=600,
        ge=0,
        le=86_400,
        description="Seconds an event's times may lie after the moment the log receives it "
        "(devices' clocks run fast); later times are refused as implausible",
    )

    scan_warn_count: int = Field(
        default=20,
        ge=1,
        le=1_000_000,
        description="Distinct scanners (client networks: IPv4 /24, IPv6 /48, as the server "
        "saw them) of one unit above which its consumer page warns of a copied code and "
        "regulators get a `counterfeit_scan` alert",
    )
    scan_warn_distance_km: int = Field(
        default=300,
        ge=1,
        le=20_040,
        description="Kilometres between two places one unit was scanned from above which the "
        "page warns; places are the browser's claim, so they never alert regulators",
    )
    scan_salt: str = Field(
        default=DEVELOPMENT_PASSPHRASE,
        min_length=16,
        description="Secret key of the salted hashes of scanners' network prefixes "
        "(traceability/scans/counter.py), so scanners are counted without storing addresses",
    )

    key_kdf_cost: Literal["rfc9106", "development-fast"] = Field(
        default="rfc9106",
        description="Argon2id cost of newly encrypted key files (traceability/key_wrapping.py): "
        "rfc9106 is RFC 9106's second recommended option (64 MiB, 3 passes, 4 lanes); "
        "development-fast is for test suites only and refused in production",
    )

    @model_validator(mode="after")
    def _refuse_development_secrets(self) -> Settings:
        if self.environment == "production" and self.key_kdf_cost != "rfc9106":
            raise ValueError("HERBTRACE_KEY_KDF_COST must be rfc9106 in production")
        for name in _PASSPHRASES:
            if not getattr(self, name):  # nothing can be encrypted with an empty passphrase
                raise ValueError(f"HERBTRACE_{name.upper()} must not be empty")
        if self.environment == "production":
            for name in (*_PASSPHRASES, *_PRODUCTION_SECRETS):
                problem = weak_secret(getattr(self, name))
                if problem is not None:
                    raise ValueError(f"HERBTRACE_{name.upper()} {problem} in production")
        return self


# Production secrets: one block, used by `_refuse_development_secrets` above.

MIN_SECRET_LENGTH = 16
"""The shortest secret production accepts, in characters. 16 is what HERBTRACE_SCAN_SALT has
always required; 16 characters of `openssl rand -base64 33` (which gives 44) carry 96 bits,
beyond guessing even without the key files' memory-hard KDF. It refuses the short words a
person would type, not a weak long one: secrets are meant to be generated, not chosen."""

_PASSPHRASES = ("log_key_passphrase", "import_key_passphrase")
"""Settings that encrypt a key file: never empty, in any environment."""
_PRODUCTION_SECRETS = ("scan_salt", "mqtt_password")
"""Further settings production checks like the passphrases."""

_PLACEHOLDER = re.compile(r"change[-_ ]?me|replace[-_ ]?me|placeholder|^<.*>$|^x+$", re.IGNORECASE)
"""Text an example file puts where a secret goes (deploy/systemd/herbtrace.env has
`change-me-…` values): a secret containing it was copied, not generated."""


def weak_secret(value: str) -> str | None:
    """Say what makes `value` unfit as a production secret, or None if nothing does."""
    if not value.strip():
        return "must not be empty"
    if value == DEVELOPMENT_PASSPHRASE:
        return "must be set to a secret, not the development default,"
    if _PLACEHOLDER.search(value):
        return "is the example file's placeholder; set it to a generated secret"
    if len(value) < MIN_SECRET_LENGTH:
        return f"must be at least {MIN_SECRET_LENGTH} characters (got {len(value)})"
    return None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process's settings, read once from the environment on first use."""
    return Settings()
