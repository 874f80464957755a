"""EPCIS mappings of the origin events: planting, husbandry, cultivation inputs and harvest."""

from __future__ import annotations

from traceability.epcis import vocabulary as voc
from traceability.epcis.identifiers import Identifiers
from traceability.epcis.mapping import (
    Json,
    Mapping,
    batches_of,
    location,
    need,
    quantity_element,
    read_quantity,
    site_fields,
)
from traceability.errors import InvalidInput


def _planting_out(body: Json, ids: Identifiers) -> Json:
    return {
        "quantityList": [{"epcClass": ids.batch(body["batch"])}],
        **site_fields(ids, body["site"]),
    }


def _planting_in(event: Json, ids: Identifiers) -> Json:
    return {"batch": batches_of(event, ids)[0], "site": location(event, ids)}


PLANTING = Mapping(
    kind="planting",
    event_type="ObjectEvent",
    action="ADD",
    biz_step=voc.PLANTING,
    disposition="active",
    to_epcis=_planting_out,
    from_epcis=_planting_in,
    consumed=frozenset({"batch", "site"}),
    ilmd=frozenset({"herb", "planted_on", "seed_source", "seed_lot", "area", "method"}),
    date_field="planted_on",
)


def _husbandry_out(body: Json, ids: Identifiers) -> Json:
    return {
        "action": "ADD" if body.get("activity") == "established" else "OBSERVE",
        "quantityList": [{"epcClass": ids.batch(body["herd"])}],
        **site_fields(ids, body["site"]),
    }


def _husbandry_in(event: Json, ids: Identifiers) -> Json:
    return {"herd": batches_of(event, ids)[0], "site": location(event, ids)}


HUSBANDRY = Mapping(
    kind="husbandry",
    event_type="ObjectEvent",
    biz_step=voc.HUSBANDRY,
    to_epcis=_husbandry_out,
    from_epcis=_husbandry_in,
    consumed=frozenset({"herd", "site"}),
    date_field="on",
)


def _input_out(body: Json, ids: Identifiers) -> Json:
    return {"action": "OBSERVE", "quantityList": [{"epcClass": ids.batch(body["batch"])}]}


def _input_in(event: Json, ids: Identifiers) -> Json:
    return {"batch": batches_of(event, ids)[0]}


CULTIVATION_INPUT = Mapping(
    kind="cultivation_input",
    event_type="ObjectEvent",
    biz_step=voc.CULTIVATION_INPUT,
    to_epcis=_input_out,
    from_epcis=_input_in,
    consumed=frozenset({"batch"}),
    date_field="applied_on",
)


def _harvest_out(body: Json, ids: Identifiers) -> Json:
    event: Json = {}
    event["quantityList"] = [quantity_element(event, ids, body["batch"], body["quantity"])]
    event.update(site_fields(ids, body["site"]))
    return event


def _harvest_in(event: Json, ids: Identifiers) -> Json:
    element = need(event, "quantityList")[0]
    quantity = read_quantity(event, element)
    if quantity is None:
        raise InvalidInput("a harvest's quantityList gives no quantity of the harvested batch")
    return {
        "batch": ids.read_batch(str(element.get("epcClass"))),
        "quantity": quantity,
        "site": location(event, ids),
    }


HARVEST = Mapping(
    kind="harvest",
    event_type="ObjectEvent",
    action="ADD",
    biz_step="commissioning",
    disposition="active",
    to_epcis=_harvest_out,
    from_epcis=_harvest_in,
    consumed=frozenset({"batch", "quantity", "site"}),
    ilmd=frozenset({"herb", "origin", "harvested_on", "growing_years", "part"}),
    date_field="harvested_on",
)
"""CBV's commissioning covers harvesting: the batch of raw material comes into being."""
