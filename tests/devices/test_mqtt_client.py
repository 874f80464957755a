"""paho's client on a read-buffered socket: the same bytes, fewer reads, nothing left waiting."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from mqtt_helpers import BrokerFixture

from devices.mqtt_client import READ_SIZE, BufferedSocket
from schemas.mqtt import INGEST_SUBSCRIPTION, events_topic


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, BufferedSocket]]:
    """A connected socket pair: the far end raw, the near end buffered and non-blocking."""
    far, near = socket.socketpair()
    near.setblocking(False)
    yield far, BufferedSocket(near)
    far.close()
    near.close()


def test_reads_come_back_in_the_sizes_asked_for(
    pair: tuple[socket.socket, BufferedSocket],
) -> None:
    """Several packets sent at once are handed out byte by byte and in runs, in order, from
    one read of the socket, and `pending` counts what is left."""
    far, near = pair
    far.sendall(b"\x30\x05hello\x40\x02ab")
    time.sleep(0.05)
    assert near.recv(1) == b"\x30"
    assert near.pending() == 10
    assert near.recv(1) == b"\x05"
    assert near.recv(5) == b"hello"
    assert near.recv(1) == b"\x40"
    assert near.recv(100) == b"\x02ab"  # never more than is buffered, never a second read
    assert near.pending() == 0


def test_an_empty_buffer_reads_the_socket_again(
    pair: tuple[socket.socket, BufferedSocket],
) -> None:
    """With nothing buffered the socket's own outcomes come through: BlockingIOError when
    nothing has arrived, the data when it has, b"" when the peer has closed."""
    far, near = pair
    with pytest.raises(BlockingIOError):
        near.recv(1)
    far.sendall(b"xy")
    time.sleep(0.05)
    assert near.recv(2) == b"xy"
    far.close()
    time.sleep(0.05)
    assert near.recv(1) == b""


def test_a_large_burst_is_read_in_whole(pair: tuple[socket.socket, BufferedSocket]) -> None:
    """More than one read's worth arrives intact, in order, across buffer refills."""
    far, near = pair
    data = bytes(range(256)) * (3 * READ_SIZE // 256 + 7)
    far.setblocking(True)
    got = bytearray()
    sent = 0
    while len(got) < len(data):
        if sent < len(data):
            sent += far.send(data[sent : sent + 8192])
        try:
            got += near.recv(1 if len(got) % 3 else 777)
        except BlockingIOError:
            time.sleep(0.001)
    assert bytes(got) == data


def test_the_client_sets_no_delay_and_delivers_a_burst(broker: BrokerFixture) -> None:
    """Through the project's Mosquitto: the client's socket is buffered with TCP_NODELAY set,
    and 2,000 QoS 1 messages published at once all arrive, in order, none held back."""
    device = broker.add_client("a" * 32)
    publisher = broker.client(device)
    listener = broker.client(broker.gateway)
    assert listener.subscribe(INGEST_SUBSCRIPTION) == [1]  # gateways read through the group
    sock = publisher.client.socket()
    assert isinstance(sock, BufferedSocket)
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    for i in range(2000):
        publisher.publish_nowait(events_topic("a" * 32), str(i).encode())
    received = [int(listener.next_message(timeout=10).payload) for _ in range(2000)]
    assert received == list(range(2000))
