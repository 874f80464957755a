"""Enrolling and revoking devices on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import support
from sqlalchemy.engine import Engine

from traceability.enrolment import (
    enrol_device,
    get_device,
    list_devices,
    refused_broker_accounts,
    revoke_device,
)
from traceability.errors import InvalidInput, NotFound, SignerNotActive
from traceability.log.signers import get_signer, register_signer, revoke_signer


def test_enrol_registers_signer_and_device(engine: Engine) -> None:
    """Enrolment records the device under its key ID and registers the key as a signer;
    the broker password is fresh each time and kept nowhere."""
    a, b = support.TestSigner(), support.TestSigner()
    first = enrol_device(engine, public_key=a.public_key, organisation="抚松合作社", site="1号棚")
    second = enrol_device(engine, public_key=b.public_key, organisation="抚松合作社", site="2号棚")
    assert first.device.device_id == first.device.broker_username == a.key_id
    assert get_signer(engine, a.key_id).role == "device"
    assert len(first.broker_password) >= 32
    assert first.broker_password != second.broker_password
    assert first.broker_password not in repr(first)
    assert [d.device_id for d in list_devices(engine)] == [a.key_id, b.key_id]
    assert get_device(engine, a.key_id).site == "1号棚"


def test_enrol_twice_is_refused(engine: Engine) -> None:
    """A device already enrolled cannot be enrolled again."""
    a = support.TestSigner()
    enrol_device(engine, public_key=a.public_key, organisation="o", site="s")
    with pytest.raises(InvalidInput, match="already enrolled"):
        enrol_device(engine, public_key=a.public_key, organisation="o", site="s")


def test_existing_signer_enrols_only_in_its_organisation_and_active(engine: Engine) -> None:
    """A key registered earlier enrols if active, of the same organisation and in the same
    role; a revoked key, another organisation or another role is refused and no device row
    is written."""
    a, b, c = support.TestSigner(), support.TestSigner(), support.TestSigner()
    for s in (a, b, c):
        register_signer(engine, public_key=s.public_key, name="n", organisation="o", role="device")
    d = support.TestSigner()
    register_signer(engine, public_key=d.public_key, name="n", organisation="o", role="operator")
    with pytest.raises(InvalidInput, match="registered in role 'operator', not 'device'"):
        enrol_device(engine, public_key=d.public_key, organisation="o", site="s")
    revoke_signer(engine, b.key_id)
    enrol_device(engine, public_key=a.public_key, organisation="o", site="s")
    with pytest.raises(SignerNotActive):
        enrol_device(engine, public_key=b.public_key, organisation="o", site="s")
    with pytest.raises(InvalidInput, match="registered for"):
        enrol_device(engine, public_key=c.public_key, organisation="other", site="s")
    assert [d.device_id for d in list_devices(engine)] == [a.key_id]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"public_key": b"short"}, "32 bytes"),
        ({"site": " "}, "needs a site"),
        ({"role": "wizard"}, "role must be one of"),
        ({"organisation": ""}, "organisation"),
    ],
)
def test_bad_enrolment_is_refused(engine: Engine, kwargs: dict[str, object], fragment: str) -> None:
    """Bad keys, sites, roles and organisations raise InvalidInput and record nothing."""
    args: dict[str, object] = {
        "public_key": support.TestSigner().public_key,
        "organisation": "o",
        "site": "s",
        **kwargs,
    }
    with pytest.raises(InvalidInput, match=fragment):
        enrol_device(engine, **args)  # type: ignore[arg-type]
    assert list_devices(engine) == []


def test_revoke_revokes_the_signer(engine: Engine) -> None:
    """Revoking a device revokes its signer; revoking an unknown device is NotFound."""
    a = support.TestSigner()
    enrol_device(engine, public_key=a.public_key, organisation="o", site="s")
    device = revoke_device(engine, a.key_id)
    assert device.status == "revoked"
    assert device.signer.revoked_at is not None
    with pytest.raises(NotFound):
        revoke_device(engine, "0" * 32)


def test_the_broker_accounts_of_refused_devices_are_listed(engine: Engine) -> None:
    """A revoked device's account is refused from its revocation on, an expired one's from
    its `valid_until`; an active device's never."""
    active, revoked, expiring = support.TestSigner(), support.TestSigner(), support.TestSigner()
    now = datetime.now(UTC)
    for signer in (active, revoked):
        enrol_device(engine, public_key=signer.public_key, organisation="o", site="s")
    enrol_device(
        engine,
        public_key=expiring.public_key,
        organisation="o",
        site="s",
        valid_until=now + timedelta(days=1),
    )
    revoke_device(engine, revoked.key_id)
    assert refused_broker_accounts(engine) == {revoked.key_id}
    later = now + timedelta(days=2)
    assert refused_broker_accounts(engine, later) == {revoked.key_id, expiring.key_id}
