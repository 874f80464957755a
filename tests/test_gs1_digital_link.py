"""GS1 Digital Link URIs: check digits, qualifier order, character set, encoding, round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from traceability.digital_link import DigitalLink, gtin_check_digit, normalise_gtin
from traceability.errors import InvalidInput
from traceability.settings import Settings

GS1_CHARSET = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"


@pytest.mark.parametrize(
    ("digits", "check"),
    [
        ("0952123454321", 3),  # GS1's example GTIN 09521234543213
        ("950110153100", 0),  # GTIN-13 9501101531000
        ("9501234", 6),  # GTIN-8 95012346
        ("0061414112345", 2),  # GTIN-14 of UPC-A 614141123452
        ("0690123456789", 2),
    ],
)
def test_check_digit_of_known_gtins(digits: str, check: int) -> None:
    """The mod-10 check digit (weights 3, 1 from the right) matches GS1's published GTINs."""
    assert gtin_check_digit(digits) == check


def test_short_gtins_are_zero_padded_to_14() -> None:
    """GTIN-8, -12 and -13 become GTIN-14 by leading zeros; GTIN-14 stays as it is."""
    assert normalise_gtin("95012346") == "00000095012346"
    assert normalise_gtin("614141123452") == "00614141123452"
    assert normalise_gtin("9521234543213") == "09521234543213"
    assert normalise_gtin("09521234543213") == "09521234543213"


@pytest.mark.parametrize(
    ("gtin", "message"),
    [
        ("09521234543214", "check digit 4, the digits give 3"),
        ("09521234543", "8, 12, 13 or 14 digits"),
        ("0952123454321X", "8, 12, 13 or 14 digits"),
        ("０９５２１２３４５４３２１３", "8, 12, 13 or 14 digits"),  # full-width digits
    ],
)
def test_bad_gtins_are_refused_naming_the_fault(gtin: str, message: str) -> None:
    """A wrong check digit, a wrong length or non-ASCII digits raise InvalidInput saying so."""
    with pytest.raises(InvalidInput, match=message):
        DigitalLink(gtin, lot="A1")


def test_builds_the_issue_layout_with_the_configured_host() -> None:
    """Batch and unit URIs are https://{host}/01/{GTIN-14}/10/{lot}/21/{serial}."""
    link = DigitalLink("9521234543213", lot="ABC123", serial="12345")
    assert link.uri("trace.example.cn") == (
        "https://trace.example.cn/01/09521234543213/10/ABC123/21/12345"
    )
    assert link.batch().uri("trace.example.cn") == (
        "https://trace.example.cn/01/09521234543213/10/ABC123"
    )


def test_qualifiers_are_written_in_the_standard_order() -> None:
    """Whatever order they are given in, qualifiers come out as 22, 10, 21, 235."""
    link = DigitalLink("09521234543213", tpx="T9", serial="S1", lot="L1", cpv="C2")
    assert link.uri("h.example") == ("https://h.example/01/09521234543213/22/C2/10/L1/21/S1/235/T9")


def test_parse_refuses_qualifiers_out_of_order() -> None:
    """A serial before the lot is not a Digital Link: InvalidInput names the expected AI."""
    with pytest.raises(InvalidInput, match="235"):
        DigitalLink.parse("https://id.gs1.org/01/09521234543213/21/S1/10/L1")


@pytest.mark.parametrize(
    ("field", "value", "ai"),
    [
        ("lot", "人参2026", "AI 10"),
        ("lot", "A B", "AI 10"),
        ("lot", "L" * 21, "AI 10"),
        ("serial", "#1", "AI 21"),
        ("serial", "", "AI 21"),
        ("cpv", "~", "AI 22"),
        ("tpx", "T" * 29, "AI 235"),
    ],
)
def test_qualifier_charset_and_length_are_checked(field: str, value: str, ai: str) -> None:
    """Lots, serials and CPVs are 1–20 and TPX 1–28 characters of GS1's 82-character set."""
    with pytest.raises(InvalidInput, match=ai):
        DigitalLink("09521234543213", **{field: value})


def test_reserved_characters_are_percent_encoded_and_decoded() -> None:
    """'/', '%', '?', '"' and the like are percent-encoded in the path and decoded on parsing."""
    link = DigitalLink("09521234543213", lot="A/B%C", serial='?"1')
    uri = link.uri("h.example")
    assert uri == "https://h.example/01/09521234543213/10/A%2FB%25C/21/%3F%221"
    assert DigitalLink.parse(uri) == link


def test_parse_ignores_host_prefix_and_query_attributes() -> None:
    """Any host and path prefix name the same item; query attributes (expiry) do not identify."""
    link = DigitalLink.parse("https://example.com/shop/01/9521234543213/10/L1?17=261231&21=Q")
    assert link == DigitalLink("09521234543213", lot="L1")


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("https://id.gs1.org/01/09521234543214/10/L1", "check digit"),
        ("https://id.gs1.org/00/106141412345678908", "not of a GTIN"),
        ("urn:epc:id:sgtin:0614141.112345.400", "no host"),
        ("https://id.gs1.org/batch/L1", "not a GS1 Digital Link"),
        ("ftp://id.gs1.org/01/09521234543213", "not a GS1 Digital Link"),
    ],
)
def test_parse_refuses_what_is_not_a_gtin_link(uri: str, message: str) -> None:
    """A bad check digit, another primary key, a URN or another scheme raise InvalidInput."""
    with pytest.raises(InvalidInput, match=message):
        DigitalLink.parse(uri)


def _gtin14(body: str) -> str:
    return body + str(gtin_check_digit(body))


GS1_TEXT = st.text(alphabet=GS1_CHARSET, min_size=1, max_size=20)


@given(
    body=st.text(alphabet="0123456789", min_size=13, max_size=13),
    lot=GS1_TEXT,
    serial=st.none() | GS1_TEXT,
)
def test_build_parse_round_trip(body: str, lot: str, serial: str | None) -> None:
    """Every valid GTIN, lot and serial survive building a URI and parsing it back."""
    link = DigitalLink(_gtin14(body), lot=lot, serial=serial)
    uri = link.uri("id.herbtrace.local")
    assert DigitalLink.parse(uri) == link
    assert uri.isascii()


@given(body=st.text(alphabet="0123456789", min_size=13, max_size=13), wrong=st.integers(1, 9))
def test_any_wrong_check_digit_is_refused(body: str, wrong: int) -> None:
    """Changing the check digit of any GTIN makes it invalid."""
    gtin = _gtin14(body)
    bad = gtin[:-1] + str((int(gtin[-1]) + wrong) % 10)
    with pytest.raises(InvalidInput):
        normalise_gtin(bad)


def test_host_setting_is_validated() -> None:
    """HERBTRACE_DIGITAL_LINK_HOST takes a DNS host (with an optional port), nothing else."""
    assert Settings().digital_link_host == "id.herbtrace.local"
    assert Settings(digital_link_host="trace.example.cn:8443").digital_link_host.endswith("8443")
    with pytest.raises(ValueError, match="digital_link_host"):
        Settings(digital_link_host="https://trace.example.cn/")
