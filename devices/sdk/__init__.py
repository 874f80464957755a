"""The device SDK: a key that never leaves the device, a durable outbox, and its publisher."""

from devices.sdk.client import ClientStats, DeviceClient
from devices.sdk.config import BrokerConfig, RetryPolicy
from devices.sdk.device import Device
from devices.sdk.keystore import DeviceFiles, DeviceIdentity, create_device_key, load_device_key
from devices.sdk.outbox import Outbox, OutboxCounts, QueuedEvent, RejectedEvent

__all__ = [
    "BrokerConfig",
    "ClientStats",
    "Device",
    "DeviceClient",
    "DeviceFiles",
    "DeviceIdentity",
    "Outbox",
    "OutboxCounts",
    "QueuedEvent",
    "RejectedEvent",
    "RetryPolicy",
    "create_device_key",
    "load_device_key",
]
