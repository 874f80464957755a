"""How one herbtrace event kind maps to an EPCIS event and back, and the helpers mappings share.

A `Mapping` fixes the EPCIS event type, action, bizStep and disposition of a body type and
names the body fields it represents with standard EPCIS fields (`consumed`). Every other
field of the body travels as an extension field `herbtrace:{field}` (in `ilmd` for the
fields listed in `ilmd`), so export → import gives back the body that was signed, and an
import from another EPCIS system takes herbtrace's fields from wherever they are standard.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from traceability.epcis.identifiers import Identifiers
from traceability.epcis.jsonout import from_decimal, to_decimal
from traceability.epcis.vocabulary import UNIT_OF, UOM, ext, ext_name
from traceability.errors import InvalidInput

Json = dict[str, Any]
ToEpcis = Callable[[Json, Identifiers], Json]
FromEpcis = Callable[[Json, Identifiers], Json]

PROVENANCE = ("log_index", "leaf_hash", "signer")
"""Extension fields naming the log entry an event came from (not body fields)."""
QUANTITIES = "quantities"
"""Extension field with quantities whose unit has no UN/CEFACT code (亩, head)."""


@dataclass(frozen=True)
class Mapping:
    """The EPCIS form of one herbtrace body type."""

    kind: str
    event_type: str
    biz_step: str
    to_epcis: ToEpcis
    from_epcis: FromEpcis
    consumed: frozenset[str]
    action: str | None = None
    disposition: str | None = None
    ilmd: frozenset[str] = frozenset()
    owned: frozenset[str] = frozenset()
    """Extension fields the mapping writes itself, which are not body fields."""
    date_field: str | None = None
    """The body's local date, taken from eventTime when an imported event lacks it."""

    def export(self, body: Json, ids: Identifiers) -> Json:
        """Return the EPCIS event (without time and provenance fields) of a body."""
        event: Json = {"type": self.event_type}
        if self.action is not None:
            event["action"] = self.action
        event["bizStep"] = self.biz_step
        if self.disposition is not None:
            event["disposition"] = self.disposition
        event.update(self.to_epcis(body, ids))
        ilmd: Json = {}
        for key, value in body.items():
            if key == "type" or key in self.consumed or value is None:
                continue
            (ilmd if key in self.ilmd else event)[ext(key)] = value
        if ilmd:
            event["ilmd"] = {**event.get("ilmd", {}), **ilmd}
        return event

    def import_(self, event: Json, ids: Identifiers) -> Json:
        """Return the herbtrace body an EPCIS event describes (not yet validated)."""
        skip = {*PROVENANCE, QUANTITIES, *self.owned}
        body: Json = {"type": self.kind}
        for source in (event, event.get("ilmd") or {}):
            for key, value in source.items():
                name = ext_name(key)
                if name is not None and name not in skip:
                    body[name] = value
        body.update(self.from_epcis(event, ids))
        if self.date_field is not None and self.date_field not in body:
            body[self.date_field] = local_date(event)
        return body


def local_date(event: Json) -> str:
    """Return the calendar date of an event's eventTime at its eventTimeZoneOffset."""
    try:
        moment = datetime.fromisoformat(str(event["eventTime"]).replace("Z", "+00:00"))
        sign, hours, minutes = _offset(str(event.get("eventTimeZoneOffset", "+00:00")))
    except (KeyError, ValueError) as exc:
        raise InvalidInput(f"event has no usable eventTime: {exc}") from exc
    return (moment + sign * timedelta(hours=hours, minutes=minutes)).date().isoformat()


def _offset(text: str) -> tuple[int, int, int]:
    sign = -1 if text.startswith("-") else 1
    hours, minutes = text[1:].split(":")
    return sign, int(hours), int(minutes)


def quantity_element(
    event: Json, ids: Identifiers, batch: str, quantity: Json | None, key: str = "quantityList"
) -> Json:
    """Return a quantityElement for `batch`; a unit without a UN/CEFACT code goes aside."""
    element: Json = {"epcClass": ids.batch(batch)}
    if quantity is not None:
        code = UOM.get(quantity["unit"])
        if code is None:
            aside = event.setdefault(ext(QUANTITIES), [])
            aside.append({"list": key, "epcClass": element["epcClass"], **quantity})
        else:
            element["quantity"] = to_decimal(quantity["value"])
            element["uom"] = code
    return element


def read_quantity(event: Json, element: Json, key: str = "quantityList") -> Json | None:
    """Return the herbtrace quantity of a quantityElement, or None if it has none."""
    for aside in event.get(ext(QUANTITIES), []):
        if aside.get("list") == key and aside.get("epcClass") == element.get("epcClass"):
            return {"value": aside.get("value"), "unit": aside.get("unit")}
    if "quantity" not in element:
        return None
    value = from_decimal(element["quantity"], f"quantity of {element.get('epcClass')}")
    code = element.get("uom")
    if code is None:
        return {"value": value, "unit": "piece"}  # EPCIS: no uom means a count
    if code not in UNIT_OF:
        raise InvalidInput(f"unit {code} has no herbtrace equivalent (use one of {sorted(UOM)})")
    return {"value": value, "unit": UNIT_OF[code]}


def portions(event: Json, ids: Identifiers, key: str) -> list[Json]:
    """Return the herbtrace portions (batch and quantity) of a quantity list of an event."""
    out: list[Json] = []
    for element in need(event, key):
        portion: Json = {"batch": ids.read_batch(str(element.get("epcClass")))}
        quantity = read_quantity(event, element, key)
        if quantity is not None:
            portion["quantity"] = quantity
        out.append(portion)
    return out


def batches_of(event: Json, ids: Identifiers) -> list[str]:
    """Return the batches named by an event's quantityList."""
    if not event.get("quantityList") and event.get("epcList"):
        raise InvalidInput(
            f"{event.get('type')} names items ({event['epcList'][0]}, …), not herbtrace "
            "batches: a quantityList of batch classes is needed"
        )
    return [ids.read_batch(str(e.get("epcClass"))) for e in need(event, "quantityList")]


def need(event: Json, key: str) -> Any:
    """Return `event[key]`; InvalidInput naming the missing field otherwise."""
    if key not in event or event[key] in (None, [], {}):
        raise InvalidInput(f"{event.get('type', 'event')} has no {key}")
    return event[key]


def location(event: Json, ids: Identifiers, key: str = "bizLocation") -> str:
    """Return the site a bizLocation (or readPoint) names."""
    return ids.read_site(str(need(event, key).get("id")))


def site_fields(ids: Identifiers, site: str | None) -> Json:
    """Return readPoint and bizLocation of a site (nothing when there is no site)."""
    if site is None:
        return {}
    uri = ids.site(site)
    return {"readPoint": {"id": uri}, "bizLocation": {"id": uri}}


def number(value: str) -> Decimal:
    """Return a herbtrace decimal string as the exact JSON number EPCIS wants."""
    return to_decimal(value)
