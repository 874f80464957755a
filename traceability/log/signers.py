"""The signer registry: who may append, under which key, and since and until when."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from traceability.errors import InvalidInput, SignerNotActive, UnknownSigner
from traceability.keys import key_id_for, load_public_key
from traceability.log.entry import format_time
from traceability.log.sequencing import last_received
from traceability.storage import tables
from traceability.storage.db import WRITE, write_transaction
from traceability.types import KeyID

_signers = tables.signers

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
"""No validity or revocation time of the registry is earlier (the log's times are all later)."""
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
"""Nor this late: far enough to mean "no end", and far from `datetime.max`, whose arithmetic
and UTC conversion overflow."""

TICK = timedelta(microseconds=1)
"""The resolution of the log's received times (RFC 3339 with microseconds)."""

ROLES = ("device", "operator", "inspector", "regulator", "importer", "admin", "system")
"""`system` is herbtrace's own rules signer, which signs `alert` envelopes (traceability.domain)."""


@dataclass(frozen=True, slots=True)
class SignerInfo:
    """A signer as the log checks it."""

    key_id: KeyID
    public_key: bytes
    name: str
    organisation: str
    role: str
    status: str
    valid_from: datetime
    valid_until: datetime | None
    revoked_at: datetime | None

    def check_active(self, at: datetime) -> None:
        """Raise SignerNotActive unless the signer may append at `at`."""
        if self.revoked_at is not None and at >= self.revoked_at:
            raise SignerNotActive(f"signer {self.key_id} was revoked at {self.revoked_at}")
        if at < self.valid_from:
            raise SignerNotActive(f"signer {self.key_id} is not valid before {self.valid_from}")
        if self.valid_until is not None and at >= self.valid_until:
            raise SignerNotActive(f"signer {self.key_id} expired at {self.valid_until}")

    def to_json(self) -> dict[str, object]:
        """Return the signer as JSON data (times in RFC 3339)."""

        def iso(t: datetime | None) -> str | None:
            return None if t is None else t.astimezone(UTC).isoformat()

        return {
            "key_id": self.key_id,
            "public_key": self.public_key.hex(),
            "name": self.name,
            "organisation": self.organisation,
            "role": self.role,
            "status": self.status,
            "valid_from": iso(self.valid_from),
            "valid_until": iso(self.valid_until),
            "revoked_at": iso(self.revoked_at),
        }


def _utc(t: datetime | None) -> datetime | None:
    """A stored time as an aware UTC datetime (naive ones were stored in UTC)."""
    if t is None:
        return None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def registry_time(t: datetime | None, what: str) -> datetime | None:
    """A validity or revocation time given to the registry, in UTC; InvalidInput when it has
    no UTC equivalent (e.g. 0001-01-01T00:00+01:00) or lies outside [EARLIEST, LATEST).

    A naive time is taken as UTC (the command line's `--valid-until 2027-01-01`); the HTTP
    API refuses naive times before they get here.
    """
    if t is None:
        return None
    try:
        when = t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise InvalidInput(f"{what} {t.isoformat()} has no UTC equivalent") from exc
    if not EARLIEST <= when < LATEST:
        raise InvalidInput(
            f"{what} must lie from {EARLIEST.isoformat()} to before {LATEST.isoformat()}; "
            f"got {when.isoformat()}"
        )
    return when


def _info(row: sa.Row[tuple[object, ...]]) -> SignerInfo:
    m = row._mapping
    return SignerInfo(
        key_id=KeyID(m["key_id"]),
        public_key=bytes(m["public_key"]),
        name=m["name"],
        organisation=m["organisation"],
        role=m["role"],
        status=m["status"],
        valid_from=_utc(m["valid_from"]) or datetime.min.replace(tzinfo=UTC),
        valid_until=_utc(m["valid_until"]),
        revoked_at=_utc(m["revoked_at"]),
    )


def register_signer(
    engine: Engine,
    *,
    public_key: bytes,
    name: str,
    organisation: str,
    role: str,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
) -> SignerInfo:
    """Register a public key; registering the same key again returns the existing signer."""
    load_public_key(public_key)
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}; got {role!r}")
    if not name.strip() or not organisation.strip():
        raise InvalidInput("a signer needs a name and an organisation")
    now = datetime.now(UTC)
    start = registry_time(valid_from, "valid_from") or now
    end = registry_time(valid_until, "valid_until")
    if end is not None and end <= start:
        raise InvalidInput("valid_until must be later than valid_from")
    key_id = key_id_for(public_key)
    # A write transaction from the start: on SQLite a read that later writes would fail with
    # "database is locked" if another connection wrote in between.
    with engine.connect() as raw, _writing(raw) as conn:
        existing = conn.execute(sa.select(_signers).where(_signers.c.key_id == key_id)).first()
        if existing is not None:
            return _info(existing)
        conn.execute(
            _signers.insert().values(
                key_id=key_id,
                public_key=public_key,
                name=name,
                organisation=organisation,
                role=role,
                status="active",
                valid_from=start,
                valid_until=end,
                revoked_at=None,
                created_at=now,
            )
        )
    return get_signer(engine, key_id)


@contextmanager
def _writing(raw: Connection) -> Iterator[Connection]:
    """A transaction on `raw` that takes SQLite's write lock when it begins."""
    conn = raw.execution_options(**{WRITE: True})
    with conn.begin():
        yield conn


def revoke_signer(engine: Engine, key_id: str, *, at: datetime | None = None) -> SignerInfo:
    """Revoke a signer from `at` (default now): the log refuses its envelopes from then on.

    A revocation takes effect after the signer's last entry in the log, never before: the
    log cannot take back what it accepted, and an earlier time would make the audit report
    that entry as signed outside its signer's validity, for ever. An `at` at or before that
    entry's received time is refused (InvalidInput, naming the earliest time allowed); the
    default, now, is moved just past it should the clock lag the log. The check runs in the
    append lock's transaction (SQLite's write lock, PostgreSQL's advisory lock), so no entry
    of the signer can slip in between it and the revocation. Revoking twice keeps the first.
    """
    asked = registry_time(at, "the revocation time")
    with write_transaction(engine) as conn:
        current = get_signer_in(conn, key_id)  # UnknownSigner when it does not exist
        if current.revoked_at is not None:
            return current
        last = last_received(conn, key_id)
        if asked is None:
            when = datetime.now(UTC) if last is None else max(datetime.now(UTC), last + TICK)
        elif last is not None and asked <= last:
            raise InvalidInput(
                f"signer {key_id}'s last entry was received at {format_time(last)}; "
                f"a revocation takes effect after it, not at {asked.isoformat()} "
                f"(use {format_time(last + TICK)} or later, or omit the time for now)"
            )
        else:
            when = asked
        conn.execute(
            _signers.update()
            .where(_signers.c.key_id == key_id, _signers.c.revoked_at.is_(None))
            .values(status="revoked", revoked_at=when)
        )
    return get_signer(engine, key_id)


def get_signer_in(conn: Connection, key_id: str) -> SignerInfo:
    """Look a signer up within an open transaction; UnknownSigner if absent."""
    row = conn.execute(sa.select(_signers).where(_signers.c.key_id == key_id)).first()
    if row is None:
        raise UnknownSigner(f"no signer has key ID {key_id}")
    return _info(row)


def get_signer(engine: Engine, key_id: str) -> SignerInfo:
    """Look a signer up; UnknownSigner if absent."""
    with engine.connect() as conn:
        return get_signer_in(conn, key_id)


def signers_by_id(conn: Connection, key_ids: set[str]) -> dict[KeyID, SignerInfo]:
    """Return the registered signers among `key_ids`."""
    if not key_ids:
        return {}
    rows = conn.execute(sa.select(_signers).where(_signers.c.key_id.in_(sorted(key_ids))))
    return {info.key_id: info for info in map(_info, rows)}


def refused_at(when: datetime) -> sa.Select[tuple[str]]:
    """A query of the key IDs the log refuses at `when`: revoked, or past `valid_until`."""
    return sa.select(_signers.c.key_id).where(
        sa.or_(_signers.c.revoked_at <= when, _signers.c.valid_until <= when)
    )


def list_signers(engine: Engine) -> list[SignerInfo]:
    """Return every registered signer, by organisation then name."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(_signers).order_by(_signers.c.organisation, _signers.c.name))
        return [_info(r) for r in rows]


def require_signer(signers: dict[KeyID, SignerInfo], key_id: str) -> SignerInfo:
    """Return the signer with `key_id` from a fetched map; UnknownSigner if absent."""
    info = signers.get(KeyID(key_id))
    if info is None:
        raise UnknownSigner(f"no signer has key ID {key_id}")
    return info
