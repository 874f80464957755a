"""Enrolling and revoking field devices: the signer registry plus the device's own record.

A device's ID is the key ID of the Ed25519 key it generated itself (the private key never
leaves it); the same ID is its MQTT username and client ID. Enrolment registers the public
key as a signer, records organisation and site, and returns a fresh broker password once:
the log keeps no copy, only the broker's accounts hold its hash (written by
`devices.broker`). Revocation revokes the signer, so the log refuses every envelope it
receives from then on, whatever the broker still lets through; `devices.broker.revocations`
carries it to the broker, which then disconnects the device.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from traceability.errors import InvalidInput, NotFound, SignerNotActive
from traceability.keys import key_id_for
from traceability.log.signers import (
    SignerInfo,
    get_signer_in,
    refused_at,
    register_signer,
    revoke_signer,
)
from traceability.storage import tables

_devices = tables.devices

PASSWORD_BYTES = 24
"""Random bytes in a broker password (URL-safe base64: 32 characters)."""


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """An enrolled device: where it works, and its signer record (key, role, validity)."""

    device_id: str
    organisation: str
    site: str
    broker_username: str
    enrolled_at: datetime
    signer: SignerInfo

    @property
    def status(self) -> str:
        """`active` or `revoked`, from the signer registry."""
        return self.signer.status

    def to_json(self) -> dict[str, object]:
        """Return the device as JSON data."""
        return {
            "device_id": self.device_id,
            "organisation": self.organisation,
            "site": self.site,
            "broker_username": self.broker_username,
            "enrolled_at": self.enrolled_at.astimezone(UTC).isoformat(),
            "signer": self.signer.to_json(),
        }


@dataclass(frozen=True, slots=True)
class Enrolment:
    """A new device and its broker password, which is shown once and stored nowhere here."""

    device: DeviceInfo
    broker_password: str

    def __repr__(self) -> str:
        return f"Enrolment({self.device.device_id}, broker_password=…)"


def enrol_device(
    engine: Engine,
    *,
    public_key: bytes,
    organisation: str,
    site: str,
    name: str | None = None,
    role: str = "device",
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
) -> Enrolment:
    """Register a device's public key and record it; return it with a new broker password.

    A key already registered (e.g. by `herbtrace signer add`) is enrolled if it is active, of
    the same organisation and in the same role (so the role checked before enrolment is the
    role the key holds). Enrolling the same device twice is refused (InvalidInput).
    """
    if not site.strip():
        raise InvalidInput("a device needs a site")
    if len(site) > 200:
        raise InvalidInput("a site name is at most 200 characters")
    device_id = key_id_for(public_key)
    with engine.connect() as conn:
        if _row(conn, device_id) is not None:
            raise InvalidInput(f"device {device_id} is already enrolled")
    signer = register_signer(
        engine,
        public_key=public_key,
        name=name or f"{site} {device_id[:8]}",
        organisation=organisation,
        role=role,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    if signer.organisation != organisation:
        raise InvalidInput(
            f"key {device_id} is registered for {signer.organisation!r}, not {organisation!r}"
        )
    if signer.role != role:
        raise InvalidInput(
            f"key {device_id} is registered in role {signer.role!r}, not {role!r}: a device "
            "is enrolled in the role its key was authorised for"
        )
    if signer.revoked_at is not None:
        raise SignerNotActive(f"key {device_id} was revoked at {signer.revoked_at}")
    with engine.begin() as conn:
        try:
            conn.execute(
                _devices.insert().values(
                    device_id=device_id,
                    organisation=organisation,
                    site=site,
                    broker_username=device_id,
                    enrolled_at=datetime.now(UTC),
                )
            )
        except sa.exc.IntegrityError as exc:  # enrolled concurrently
            raise InvalidInput(f"device {device_id} is already enrolled") from exc
    return Enrolment(get_device(engine, device_id), secrets.token_urlsafe(PASSWORD_BYTES))


def revoke_device(engine: Engine, device_id: str, *, at: datetime | None = None) -> DeviceInfo:
    """Revoke a device's signer from `at` (default now); NotFound if it is not enrolled."""
    get_device(engine, device_id)
    revoke_signer(engine, device_id, at=at)
    return get_device(engine, device_id)


def get_device(engine: Engine, device_id: str) -> DeviceInfo:
    """Return an enrolled device; NotFound if there is none with this ID."""
    with engine.connect() as conn:
        row = _row(conn, device_id)
        if row is None:
            raise NotFound(f"no device {device_id} is enrolled")
        return _info(row, get_signer_in(conn, device_id))


def list_devices(engine: Engine) -> list[DeviceInfo]:
    """Return every enrolled device, by organisation, site and ID."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(_devices).order_by(
                _devices.c.organisation, _devices.c.site, _devices.c.device_id
            )
        ).all()
        return [_info(row, get_signer_in(conn, row._mapping["device_id"])) for row in rows]


def refused_broker_accounts(engine: Engine, now: datetime | None = None) -> set[str]:
    """Broker usernames of the devices whose keys the log refuses at `now` (default now)."""
    when = now or datetime.now(UTC)
    query = sa.select(_devices.c.broker_username).where(
        _devices.c.device_id.in_(refused_at(when).scalar_subquery())
    )
    with engine.connect() as conn:
        return {row[0] for row in conn.execute(query)}


def _row(conn: Connection, device_id: str) -> sa.Row[tuple[object, ...]] | None:
    return conn.execute(sa.select(_devices).where(_devices.c.device_id == device_id)).first()


def _info(row: sa.Row[tuple[object, ...]], signer: SignerInfo) -> DeviceInfo:
    m = row._mapping
    enrolled = m["enrolled_at"]
    return DeviceInfo(
        device_id=m["device_id"],
        organisation=m["organisation"],
        site=m["site"],
        broker_username=m["broker_username"],
        enrolled_at=enrolled if enrolled.tzinfo else enrolled.replace(tzinfo=UTC),
        signer=signer,
    )
