"""What an ingest gateway process needs to know: its broker, identity and batching limits."""

from __future__ import annotations

from dataclasses import dataclass, field

from devices.gateway.partition import Partition
from traceability.settings import Settings


def default_client_id(username: str = "herbtrace-gateway") -> str:
    """The MQTT client ID of the gateway logging in as `username`: the username itself.

    The broker binds each account to one client ID (its username), so that no other
    client can take over a gateway's session; every gateway process therefore has an
    account of its own, and its session survives restarts under that ID.
    """
    return username


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """Settings of one gateway process (see `herbtrace ingest --help`)."""

    host: str = "127.0.0.1"
    port: int = 1883
    username: str = "herbtrace-gateway"
    password: str = ""
    client_id: str = ""
    """Empty: the username (the broker accepts no other for a gateway's account)."""
    ca_file: str | None = None
    """CA certificate file: connect over TLS and verify the broker's certificate with it."""
    workers: int = 2
    """Threads checking batches (parsing, signature checks) while another batch commits."""
    batch_size: int = 500
    """Most messages appended in one transaction."""
    linger: float = 0.005
    """Seconds a batch waits for more messages before it is appended anyway."""
    receive_maximum: int = 2000
    """Most unacknowledged messages the broker sends this gateway (MQTT 5 Receive Maximum):
    the bound on messages held in memory. A message is acknowledged once its receipt is out."""
    session_expiry: int = 300
    """Seconds the broker keeps this gateway's session (and queues its share of messages)
    after it disconnects; a restart within that time loses nothing in flight."""
    keepalive: int = 30
    gap_grace: float = 5.0
    """Seconds a sequence gap may stay open (out-of-order arrival) before it is alerted."""
    partition: Partition = field(default_factory=Partition)
    """The devices this gateway answers for (`devices.gateway.partition`): all by default."""

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> GatewayConfig:
        """Build the config from HERBTRACE_MQTT_* settings, then apply `overrides`."""
        base: dict[str, object] = {
            "host": settings.mqtt_host,
            "port": settings.mqtt_port,
            "username": settings.mqtt_username,
            "password": settings.mqtt_password,
            "ca_file": settings.mqtt_ca_file,
            "batch_size": settings.append_batch_size,
        }
        base.update({k: v for k, v in overrides.items() if v is not None})
        if not base.get("client_id"):
            base["client_id"] = default_client_id(str(base["username"]))
        return cls(**base)  # type: ignore[arg-type]
