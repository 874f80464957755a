"""EPCIS mappings of transformations: fresh processing, 炮制, split, merge, and packing."""

from __future__ import annotations

from decimal import Decimal

from traceability.digital_link import DigitalLink
from traceability.epcis import vocabulary as voc
from traceability.epcis.identifiers import Identifiers
from traceability.epcis.jsonout import from_decimal
from traceability.epcis.mapping import (
    Json,
    Mapping,
    need,
    portions,
    quantity_element,
    site_fields,
)
from traceability.errors import InvalidInput

FORMS = "forms"
"""ilmd extension: output batch ID → its form (红参, 鹿茸片 …)."""
PRODUCT_NAME = "product_name"


def _transform_out(body: Json, ids: Identifiers) -> Json:
    event: Json = {}
    event["inputQuantityList"] = [
        quantity_element(event, ids, p["batch"], p["quantity"], "inputQuantityList")
        for p in body["inputs"]
    ]
    event["outputQuantityList"] = [
        quantity_element(event, ids, p["batch"], p["quantity"], "outputQuantityList")
        for p in body["outputs"]
    ]
    event[voc.ext("steps")] = [voc.step_uri(code) for code in body["steps"]]
    event.update(site_fields(ids, body["site"]))
    forms = {p["batch"]: p["form"] for p in body["outputs"] if p.get("form") is not None}
    if forms:
        event["ilmd"] = {voc.ext(FORMS): forms}
    return event


def _transform_in(event: Json, ids: Identifiers) -> Json:
    steps = []
    for uri in need(event, voc.ext("steps")):
        code = voc.suffix(str(uri), voc.STEP_BASE)
        if code is None:
            raise InvalidInput(f"processing step {uri!r} is not a herbtrace step URI")
        steps.append(code)
    forms = (event.get("ilmd") or {}).get(voc.ext(FORMS), {})
    outputs = portions(event, ids, "outputQuantityList")
    for output in outputs:
        if output["batch"] in forms:
            output["form"] = forms[output["batch"]]
    site = need(event, "bizLocation").get("id")
    return {
        "inputs": portions(event, ids, "inputQuantityList"),
        "outputs": outputs,
        "steps": steps,
        "site": ids.read_site(str(site)),
    }


def _transformation(kind: str, biz_step: str) -> Mapping:
    return Mapping(
        kind=kind,
        event_type="TransformationEvent",
        biz_step=biz_step,
        to_epcis=_transform_out,
        from_epcis=_transform_in,
        consumed=frozenset({"inputs", "outputs", "steps", "site"}),
        owned=frozenset({FORMS}),
        date_field="started_on",
    )


FRESH_PROCESSING = _transformation("fresh_processing", voc.FRESH_PROCESSING)
PROCESSING = _transformation("processing", voc.PAOZHI)


def _split_out(body: Json, ids: Identifiers) -> Json:
    event: Json = {"inputQuantityList": [{"epcClass": ids.batch(body["batch"])}]}
    event["outputQuantityList"] = [
        quantity_element(event, ids, c["batch"], c["quantity"], "outputQuantityList")
        for c in body["children"]
    ]
    return event


def _split_in(event: Json, ids: Identifiers) -> Json:
    parent = portions(event, ids, "inputQuantityList")
    if len(parent) != 1:
        raise InvalidInput(f"a split has one input batch, this event has {len(parent)}")
    return {"batch": parent[0]["batch"], "children": portions(event, ids, "outputQuantityList")}


SPLIT = Mapping(
    kind="split",
    event_type="TransformationEvent",
    biz_step=voc.SPLITTING,
    to_epcis=_split_out,
    from_epcis=_split_in,
    consumed=frozenset({"batch", "children"}),
)


def _merge_out(body: Json, ids: Identifiers) -> Json:
    event: Json = {}
    event["inputQuantityList"] = [
        quantity_element(event, ids, p["batch"], p["quantity"], "inputQuantityList")
        for p in body["inputs"]
    ]
    out = body["output"]
    event["outputQuantityList"] = [
        quantity_element(event, ids, out["batch"], out["quantity"], "outputQuantityList")
    ]
    return event


def _merge_in(event: Json, ids: Identifiers) -> Json:
    outputs = portions(event, ids, "outputQuantityList")
    if len(outputs) != 1:
        raise InvalidInput(f"a merge has one output batch, this event has {len(outputs)}")
    return {"inputs": portions(event, ids, "inputQuantityList"), "output": outputs[0]}


MERGE = Mapping(
    kind="merge",
    event_type="TransformationEvent",
    biz_step=voc.MERGING,
    to_epcis=_merge_out,
    from_epcis=_merge_in,
    consumed=frozenset({"inputs", "output"}),
)


def _pack_out(body: Json, ids: Identifiers) -> Json:
    product = body["product"]
    link = DigitalLink(product["gtin"], lot=product["lot"])
    unit = body["unit_quantity"]
    total = {"value": str(Decimal(unit["value"]) * len(body["serials"])), "unit": unit["unit"]}
    event: Json = {"parentID": link.uri(ids.host)}
    event["childEPCs"] = [
        DigitalLink(link.gtin, lot=link.lot, serial=s).uri(ids.host) for s in body["serials"]
    ]
    event["childQuantityList"] = [
        quantity_element(event, ids, body["batch"], total, "childQuantityList")
    ]
    if product.get("name") is not None:
        event[voc.ext(PRODUCT_NAME)] = product["name"]
    return event


def _pack_in(event: Json, ids: Identifiers) -> Json:
    parent = DigitalLink.parse(str(need(event, "parentID")))
    if parent.lot is None or parent.serial is not None:
        raise InvalidInput("a pack's parentID is the class-level Digital Link (GTIN and lot)")
    serials = []
    for uri in need(event, "childEPCs"):
        unit = DigitalLink.parse(str(uri))
        if (unit.gtin, unit.lot) != (parent.gtin, parent.lot) or unit.serial is None:
            raise InvalidInput(f"packed unit {uri!r} is not a serial of {parent.uri(ids.host)}")
        serials.append(unit.serial)
    product: Json = {"gtin": parent.gtin, "lot": parent.lot}
    if voc.ext(PRODUCT_NAME) in event:
        product["name"] = event[voc.ext(PRODUCT_NAME)]
    source = portions(event, ids, "childQuantityList")
    body: Json = {"batch": source[0]["batch"], "product": product, "serials": serials}
    if voc.ext("unit_quantity") not in event and "quantity" in source[0]:
        total = source[0]["quantity"]
        each = Decimal(total["value"]) / len(serials)
        body["unit_quantity"] = {
            "value": from_decimal(each, "unit quantity"),
            "unit": total["unit"],
        }
    return body


PACK = Mapping(
    kind="pack",
    event_type="AggregationEvent",
    action="ADD",
    biz_step="packing",
    to_epcis=_pack_out,
    from_epcis=_pack_in,
    consumed=frozenset({"batch", "product", "serials"}),
    owned=frozenset({PRODUCT_NAME}),
    date_field="packed_on",
)
"""parentID: the packed lot's class-level Digital Link; childEPCs: one Digital Link per unit;
childQuantityList: how much of the source batch went in (unit quantity × units)."""
