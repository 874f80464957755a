"""paho's MQTT client with its TCP socket read in bursts and sent without Nagle's delay.

paho reads each packet as its first byte, then each byte of the remaining length, then the
rest (MQTT 5 §2.1): three or four `recv()` calls, each a system call, for a 100-byte PUBACK
or a 600-byte PUBLISH. Every envelope costs the gateway one PUBLISH in and one PUBACK in
(of its receipt), and a device the same the other way. `BufferedSocket` reads up to
READ_SIZE bytes per system call and hands paho the bytes it asks for from memory.

paho's own loop asks a socket for `pending()` bytes before it waits in `select()` (for TLS
sockets, which buffer too), so buffered packets are never left waiting for more traffic.
A caller running paho's loop itself (`loop_read`) must do the same: see `pending`.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt

if TYPE_CHECKING:
    from paho.mqtt.client import SocketLike

READ_SIZE = 65536
"""Bytes asked of the kernel per read: many packets' worth."""


class BufferedSocket:
    """A connected socket whose reads go through a buffer; everything else is the socket's."""

    def __init__(self, sock: SocketLike) -> None:
        self._sock = sock
        self._data = b""
        self._at = 0

    def recv(self, size: int) -> bytes:
        """Return up to `size` bytes: from the buffer, else from one read of the socket.

        Raises what the socket's recv raises (BlockingIOError when nothing is there);
        b"" when the peer has closed the connection and the buffer is empty.
        """
        if self._at == len(self._data):
            data = self._sock.recv(max(size, READ_SIZE))
            if len(data) <= size:
                return data
            self._data, self._at = data, 0
        end = min(self._at + size, len(self._data))
        out = self._data[self._at : end]
        self._at = end
        if end == len(self._data):
            self._data, self._at = b"", 0
        return out

    def pending(self) -> int:
        """Bytes read from the socket and not yet returned (plus a TLS socket's own)."""
        inner = getattr(self._sock, "pending", None)
        return len(self._data) - self._at + (inner() if inner is not None else 0)

    def send(self, buffer: bytes | bytearray) -> int:
        return self._sock.send(buffer)

    def close(self) -> None:
        self._sock.close()

    def fileno(self) -> int:
        return self._sock.fileno()

    def setblocking(self, flag: bool) -> None:
        self._sock.setblocking(flag)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class Client(mqtt.Client):
    """paho's client on a BufferedSocket, with TCP_NODELAY (acks and receipts are small and
    latency matters more than packet count). WebSocket transports are left as paho makes them."""

    def _create_socket(self) -> SocketLike:
        sock = super()._create_socket()
        if isinstance(sock, socket.socket):
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return BufferedSocket(sock)
        return sock


def pending(client: mqtt.Client) -> int:
    """Bytes `client` holds already read but not yet parsed: call `loop_read` again while
    this is not zero, since `select()` on the socket will not report them."""
    sock = client.socket()
    probe = getattr(sock, "pending", None)
    return int(probe()) if probe is not None else 0
