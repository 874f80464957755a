"""The gateway with the domain: rules refuse what they must, gaps become device_gap alerts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from event_examples import EXAMPLES
from ingest_helpers import Device, gateway_config, log_settings, new_device
from mqtt_helpers import BrokerFixture
from read_support import read

from devices.gateway import Gateway
from traceability.canonical import canonical_bytes
from traceability.domain.alerts import list_alerts
from traceability.domain.service import Domain
from traceability.ingest.receipts import verify_receipt
from traceability.ingest.rejections import list_rejections
from traceability.ledger import initialise
from traceability.log.note import NoteVerifier


@dataclass
class RuledIngest:
    """A gateway appending through the domain's rules, and an admin device."""

    domain: Domain
    verifier: NoteVerifier
    device: Device


@pytest.fixture(name="ruled")
def _ruled(broker: BrokerFixture, sqlite_url: str) -> Iterator[RuledIngest]:
    """An in-process gateway with `domain=Domain(settings)` and an enrolled admin device."""
    settings = log_settings(sqlite_url)
    verifier = initialise(settings)
    domain = Domain(settings)
    gateway = Gateway(settings, gateway_config(broker), domain=domain)
    gateway.start()
    try:
        device = new_device(broker, domain.engine, role="admin")
        yield RuledIngest(domain, verifier, device)
    finally:
        gateway.stop()
        domain.close()


def status_of(ruled: RuledIngest, data: bytes) -> tuple[str, str | None]:
    """Publish an envelope and return its receipt's status and reason."""
    ruled.device.publish(data)
    receipt = verify_receipt(ruled.device.receipt(), ruled.verifier.public_key)
    return receipt.status, receipt.reason


def test_rules_apply_to_mqtt_envelopes(ruled: RuledIngest) -> None:
    """A valid organisation record is accepted; a body the rules refuse gets a rejected
    receipt with the rule's reason and is kept as a rejected message."""
    signer = ruled.device.signer
    assert status_of(ruled, canonical_bytes(signer.next(EXAMPLES["organisation"]))) == (
        "accepted",
        None,
    )
    assert status_of(ruled, canonical_bytes(signer.next(EXAMPLES["harvest"]))) == (
        "rejected",
        "unauthorised",
    )
    assert [r.reason for r in list_rejections(ruled.domain.engine)] == ["unauthorised"]


def test_sequence_gap_becomes_a_device_gap_alert(ruled: RuledIngest) -> None:
    """seq 1 and seq 3 accepted, seq 2 never sent: the domain gets a device_gap alert."""
    signer = ruled.device.signer
    first = canonical_bytes(signer.next(EXAMPLES["organisation"]))
    signer.next(EXAMPLES["site"])  # seq 2: signed, never published
    third = canonical_bytes(signer.next({**EXAMPLES["organisation"], "id": "org-second"}))
    assert status_of(ruled, first)[0] == "accepted"
    assert status_of(ruled, third)[0] == "accepted"
    deadline = time.monotonic() + 10
    while not (alerts := read(ruled.domain.engine, list_alerts, kind="device_gap")):
        assert time.monotonic() < deadline, "no device_gap alert"
        time.sleep(0.1)
    [alert] = alerts
    assert alert.subject == signer.key_id
    assert alert.evidence["missing_from"] == 2
    assert alert.evidence["missing_to"] == 2
