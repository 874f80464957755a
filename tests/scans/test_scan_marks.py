"""What a scan keeps of its scanner: places rounded to 0.1°, networks, keyed marks, distances."""

from __future__ import annotations

import hashlib
import hmac
import math
from decimal import Decimal

import pytest

from traceability.errors import InvalidInput
from traceability.scans.marks import (
    Place,
    coarse_place,
    distance_km,
    network_of,
    scanner_mark,
)

SALT = "a test salt of sixteen+ characters"


@pytest.mark.parametrize(
    ("lat", "lon", "expected"),
    [
        (43.8868, 125.3245, Place("43.9", "125.3")),
        ("23.1291", "113.2644", Place("23.1", "113.3")),
        (Decimal("42.25"), Decimal("127.35"), Place("42.2", "127.4")),  # half to even
        (-0.04, 0, Place("0.0", "0.0")),  # no negative zero
        (90, -180, Place("90.0", "-180.0")),
        ("-33.8688", "151.2093", Place("-33.9", "151.2")),
    ],
)
def test_places_are_rounded_to_a_tenth_of_a_degree(
    lat: object, lon: object, expected: Place
) -> None:
    """coarse_place keeps a place only to 0.1°, whatever precision it was given in."""
    assert coarse_place(lat, lon) == expected


@pytest.mark.parametrize(
    ("lat", "lon", "message"),
    [
        (90.05, 0, "latitude must be between -90 and 90"),
        (0, -180.2, "longitude must be between -180 and 180"),
        ("NaN", 0, "latitude must be between -90 and 90"),
        (0, "Infinity", "longitude must be between -180 and 180"),
        ("north", 0, "latitude must be a number of degrees"),
        (True, 0, "latitude must be a number of degrees"),
        (None, 0, "latitude must be a number of degrees"),
    ],
)
def test_bad_places_are_refused_with_the_coordinate_named(
    lat: object, lon: object, message: str
) -> None:
    """A coordinate out of range or not a number raises InvalidInput saying which one."""
    with pytest.raises(InvalidInput, match=message):
        coarse_place(lat, lon)


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("2001:db8:1:2:3::9", "2001:db8:1::/48"),
        ("::ffff:198.51.100.20", "198.51.100.0/24"),
        ("testclient", "other:testclient"),
    ],
)
def test_scanners_are_counted_by_network(address: str, network: str) -> None:
    """A client counts as its IPv4 /24 or IPv6 /48; a non-IP client as its own text."""
    assert network_of(address) == network


def test_the_mark_is_the_documented_keyed_hash() -> None:
    """The mark is HMAC-SHA256(salt, "herbtrace/v1/scanner\\n" || network)[0:16] in hex."""
    expected = hmac.new(
        SALT.encode(), b"herbtrace/v1/scanner\n203.0.113.0/24", hashlib.sha256
    ).hexdigest()[:32]
    assert scanner_mark(SALT, "203.0.113.5") == expected
    assert len(expected) == 32


def test_marks_group_a_network_and_depend_on_the_salt() -> None:
    """Two addresses of one /24 share a mark; another network or another salt gives another."""
    mark = scanner_mark(SALT, "203.0.113.5")
    assert scanner_mark(SALT, "203.0.113.200") == mark
    assert scanner_mark(SALT, "203.0.114.5") != mark
    assert scanner_mark(SALT + "!", "203.0.113.5") != mark
    assert "203.0.113" not in mark


R = 6371.0088  # the mean Earth radius, km


@pytest.mark.parametrize(
    ("a", "b", "km"),
    [
        (Place("10.0", "20.0"), Place("30.0", "20.0"), R * math.radians(20)),  # one meridian
        (Place("0.0", "0.0"), Place("0.0", "180.0"), R * math.pi),  # half the equator
        (Place("43.9", "125.3"), Place("43.9", "125.3"), 0.0),
    ],
)
def test_great_circle_distances_on_known_arcs(a: Place, b: Place, km: float) -> None:
    """distance_km is R times the central angle: exact along a meridian or the equator."""
    assert distance_km(a, b) == pytest.approx(km, abs=1e-6)


def test_distances_agree_with_the_spherical_law_of_cosines() -> None:
    """长春 to 广州 by haversine equals the law of cosines' answer, whichever way round."""
    a, b = Place("43.9", "125.3"), Place("23.1", "113.3")
    p1, l1, p2, l2 = (math.radians(float(v)) for v in (a.lat, a.lon, b.lat, b.lon))
    cosines = R * math.acos(
        math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(l2 - l1)
    )
    assert distance_km(a, b) == pytest.approx(cosines, rel=1e-9)
    assert distance_km(b, a) == pytest.approx(cosines, rel=1e-9)
    assert 2000 < cosines < 3000  # the cities are some 2,500 km apart
