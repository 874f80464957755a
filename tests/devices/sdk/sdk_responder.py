"""A stand-in ingest gateway for device SDK tests: a real ledger and real signed receipts.

It subscribes to every device's events topic as the gateway user, appends each envelope
to a real `Ledger` and answers on the device's receipts topic with a receipt signed by
the log key — unless the test picks another `mode`:

- ``answer``: append and send the true receipt (the default);
- ``silent``: note the message, send nothing (a broker PUBACK is all the device gets);
- ``forge``: send a receipt signed by some other key (must be ignored);
- ``reject``: send a correctly signed `rejected` receipt without appending.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from mqtt_helpers import TestClient

from schemas.mqtt import device_of_events_topic, receipts_topic
from traceability.envelope import parse_envelope
from traceability.ingest.receipts import receipt_payload, sign_receipt
from traceability.ledger import Ledger
from traceability.log.log_key import load_log_signer
from traceability.log.results import AppendResult

Mode = Literal["answer", "silent", "forge", "reject"]
EVENTS = "$share/herbtrace-ingest/herbtrace/v1/devices/+/events"  # gateways read through the group


@dataclass(frozen=True)
class Arrival:
    """One events message as the responder saw it."""

    at: float
    device_id: str
    seq: int
    envelope_hash: bytes
    correlation: bytes | None


class Responder:
    """Answers device events with receipts; see the module docstring for the modes."""

    __test__ = False

    def __init__(self, client: TestClient, ledger: Ledger) -> None:
        self.client = client
        self.ledger = ledger
        self.mode: Mode = "answer"
        self.arrivals: list[Arrival] = []
        with ledger.engine.connect() as conn:
            self._signer = load_log_signer(
                conn, ledger.settings.log_origin, ledger.settings.log_key_passphrase
            )
        self._forger = Ed25519PrivateKey.generate()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="responder", daemon=True)
        assert all(code < 128 for code in client.subscribe(EVENTS))
        self._thread.start()

    def close(self) -> None:
        """Stop answering."""
        self._stop.set()
        self._thread.join()

    def seqs(self, device_id: str) -> list[int]:
        """Return the sequence numbers `device_id` sent, in arrival order (resends included)."""
        return [a.seq for a in self.arrivals if a.device_id == device_id]

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                message = self.client.messages.get(timeout=0.05)
            except queue.Empty:
                continue
            device_id = device_of_events_topic(message.topic)
            assert device_id is not None, message.topic
            parsed = parse_envelope(bytes(message.payload))
            correlation = getattr(message.properties, "CorrelationData", None)
            self.arrivals.append(
                Arrival(time.monotonic(), device_id, parsed.seq, parsed.envelope_hash, correlation)
            )
            if self.mode == "silent":
                continue
            if self.mode == "reject":
                result = AppendResult(
                    "rejected",
                    parsed.envelope_hash,
                    parsed.signer,
                    parsed.seq,
                    reason="test_refusal",
                    detail="refused by the test",
                )
            else:
                (result,) = self.ledger.append([bytes(message.payload)])
            payload = receipt_payload(result, self.ledger.settings.log_origin)
            signer = self._forger if self.mode == "forge" else self._signer
            receipt = sign_receipt(payload, signer)
            self.client.publish_nowait(receipts_topic(device_id), receipt, parsed.envelope_hash)
