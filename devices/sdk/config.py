"""What a device's MQTT client is configured with: its broker, and its window and retry timings."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class BrokerConfig:
    """Where and as whom the device connects; the username is always the device ID.

    `tls_ca`: a CA certificate file; set, the device connects over TLS and only to a broker
    whose certificate that CA issued for `host` (paho verifies chain and host name).
    """

    host: str = "127.0.0.1"
    port: int = 1883
    password: str | None = None
    keepalive: int = 30
    tls_ca: str | None = None

    def __repr__(self) -> str:
        return f"BrokerConfig({self.host!r}, {self.port}, password=…)"


@dataclass(frozen=True)
class RetryPolicy:
    """How many events may await a receipt, how long to wait for one, and how to back off."""

    window: int = 20
    ack_timeout: float = 10.0
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    reconnect_max: int = 30
    session_expiry: int = 7 * 86_400

    def __post_init__(self) -> None:
        if self.window < 1 or self.ack_timeout <= 0 or self.backoff_base <= 0:
            raise ValueError("window, ack_timeout and backoff_base must be positive")
        if self.backoff_max < self.backoff_base:
            raise ValueError("backoff_max must be at least backoff_base")

    def backoff(self, failures: int, rng: random.Random) -> float:
        """Return the pause after `failures` consecutive timeout rounds (0 after none).

        ``min(backoff_max, backoff_base * 2**(failures-1))`` scaled by a random factor in
        [0.5, 1), so devices that lost the gateway together do not return together.
        """
        if failures <= 0:
            return 0.0
        delay = min(self.backoff_max, self.backoff_base * float(2 ** min(failures - 1, 30)))
        return delay * (0.5 + rng.random() / 2)
