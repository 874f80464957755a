"""GS1 Digital Link URIs for batches and packed units: GTIN check digits, building and parsing.

A herbtrace product identifier is a GS1 Digital Link URI (GS1 Digital Link URI Syntax 1.2)
with the GTIN (AI 01) as primary key and its qualifiers in the standard's fixed order::

    https://{host}/01/{GTIN-14}[/22/{CPV}][/10/{lot}][/21/{serial}][/235/{TPX}]

* The GTIN is zero-padded to 14 digits; its last digit is the GS1 mod-10 check digit
  (weights 3, 1, 3, … from the right, GS1 General Specifications §7.9.1).
* Lot (AI 10), serial (AI 21) and CPV (AI 22) are 1–20 characters, TPX (AI 235) 1–28,
  of GS1's 82-character set (AI encodable character set 82: ``! " % & ' ( ) * + , - . /
  0-9 : ; < = > ? A-Z _ a-z``); every character outside ``A-Z a-z 0-9 - . _`` is
  percent-encoded in the path (UTF-8, upper-case hex).
* Query-string attributes (``?17=261231``) describe a product but do not identify it;
  parsing ignores them.

Parsing and per-AI validation are done by `biip`; building is the few lines below.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

from biip import ParseError
from biip.checksums import gs1_standard_check_digit
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from biip.gs1_element_strings import GS1ElementString

from traceability.errors import InvalidInput

GTIN_LENGTHS = (8, 12, 13, 14)
"""GTIN-8, GTIN-12 (UPC-A), GTIN-13 (EAN-13) and GTIN-14; all written as 14 digits."""

QUALIFIER_ORDER = ("22", "10", "21", "235")
"""The qualifiers of AI 01 in the only order the standard allows: CPV, lot, serial, TPX."""

_NAMES = {"22": "CPV", "10": "lot", "21": "serial", "235": "TPX"}


def gtin_check_digit(digits: str) -> int:
    """Return the GS1 mod-10 check digit of `digits` (the GTIN without its last digit)."""
    if not digits.isascii() or not digits.isdecimal():
        raise InvalidInput(f"a GTIN is decimal digits, got {digits!r}")
    return gs1_standard_check_digit(digits)


def normalise_gtin(gtin: str) -> str:
    """Return `gtin` as GTIN-14 after checking its length and check digit; InvalidInput if bad."""
    if not gtin.isascii() or not gtin.isdecimal() or len(gtin) not in GTIN_LENGTHS:
        raise InvalidInput(f"a GTIN is 8, 12, 13 or 14 digits, got {gtin!r}")
    expected = gtin_check_digit(gtin[:-1])
    if int(gtin[-1]) != expected:
        raise InvalidInput(f"GTIN {gtin} has check digit {gtin[-1]}, the digits give {expected}")
    return gtin.zfill(14)


def _check_qualifier(ai: str, value: str) -> None:
    try:
        GS1ElementString.parse(f"{ai}{value}")
    except ParseError as exc:
        limit = 28 if ai == "235" else 20
        raise InvalidInput(
            f"{_NAMES[ai]} {value!r} (AI {ai}) must be 1–{limit} characters of GS1's "
            "82-character set: A-Z a-z 0-9 and ! \" % & ' ( ) * + , - . / : ; < = > ? _"
        ) from exc


@dataclass(frozen=True, slots=True)
class DigitalLink:
    """A GTIN with optional qualifiers; validated on construction, GTIN kept as GTIN-14.

    With `lot` only it names a batch of a product (class level, EPCIS `epcClass`); with
    `serial` too it names one packed unit (instance level, an EPC).
    """

    gtin: str
    lot: str | None = None
    serial: str | None = None
    cpv: str | None = None
    tpx: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "gtin", normalise_gtin(self.gtin))
        for ai, value in self._qualifiers():
            _check_qualifier(ai, value)

    def _qualifiers(self) -> list[tuple[str, str]]:
        values = {"22": self.cpv, "10": self.lot, "21": self.serial, "235": self.tpx}
        return [(ai, v) for ai in QUALIFIER_ORDER if (v := values[ai]) is not None]

    def uri(self, host: str) -> str:
        """Return the Digital Link URI on `host`, qualifiers in the standard's order."""
        path = f"/01/{self.gtin}"
        for ai, value in self._qualifiers():
            path += f"/{ai}/{quote(value, safe='')}"
        return f"https://{host}{path}"

    def batch(self) -> DigitalLink:
        """Return the class-level link: the same GTIN and lot, without serial or TPX."""
        return DigitalLink(self.gtin, lot=self.lot, cpv=self.cpv)

    @classmethod
    def parse(cls, uri: str) -> DigitalLink:
        """Parse a Digital Link URI with AI 01 as primary key; InvalidInput naming the fault.

        Any host and path prefix are accepted (a resolver's domain does not change the
        identity); query-string attributes are ignored.
        """
        scheme, netloc, path, _query, _fragment = urlsplit(uri)
        if not netloc:
            raise InvalidInput(f"not a GS1 Digital Link URI: {uri!r} has no host")
        try:  # without the query: its attributes do not identify
            parsed = GS1DigitalLinkURI.parse(urlunsplit((scheme, netloc, path, "", "")))
        except ParseError as exc:
            raise InvalidInput(f"not a GS1 Digital Link URI: {uri!r}: {exc}") from exc
        values: dict[str, str] = {}
        for element in parsed.element_strings:
            if element.ai.ai == "01" and element.gtin_error is not None:
                raise InvalidInput(f"{uri!r}: {element.gtin_error}")
            values[element.ai.ai] = element.value
        if "01" not in values:
            raise InvalidInput(f"{uri!r} is a Digital Link, but not of a GTIN (AI 01)")
        return cls(
            values["01"],
            lot=values.get("10"),
            serial=values.get("21"),
            cpv=values.get("22"),
            tpx=values.get("235"),
        )
