"""Gateways as real processes, their domain rules on: killed and restarted, and two
partitioned gateways sharing one PostgreSQL log.

The devices send a planting base's handheld stories (the simulator's `handheld` scenario)
on the demo's registered organisations and sites, so the rules accept every envelope.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import support
from ingest_helpers import (
    Device,
    GatewayProcess,
    ReceiptCollector,
    envelope_hash_hex,
    gateway_env,
    log_settings,
    new_device,
    signer_in,
)
from mqtt_helpers import BrokerFixture
from sim_fleet import handheld_bodies, handheld_enrolment, register_demo_places
from sqlalchemy.engine import Engine

from devices.gateway import Partition
from schemas.mqtt import ReceiptPayload, events_topic
from traceability.canonical import canonical_bytes
from traceability.ledger import Ledger, initialise
from traceability.storage.db import make_engine


def sign_all(device: Device, count: int, lane: int = 0) -> list[bytes]:
    """Sign `count` consecutive envelopes of `device`, the stories of handheld lane `lane`
    (not yet published)."""
    return [canonical_bytes(device.signer.next(b)) for b in handheld_bodies(lane, count)]


def assert_receipts_match_log(
    engine_url: str, receipts: dict[str, list[ReceiptPayload]], size: int
) -> None:
    """The log has `size` entries, and every receipt names the entry holding its envelope
    (so an envelope with several receipts has one entry)."""
    with Ledger(log_settings(engine_url), writable=False) as ledger:
        assert ledger.size() == size
        for envelope_hash, answers in receipts.items():
            for receipt in answers:
                assert receipt.status in ("accepted", "duplicate"), receipt
                assert receipt.index is not None
                _, leaf_hash, entry = ledger.entry(receipt.index)
                assert receipt.leaf_hash == leaf_hash.hex()
                assert receipt.received == entry.received
                assert (
                    envelope_hash_hex(canonical_bytes({"payload": entry.payload()}))
                    == envelope_hash
                )


def start_log(url: str, tmp_path: Path, broker: BrokerFixture) -> tuple[Engine, bytes, int]:
    """Create the log with `herbtrace init` and register the demo's organisations and sites;
    return an engine on it, the log's public key and its size."""
    result = support.run_herbtrace(["init"], tmp_path, **gateway_env(broker, url))
    assert result.returncode == 0, result.stderr
    verifier = initialise(log_settings(url))
    prologue = register_demo_places(log_settings(url))
    return make_engine(url), verifier.public_key, prologue


def test_gateway_killed_and_restarted_loses_nothing_receipted(
    broker: BrokerFixture,
    sqlite_url: str,
    tmp_path: Path,
    gateway_processes: Callable[..., GatewayProcess],
) -> None:
    """SIGKILL in mid-stream: every receipt sent before the kill still names its entry after
    the restart, and everything published is appended exactly once in the end."""
    engine, log_key, prologue = start_log(sqlite_url, tmp_path, broker)
    env = gateway_env(broker, sqlite_url)
    env |= broker.env("gw-kill")
    args = ("--linger-ms", "1", "--batch-size", "20")
    gateway = gateway_processes(env, *args)
    gateway.wait_ready()
    device = new_device(broker, engine, **handheld_enrolment())
    envelopes = sign_all(device, 3000)
    hashes = {envelope_hash_hex(e) for e in envelopes}
    collector = ReceiptCollector(device, log_key)
    for data in envelopes:
        device.client.publish_nowait(events_topic(device.device_id), data)
    while len(collector.by_hash) < 100:
        assert collector.take(10), "no receipt before the kill"
    gateway.kill()
    collector.drain(0.5)  # receipts already on their way
    before_kill = {h: list(r) for h, r in collector.by_hash.items()}
    assert 0 < len(before_kill) < len(envelopes)
    restarted = gateway_processes(env, *args)
    restarted.wait_ready()
    missing = collector.wait_for(hashes, timeout=30)
    for data in envelopes:  # what a device's outbox does for anything still unanswered
        if envelope_hash_hex(data) in missing:
            device.publish(data)
    assert collector.wait_for(hashes, timeout=30) == set()
    assert restarted.stop() == 0
    assert set(collector.by_hash) == hashes
    assert all(r.status != "rejected" for rs in collector.by_hash.values() for r in rs)
    assert_receipts_match_log(sqlite_url, before_kill, prologue + len(hashes))
    assert_receipts_match_log(sqlite_url, collector.by_hash, prologue + len(hashes))
    verify = support.run_herbtrace(["verify"], tmp_path, **env)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    engine.dispose()


@pytest.mark.postgres
def test_two_partitioned_gateways_on_one_postgres_log_make_one_chain_with_the_rules_on(
    broker: BrokerFixture,
    postgres_url: str,
    tmp_path: Path,
    gateway_processes: Callable[..., GatewayProcess],
) -> None:
    """Two gateway processes, partitions 1/2 and 2/2, share the log with the rules on: each
    device's stories (a harvest after its planting, …) are all appended by the gateway of
    its partition, in the order sent, so every envelope is `accepted` once, both gateways
    append, and `herbtrace verify` and `reindex --check` pass the one linear chain."""
    engine, log_key, prologue = start_log(postgres_url, tmp_path, broker)
    env = gateway_env(broker, postgres_url)
    args = ("--linger-ms", "2")
    partitions = [Partition(1, 2), Partition(2, 2)]
    gateways = [
        gateway_processes(env | broker.env(f"gw-{p.index}"), *args, "--partition", str(p))
        for p in partitions
    ]
    for gateway in gateways:
        gateway.wait_ready()
    devices = [
        new_device(broker, engine, signer=signer_in(p), **handheld_enrolment())
        for p in partitions
        for _ in range(2)
    ]
    sent: dict[str, set[str]] = {}
    for lane, device in enumerate(devices):
        envelopes = sign_all(device, 250, lane)
        sent[device.device_id] = {envelope_hash_hex(e) for e in envelopes}
        for data in envelopes:
            device.client.publish_nowait(events_topic(device.device_id), data)
    expected = set().union(*sent.values())
    receipts: dict[str, list[ReceiptPayload]] = {}
    for device in devices:
        collector = ReceiptCollector(device, log_key)
        assert collector.wait_for(sent[device.device_id], timeout=90) == set()
        receipts.update(collector.by_hash)
    assert [g.stop() for g in gateways] == [0, 0]
    statuses = [r.status for rs in receipts.values() for r in rs]
    assert statuses == ["accepted"] * len(expected), [
        (r.reason, r.detail) for rs in receipts.values() for r in rs if r.status != "accepted"
    ][:5]
    assert [g.counted("accepted") for g in gateways] == [500, 500]
    assert [g.counted("rejected") for g in gateways] == [0, 0]
    indices = sorted(r.index for rs in receipts.values() for r in rs if r.index is not None)
    assert indices == list(range(prologue, prologue + len(expected)))
    assert set(receipts) == expected
    assert_receipts_match_log(postgres_url, receipts, prologue + len(expected))
    for command in (["verify"], ["reindex", "--check"]):
        result = support.run_herbtrace(command, tmp_path, **env)
        assert result.returncode == 0, result.stdout + result.stderr
    engine.dispose()
