"""The ingest gateway: MQTT in, the log, signed receipts out (`herbtrace ingest`)."""

from devices.gateway.config import GatewayConfig, default_client_id
from devices.gateway.gaps import GapSink, RecordingGapSink, SequenceGap
from devices.gateway.partition import Partition
from devices.gateway.service import Gateway

__all__ = [
    "GapSink",
    "Gateway",
    "GatewayConfig",
    "Partition",
    "RecordingGapSink",
    "SequenceGap",
    "default_client_id",
]
