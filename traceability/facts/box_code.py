"""What a regulator types or scans from a box, resolved to the batch it names.

A box shows the GTIN, the lot (批号) and a unit's serial, never the internal batch ID, so
any of these is accepted, tried in this order:

1. an internal batch ID, as recorded;
2. a GS1 Digital Link URI (`https://…/01/{GTIN}/10/{lot}[/21/{serial}]`), what the QR
   code holds;
3. GS1 element strings, as a scanner reads a DataMatrix (`0106901234567892 10FS2026A`,
   FNC1 as GS, with or without a symbology identifier such as `]d2`) or as printed under
   it (`(01)06901234567892(10)FS2026A(21)0001`);
4. a GTIN and a lot, in either order, separated by spaces, commas or slashes, labels such
   as 批号 or LOT allowed (`06901234567892 批号 FS2026A`);
5. a lot alone: every packed batch with that lot (a lot is unique only within its GTIN).

A unit's serial names its packed batch through the unit; a link or element string with a
lot but no serial names the packed batch of that GTIN and lot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from biip import ParseError
from biip.gs1_messages import GS1Message
from sqlalchemy.engine import Connection

from traceability.digital_link import DigitalLink, normalise_gtin
from traceability.domain.batches import lot_batch, read_batch
from traceability.domain.lots import LotMatch, batches_with_lot
from traceability.domain.units import get_unit
from traceability.errors import InvalidInput, NotFound

Via = Literal["batch_id", "digital_link", "element_string", "gtin_lot", "lot"]

MAX_CODE = 300
"""Longest code accepted (a Digital Link with every qualifier is well under this)."""

_SYMBOLOGY = re.compile(r"^\][A-Za-z][0-9]")
_LABELS = re.compile(
    r"(?:生产批号|批次号|批号|商品条码|条码)\s*[:：]?\s*"
    r"|(?i:(?<![^\s,，;；/、])(?:lot|batch|gtin)(?:\s*[:：]\s*|\s+))"
)
_SEPARATORS = re.compile(r"[\s,，;；/、]+")
_GTIN = re.compile(r"^[0-9]{8}$|^[0-9]{12,14}$")


@dataclass(frozen=True, slots=True)
class BoxCode:
    """What a code names: its GTIN, lot and serial when it has them."""

    via: Via
    gtin: str | None = None
    lot: str | None = None
    serial: str | None = None


@dataclass(frozen=True)
class ResolvedCode:
    """The batch a code names (None when a lot alone matched several: see `candidates`)."""

    code: BoxCode
    batch: str | None
    candidates: list[LotMatch] = field(default_factory=list)


def _element_strings(text: str) -> BoxCode | None:
    """GTIN, lot and serial of GS1 element strings (HRI or raw), or None if `text` is not."""
    compact = _SYMBOLOGY.sub("", text.strip())
    if compact.startswith("("):
        try:
            message = GS1Message.parse_hri(compact)
        except ParseError as exc:
            raise InvalidInput(f"{text!r} reads as GS1 element strings, but: {exc}") from exc
    elif compact.startswith("01") and len(compact) >= 16:
        try:
            message = GS1Message.parse("".join(compact.split(" ")))
        except ParseError:
            return None  # digits that are not element strings: maybe a lot
    else:
        return None
    values = {e.ai.ai: e.value for e in message.element_strings}
    if "01" not in values:
        raise InvalidInput(f"{text!r} has GS1 element strings but no GTIN (AI 01)")
    link = DigitalLink(values["01"], lot=values.get("10"), serial=values.get("21"))
    return BoxCode("element_string", link.gtin, link.lot, link.serial)


def _gtin_and_lot(text: str) -> BoxCode | None:
    """A GTIN with a valid check digit and one other token (the lot), or None."""
    tokens = [t for t in _SEPARATORS.split(_LABELS.sub(" ", text)) if t]
    if len(tokens) != 2:
        return None
    gtins = [t for t in tokens if _GTIN.match(t)]
    for gtin in gtins:
        lot = tokens[1] if tokens[0] == gtin else tokens[0]
        try:
            link = DigitalLink(gtin, lot=lot)
        except InvalidInput:
            continue
        return BoxCode("gtin_lot", link.gtin, link.lot)
    if gtins:
        normalise_gtin(gtins[0])  # InvalidInput naming the bad check digit
    return None


def read_code(text: str) -> BoxCode:
    """What `text` is, before any lookup: a Digital Link, element strings, GTIN and lot, or a
    lot (or batch ID) alone. InvalidInput for an empty or over-long code, or a GS1 code
    whose GTIN or qualifiers are malformed."""
    text = text.strip()
    if not text or len(text) > MAX_CODE:
        raise InvalidInput(f"a code is 1–{MAX_CODE} characters, got {len(text)}")
    if re.match(r"(?i)^https?://", text):
        link = DigitalLink.parse(text)
        return BoxCode("digital_link", link.gtin, link.lot, link.serial)
    found = _element_strings(text) or _gtin_and_lot(text)
    if found is not None:
        return found
    lot = _LABELS.sub("", text).strip()
    if not lot or _SEPARATORS.search(lot):
        raise InvalidInput(
            f"{text!r} is not a batch ID, a Digital Link, GS1 element strings, a GTIN with "
            "a lot, or a lot"
        )
    return BoxCode("lot", lot=lot)


def _batch_of(conn: Connection, code: BoxCode) -> str:
    """The batch a code with a GTIN names; NotFound naming what was looked for."""
    gtin = str(code.gtin)
    if code.serial is not None:
        unit = get_unit(conn, gtin, code.serial)
        if code.lot is not None and unit.lot != code.lot:
            raise NotFound(
                f"unit {gtin} serial {code.serial} was packed under lot {unit.lot}, not {code.lot}"
            )
        return unit.batch
    batch = lot_batch(conn, gtin, code.lot)
    if batch is None:
        raise NotFound(f"no batch is packed under GTIN {gtin} lot {code.lot}")
    return batch


def resolve_code(conn: Connection, text: str) -> ResolvedCode:
    """The batch `text` names (see the module's list). NotFound when nothing is recorded
    under it; InvalidInput when it is none of the accepted forms."""
    stripped = text.strip()
    try:
        return ResolvedCode(BoxCode("batch_id"), read_batch(conn, stripped).id)
    except NotFound:
        pass
    code = read_code(stripped)
    if code.gtin is not None:
        return ResolvedCode(code, _batch_of(conn, code))
    matches = batches_with_lot(conn, str(code.lot))
    if not matches:
        raise NotFound(f"nothing is recorded under {stripped!r}: no batch ID or packed lot")
    if len(matches) == 1:
        (only,) = matches
        return ResolvedCode(BoxCode("lot", only.gtin, only.lot), only.batch, matches)
    return ResolvedCode(code, None, matches)
