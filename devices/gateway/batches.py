"""One batch of MQTT messages and what the ingest step is told of each.

The step itself (`traceability/ingest/intake.py`) checks, appends, keeps refusals and signs
receipts the same way for every channel; here is only what MQTT adds: each message's
topic must be a device's events topic, and that device is the one the envelope's signer
must be (the broker let only that device's login publish there).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from devices.gateway.connection import Incoming
from schemas.mqtt import device_of_events_topic
from traceability.errors import InvalidInput
from traceability.ingest.intake import Arrival, Checked, Intake


@dataclass(frozen=True, slots=True)
class CheckedBatch:
    """Messages, and the ingest step's checks of them (one arrival per message, in order)."""

    messages: list[Incoming]
    checked: Checked

    @property
    def arrivals(self) -> list[Arrival]:
        """What the ingest step was told of each message."""
        return self.checked.arrivals


def arrival_of(message: Incoming) -> Arrival:
    """Describe an MQTT message to the ingest step: its topic's device, or a refusal."""
    device = device_of_events_topic(message.topic)
    refused = None
    if device is None:
        refused = InvalidInput(f"not a device events topic: {message.topic[:200]}")
    return Arrival(message.payload, message.topic, device=device, refused=refused)


def check_batch(intake: Intake, messages: list[Incoming]) -> CheckedBatch:
    """Run every check that needs no append lock; thread-safe."""
    return CheckedBatch(messages, intake.check([arrival_of(m) for m in messages]))


def now_utc() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)
