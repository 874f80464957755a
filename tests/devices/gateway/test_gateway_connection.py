"""The gateway connection's own packing of Correlation Data, against paho's general code."""

from __future__ import annotations

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from devices.gateway.connection import CorrelationData


@pytest.mark.parametrize("size", [0, 1, 32, 124, 125, 126, 200, 16_381, 16_382, 65_535])
def test_correlation_data_packs_exactly_as_paho_does(size: int) -> None:
    """For every length class of the variable byte integer, the packed bytes equal paho's,
    and paho unpacks them to the same correlation data."""
    data = bytes(i % 251 for i in range(size))
    reference = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    reference.CorrelationData = data
    packed = CorrelationData(data).pack()
    assert packed == reference.pack()
    parsed = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    parsed.unpack(packed)
    assert parsed.CorrelationData == data


def test_oversized_correlation_data_is_refused() -> None:
    """More than MQTT's 65,535 bytes of correlation data is a ValueError."""
    with pytest.raises(ValueError, match="65,535"):
        CorrelationData(bytes(65_536))
