"""What a scan keeps of its scanner: a place rounded to 0.1°, and a keyed hash of its network.

A place is accepted only as finite decimal degrees (latitude −90…90, longitude −180…180)
and is rounded here to 0.1° (half to even; 0.1° of latitude is about 11 km), whatever
precision the browser sent.

A scanner is its network, never its address: the client's IPv4 /24 or IPv6 /48 (an
IPv4-mapped IPv6 address counts as IPv4) in CIDR text, such as `203.0.113.0/24` or
`2001:db8:1::/48`; a client that is not an IP address (a test client, a Unix socket) is
`other:` followed by its text. Its mark is 32 lowercase hex digits:

    HMAC-SHA256(key = UTF-8(HERBTRACE_SCAN_SALT),
                message = UTF-8("herbtrace/v1/scanner") || 0x0A || UTF-8(network))[0:16]

Without the salt the 2^24 IPv4 networks cannot be tried against stored marks.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from traceability.errors import InvalidInput

PLACE_DEGREES = Decimal("0.1")
"""Places are kept rounded to this many degrees."""

EARTH_RADIUS_KM = 6371.0088
"""The mean Earth radius (IUGG) of the great-circle distances between places."""

SCANNER_CONTEXT = b"herbtrace/v1/scanner\n"
"""Prefix of the message whose HMAC marks a scanner's network."""

IPV4_PREFIX = 24
IPV6_PREFIX = 48


@dataclass(frozen=True, slots=True)
class Place:
    """A place rounded to 0.1°: latitude and longitude as decimal strings ("43.9", "125.3")."""

    lat: str
    lon: str

    def text(self) -> str:
        """The place as `lat,lon`, e.g. `43.9,125.3`."""
        return f"{self.lat},{self.lon}"


def _degrees(value: object, name: str, bound: int) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise InvalidInput(f"{name} must be a number of degrees, got {value!r}")
    try:
        degrees = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput(f"{name} must be a number of degrees, got {value!r}") from None
    if not degrees.is_finite() or not -bound <= degrees <= bound:
        raise InvalidInput(f"{name} must be between -{bound} and {bound} degrees, got {value!r}")
    return degrees


def coarse_place(lat: object, lon: object) -> Place:
    """Return the place rounded to 0.1°; InvalidInput naming a coordinate out of range."""
    rounded = [
        _degrees(v, name, bound).quantize(PLACE_DEGREES, rounding=ROUND_HALF_EVEN)
        for v, name, bound in ((lat, "latitude", 90), (lon, "longitude", 180))
    ]
    return Place(*(str(d + 0) for d in rounded))  # + 0 turns -0.0 into 0.0


def distance_km(a: Place, b: Place) -> float:
    """Return the great-circle distance between two places in km (haversine)."""
    lat1, lon1, lat2, lon2 = (math.radians(float(v)) for v in (a.lat, a.lon, b.lat, b.lon))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def network_of(address: str) -> str:
    """Return the network a client address is counted under (see the module docstring)."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return f"other:{address.strip()}"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = IPV4_PREFIX if ip.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def scanner_mark(salt: str, address: str) -> str:
    """Return the 32-hex mark of the scanner at `address` under `salt`."""
    message = SCANNER_CONTEXT + network_of(address).encode("utf-8")
    return hmac.new(salt.encode("utf-8"), message, hashlib.sha256).hexdigest()[:32]
