"""The URIs that name herbtrace's batches, units, sites and parties in EPCIS, both ways.

All live on the Digital Link host (`HERBTRACE_DIGITAL_LINK_HOST`), so a resolver there can
answer for each of them:

    batch of a packed product   https://{host}/01/{GTIN-14}/10/{lot}            (class level)
    packed unit                 https://{host}/01/{GTIN-14}/10/{lot}/21/{serial} (instance)
    any other batch             https://{host}/batch/{batch ID}
    unit of a batch without a product (no pack event known)
                                https://{host}/batch/{batch ID}/21/{serial, percent-encoded}
    site with a GLN             https://{host}/414/{GLN}
    any other site              https://{host}/site/{site ID}
    organisation                https://{host}/org/{organisation ID}
    shipment                    https://{host}/shipment/{shipment ID}
    sensor                      https://{host}/sensor/{sensor ID}

Herbtrace IDs are `[A-Za-z0-9][A-Za-z0-9._-]{0,63}`, so they need no encoding. Reading a
URI back, the host must be the configured one, except for Digital Links (any host names the
same GTIN); which batch a Digital Link names is learnt from the pack events and which site
a GLN names from the site master data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

from traceability.digital_link import DigitalLink
from traceability.errors import InvalidInput

_ID = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
_KINDS = ("batch", "site", "org", "shipment", "sensor")


@dataclass
class Identifiers:
    """Builds and reads identifier URIs; knows the products of packed batches and site GLNs."""

    host: str
    products: dict[str, tuple[str, str]] = field(default_factory=dict)
    """packed batch ID → (GTIN-14, lot)"""
    glns: dict[str, str] = field(default_factory=dict)
    """site ID → GLN"""

    def __post_init__(self) -> None:
        host = re.escape(self.host)
        self._plain = re.compile(rf"https://{host}/({'|'.join(_KINDS)})/({_ID})")
        self._unit = re.compile(rf"https://{host}/batch/({_ID})/21/([^/?#]+)")
        self._gln = re.compile(rf"https://{host}/414/([0-9]{{13}})")

    def learn_product(self, batch: str, gtin: str, lot: str) -> None:
        """Record that `batch` is the packed lot `lot` of `gtin` (from a pack event)."""
        self.products[batch] = (DigitalLink(gtin).gtin, lot)

    def learn_gln(self, site: str, gln: str) -> None:
        """Record the GLN of a site (from its registration)."""
        self.glns[site] = gln

    # building

    def batch(self, batch: str) -> str:
        """Return a batch's URI: its product's class-level Digital Link, or a batch URI."""
        if batch in self.products:
            gtin, lot = self.products[batch]
            return DigitalLink(gtin, lot=lot).uri(self.host)
        return f"https://{self.host}/batch/{batch}"

    def unit(self, batch: str, serial: str) -> str:
        """Return a packed unit's URI: its Digital Link with serial, or a batch-unit URI."""
        if batch in self.products:
            gtin, lot = self.products[batch]
            return DigitalLink(gtin, lot=lot, serial=serial).uri(self.host)
        return f"https://{self.host}/batch/{batch}/21/{quote(serial, safe='')}"

    def site(self, site: str) -> str:
        """Return a site's URI: `…/414/{GLN}` when it has one, else `…/site/{ID}`."""
        if site in self.glns:
            return f"https://{self.host}/414/{self.glns[site]}"
        return f"https://{self.host}/site/{site}"

    def of(self, kind: str, ident: str) -> str:
        """Return the URI of an organisation, shipment or sensor (`kind` org/shipment/sensor)."""
        return f"https://{self.host}/{kind}/{ident}"

    # reading

    def read(self, kind: str, uri: str) -> str:
        """Return the ID in a `https://{host}/{kind}/{ID}` URI; InvalidInput if it is not one."""
        match = self._plain.fullmatch(uri)
        if match is None or match.group(1) != kind:
            raise InvalidInput(f"{uri!r} is not a herbtrace {kind} URI on {self.host}")
        return match.group(2)

    def read_batch(self, uri: str) -> str:
        """Return the batch a batch URI or a class-level Digital Link names."""
        if uri.startswith(f"https://{self.host}/batch/"):
            return self.read("batch", uri)
        link = _digital_link(uri)
        if link is None or link.lot is None or link.serial is not None:
            raise InvalidInput(f"{uri!r} names no herbtrace batch")
        return self._packed_batch(link)

    def read_unit(self, uri: str) -> tuple[str, str]:
        """Return (batch, serial) of a unit's Digital Link or batch-unit URI."""
        match = self._unit.fullmatch(uri)
        if match is not None:
            return match.group(1), unquote(match.group(2))
        link = _digital_link(uri)
        if link is None or link.lot is None or link.serial is None:
            raise InvalidInput(f"{uri!r} names no packed unit (a Digital Link with lot and serial)")
        return self._packed_batch(link), link.serial

    def read_site(self, uri: str) -> str:
        """Return the site a site URI or a GLN URI names."""
        match = self._gln.fullmatch(uri)
        if match is None:
            return self.read("site", uri)
        for site, gln in self.glns.items():
            if gln == match.group(1):
                return site
        raise InvalidInput(f"no registered site has GLN {match.group(1)}")

    def _packed_batch(self, link: DigitalLink) -> str:
        for batch, product in self.products.items():
            if product == (link.gtin, link.lot):
                return batch
        raise InvalidInput(f"no pack event names the batch of GTIN {link.gtin} lot {link.lot}")


def _digital_link(uri: str) -> DigitalLink | None:
    if "/01/" not in uri:
        return None
    return DigitalLink.parse(uri)
