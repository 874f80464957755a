"""Gateway partitions: every device belongs to one gateway, whose session keeps its
messages while it is down; the other gateways pass them on unprocessed."""

from __future__ import annotations

import queue

import pytest
from ingest_helpers import gateway_config, log_settings, new_device, signer_in
from mqtt_helpers import BrokerFixture

from devices.gateway import Gateway, Partition
from schemas.mqtt import EVERY_DEVICE_EVENTS, INGEST_SUBSCRIPTION, TOPIC_ROOT
from traceability.errors import ConfigurationError
from traceability.ingest.receipts import verify_receipt
from traceability.ledger import Ledger, initialise
from traceability.storage.db import make_engine


def test_every_device_belongs_to_exactly_one_partition_of_n() -> None:
    """For N from 1 to 7, each of 500 device IDs is owned by exactly one of the N
    partitions, and with N = 4 each partition owns between 15% and 35% of them."""
    ids = [f"{n * 0x9E3779B97F4A7C15 % 2**128:032x}" for n in range(1, 501)]
    for count in range(1, 8):
        partitions = [Partition(k, count) for k in range(1, count + 1)]
        for device in ids:
            assert sum(p.owns_device(device) for p in partitions) == 1
    shares = [sum(Partition(k, 4).owns_device(d) for d in ids) for k in range(1, 5)]
    assert all(75 <= share <= 175 for share in shares), shares


def test_a_partition_is_written_k_of_n_and_nonsense_is_refused() -> None:
    """`2/3` parses; the default is 1/1; 0/2, 3/2, 1/0, a bare number and words are refused."""
    assert Partition.parse("2/3") == Partition(2, 3)
    assert str(Partition.parse(" 1 / 1 ")) == "1/1" == str(Partition())
    for bad in ("0/2", "3/2", "1/0", "2", "one/two", "1/2/3", "-1/2", "1/999"):
        with pytest.raises(ConfigurationError):
            Partition.parse(bad)


def test_one_partition_keeps_the_shared_subscription_and_several_subscribe_outside_it() -> None:
    """Partition 1/1 joins the ingest group as a lone gateway always has and drops the plain
    filter; k/N (N > 1) holds the plain filter and drops the group."""
    assert (Partition().subscription, Partition().other_subscription) == (
        INGEST_SUBSCRIPTION,
        EVERY_DEVICE_EVENTS,
    )
    assert (Partition(2, 2).subscription, Partition(2, 2).other_subscription) == (
        EVERY_DEVICE_EVENTS,
        INGEST_SUBSCRIPTION,
    )


def test_a_topic_naming_no_device_belongs_to_partition_one_only() -> None:
    """A message on a topic that names no device is answered by exactly one gateway."""
    odd = f"{TOPIC_ROOT}/not-a-device/events"
    assert [Partition(k, 3).owns_topic(odd) for k in (1, 2, 3)] == [True, False, False]
    assert Partition().owns_topic(odd)


def test_a_message_for_partition_two_waits_for_its_gateway_and_gateway_one_leaves_it(
    broker: BrokerFixture, sqlite_url: str
) -> None:
    """Gateway 1/2 runs, gateway 2/2 is down (its session kept): gateway 1 appends and
    answers its own device's envelope, passes the other device's on unprocessed (no receipt,
    nothing in the log); gateway 2, started later, receives that envelope from its session
    and appends it, so nothing is lost."""
    settings = log_settings(sqlite_url)
    log_key = initialise(settings).public_key
    engine = make_engine(settings.database_url)
    first, second = Partition(1, 2), Partition(2, 2)
    second_config = gateway_config(broker, "gw-part-2", second)
    with Gateway(settings, second_config):
        pass  # gateway 2 has run before: the broker keeps its session while it is down
    mine = new_device(broker, engine, signer=signer_in(first))
    theirs = new_device(broker, engine, signer=signer_in(second))
    with Gateway(settings, gateway_config(broker, "gw-part-1", first)) as gateway_one:
        theirs.send_next()
        mine.send_next()
        assert verify_receipt(mine.receipt(), log_key).status == "accepted"
        with pytest.raises(queue.Empty):
            theirs.receipt(timeout=1.5)
        assert gateway_one.connection.passed_on == 1
        with Ledger(settings, writable=False) as ledger:
            assert ledger.size() == 1
        with Gateway(settings, second_config) as gateway_two:
            receipt = verify_receipt(theirs.receipt(timeout=10), log_key)
            assert (receipt.status, receipt.signer, receipt.seq) == (
                "accepted",
                theirs.device_id,
                1,
            )
            mine.send_next()  # gateway 2 passes gateway 1's device on
            assert verify_receipt(mine.receipt(), log_key).status == "accepted"
        assert gateway_two.counters.accepted == 1
        assert gateway_two.connection.passed_on == 2  # queued while down, then live
    assert gateway_one.counters.accepted == 2
    with Ledger(settings, writable=False) as ledger:
        assert ledger.size() == 3
    engine.dispose()
