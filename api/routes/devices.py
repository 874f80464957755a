"""Field devices: enrol a device's public key for an organisation's site, list, read, revoke.

A device makes its own Ed25519 key and sends only the public half; its ID is the key ID.
Enrolment registers the key as a signer and answers with a fresh MQTT broker password,
shown once and kept nowhere by the log (the broker's accounts hold its hash when the
deployment connects one: `create_app(broker_accounts=…)`, as `herbtrace serve` does when
it has the broker's admin access).
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep, organisation_param, require, require_body
from api.errors import error_responses
from api.pagination import KeyAfter, KeyPage, Limit, key_page_of
from api.services import BrokerAccountsDep
from traceability.domain.sites import get_site
from traceability.enrolment import (
    DeviceInfo,
    enrol_device,
    get_device,
    list_devices,
    revoke_device,
)
from traceability.errors import InvalidInput, NotFound

router = APIRouter(prefix="/v1/devices", tags=["devices"])

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]


def _rfc3339_text(value: object) -> object:
    """Refuse a number as a time: 253402300800 would be read as milliseconds, silently."""
    if value is not None and not isinstance(value, str):
        raise ValueError("a time is an RFC 3339 string with a zone, e.g. 2026-09-15T08:00:00Z")
    return value


Time = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text)]
"""A time in a request body: an RFC 3339 string with a zone (no naive times, no numbers)."""

DeviceId = Annotated[
    str, Path(pattern=r"^[0-9a-f]{32}$", description="the device's key ID (32 hex)")
]


class DeviceIn(BaseModel):
    """A device to enrol: its public key, where it works, its role and validity."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "public_key": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
                    "organisation": "org-fusong-coop",
                    "site": "site-fusong-wanliang",
                    "name": "万良 handheld 2",
                    "role": "device",
                }
            ]
        },
    )

    public_key: str = Field(
        description="the raw 32-byte Ed25519 public key, standard base64", max_length=64
    )
    organisation: Identifier
    site: Identifier = Field(description="a registered site of the organisation")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Literal["device", "inspector"] = "device"
    valid_from: Time | None = Field(
        default=None, description="default: now; with a zone, from 1970 to before 9000"
    )
    valid_until: Time | None = Field(
        default=None, description="default: no end; with a zone, from 1970 to before 9000"
    )


class SignerOut(BaseModel):
    """The device's signer record: role and validity as the log checks them."""

    key_id: str
    public_key: str = Field(description="hex")
    name: str
    organisation: str
    role: str
    status: str = Field(examples=["active"])
    valid_from: str
    valid_until: str | None
    revoked_at: str | None


class DeviceOut(BaseModel):
    """An enrolled device."""

    device_id: str = Field(examples=["5f0c3c1e2b7d4a6f8e9d0c1b2a394857"])
    organisation: str = Field(examples=["org-fusong-coop"])
    site: str = Field(examples=["site-fusong-wanliang"])
    broker_username: str
    enrolled_at: str
    signer: SignerOut


class EnrolmentOut(BaseModel):
    """A new device with its broker password, shown only in this answer."""

    device: DeviceOut
    broker_username: str
    broker_password: str = Field(description="shown once; the log keeps no copy")
    broker_password_installed: bool = Field(
        description="whether this server created the device's broker account with it"
    )


class RevokeIn(BaseModel):
    """When the revocation takes effect."""

    model_config = ConfigDict(extra="forbid")

    at: Time | None = Field(
        default=None,
        description="default: now; with a zone; after the device's last entry in the log "
        "(an earlier time is refused with 400)",
    )


def device_out(info: DeviceInfo) -> DeviceOut:
    """The response model of a device."""
    return DeviceOut.model_validate(info.to_json())


def _stored_organisation() -> Any:
    """Owner lookup: the organisation of the device the path names (None if unknown)."""

    async def lookup(request: Request, engine: Engine) -> str | None:
        device_id = request.path_params.get("device_id", "")

        def find() -> str | None:
            try:
                return get_device(engine, device_id).organisation
            except NotFound:
                return None

        return await run_in_threadpool(find)

    return lookup


def _public_key(text: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput("public_key is not standard base64") from exc
    if len(key) != 32:
        raise InvalidInput(f"public_key must be 32 bytes (raw Ed25519), got {len(key)}")
    return key


def _check_site(engine: Engine, organisation: str, site: str) -> None:
    try:
        with engine.connect() as conn:
            owner = get_site(conn, site).organisation
    except NotFound as exc:
        raise InvalidInput(f"site {site} is not registered") from exc
    if owner != organisation:
        raise InvalidInput(f"site {site} belongs to {owner}, not {organisation}")


@router.post("", status_code=201, responses=error_responses(400, 401, 403, 409, 422))
def enrol(
    engine: EngineDep,
    accounts: BrokerAccountsDep,
    device: Annotated[DeviceIn, require_body(DeviceIn, "admin", "operator", registers_key=True)],
) -> EnrolmentOut:
    """Enrol a device for a site of the organisation (operators: their own), in a role the
    organisation's kind may hold (403 otherwise: only a testing laboratory has inspectors).
    400 when the key is malformed or already enrolled, the organisation is not registered
    or the site is not the organisation's; 422 when the query names another organisation."""
    key = _public_key(device.public_key)
    _check_site(engine, device.organisation, device.site)
    enrolment = enrol_device(
        engine,
        public_key=key,
        organisation=device.organisation,
        site=device.site,
        name=device.name,
        role=device.role,
        valid_from=device.valid_from,
        valid_until=device.valid_until,
    )
    info = enrolment.device
    if accounts is not None:
        accounts.set(info.broker_username, enrolment.broker_password)
    return EnrolmentOut(
        device=device_out(info),
        broker_username=info.broker_username,
        broker_password=enrolment.broker_password,
        broker_password_installed=accounts is not None,
    )


@router.get(
    "",
    dependencies=[require("admin", "regulator", "operator", owner=organisation_param())],
    responses=error_responses(401, 403, 422),
)
def list_devices_route(
    engine: EngineDep,
    organisation: Annotated[
        str | None,
        Query(
            pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
            description="only this organisation's devices (operators must pass their own)",
        ),
    ] = None,
    site: Annotated[str | None, Query(max_length=64)] = None,
    after: KeyAfter = None,
    limit: Limit = 50,
) -> KeyPage[DeviceOut]:
    """List enrolled devices by ID, revoked ones included (see `signer.status`)."""
    rows = sorted(
        (
            d
            for d in list_devices(engine)
            if (organisation is None or d.organisation == organisation)
            and (site is None or d.site == site)
            and (after is None or d.device_id > after)
        ),
        key=lambda d: d.device_id,
    )[: limit + 1]
    return key_page_of(rows, limit, lambda d: d.device_id, device_out)


@router.get(
    "/{device_id}",
    dependencies=[require("admin", "regulator", "operator", owner=_stored_organisation())],
    responses=error_responses(401, 403, 404, 422),
)
def read_device(engine: EngineDep, device_id: DeviceId) -> DeviceOut:
    """One enrolled device."""
    return device_out(get_device(engine, device_id))


@router.post(
    "/{device_id}/revoke",
    dependencies=[require("admin", "operator", owner=_stored_organisation())],
    responses=error_responses(400, 401, 403, 404, 422),
)
def revoke(
    engine: EngineDep,
    accounts: BrokerAccountsDep,
    device_id: DeviceId,
    when: RevokeIn | None = None,
) -> DeviceOut:
    """Revoke a device from `at` (default now): the log refuses every envelope it signs
    from then on, and its broker account is removed when this server manages the broker.
    400 when `at` is not after the device's last entry in the log (the log cannot take an
    accepted entry back, so a revocation never predates one)."""
    info = revoke_device(engine, device_id, at=when.at if when else None)
    if accounts is not None:
        accounts.remove(info.broker_username)
    return device_out(info)
