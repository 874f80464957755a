"""Which devices one gateway process answers for: partition `k of N` of the device IDs.

A device's envelopes must be appended in the order it sent them: the domain rules judge
each against the ones before it (a harvest needs its planting), and refuse for good what
depends on an envelope not yet recorded. A shared subscription splits one device's
envelopes between gateways, so two of them could append a device's events out of order.
With partitions, every device belongs to exactly one gateway: partition `k/N` (k from 1
to N) takes the devices whose 32-hex ID, read as a number, is k-1 modulo N. Device IDs
are key IDs (hash output), so each partition gets about 1/N of the devices.

Partition 1/1, the default, takes every device through the ingest group's shared
subscription, as a single gateway always has. With N > 1, each gateway holds a plain
(non-shared) subscription to every device's events in its persistent session, so the
broker queues every message for it while it is down; it acknowledges the messages of
other partitions at once, unprocessed, and takes its own partition's in order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from schemas.mqtt import EVERY_DEVICE_EVENTS, INGEST_SUBSCRIPTION, device_of_events_topic
from traceability.errors import ConfigurationError

MAX_PARTITIONS = 256
"""Most partitions: far more gateway processes than one log's append lock can keep busy."""

_SPEC = re.compile(r"\s*(\d{1,3})\s*/\s*(\d{1,3})\s*")


@dataclass(frozen=True, slots=True)
class Partition:
    """Partition `index` of `count` (both from 1): the devices one gateway answers for."""

    index: int = 1
    count: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.count <= MAX_PARTITIONS:
            raise ConfigurationError(
                f"the number of partitions is 1 to {MAX_PARTITIONS}, not {self.count}"
            )
        if not 1 <= self.index <= self.count:
            raise ConfigurationError(
                f"partition {self.index} of {self.count}: the partition is 1 to {self.count}"
            )

    @classmethod
    def parse(cls, spec: str) -> Partition:
        """Parse `k/N` (e.g. `2/3`); ConfigurationError if it is not a valid partition."""
        match = _SPEC.fullmatch(spec)
        if match is None:
            raise ConfigurationError(f"a partition is written k/N (e.g. 1/2), not {spec!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    @property
    def whole(self) -> bool:
        """Whether this is the only partition (every device)."""
        return self.count == 1

    @property
    def subscription(self) -> str:
        """The topic filter this gateway subscribes to."""
        return INGEST_SUBSCRIPTION if self.whole else EVERY_DEVICE_EVENTS

    @property
    def other_subscription(self) -> str:
        """The filter a gateway's session may hold from a run with other partitioning, and
        must drop (it would deliver messages twice, or another partition's share)."""
        return EVERY_DEVICE_EVENTS if self.whole else INGEST_SUBSCRIPTION

    def owns_device(self, device_id: str) -> bool:
        """Whether `device_id` (32 hex digits) belongs to this partition."""
        return int(device_id, 16) % self.count == self.index - 1

    def owns_topic(self, topic: str) -> bool:
        """Whether a message on `topic` is this gateway's to process.

        A topic that names no device (no device can publish there; the gateway refuses
        what arrives on one) belongs to partition 1, so exactly one gateway answers it.
        """
        if self.whole:
            return True
        device = device_of_events_topic(topic)
        if device is None:
            return self.index == 1
        return self.owns_device(device)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"
