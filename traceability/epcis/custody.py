"""EPCIS mappings of custody and market events: shipping, receiving, retail sale and recall."""

from __future__ import annotations

from traceability.epcis import vocabulary as voc
from traceability.epcis.identifiers import Identifiers
from traceability.epcis.mapping import Json, Mapping, batches_of, location, need, site_fields
from traceability.errors import InvalidInput

DESPATCH_ADVICE = "desadv"


def _batch_list(ids: Identifiers, batches: list[str]) -> list[Json]:
    return [{"epcClass": ids.batch(b)} for b in batches]


def _shipment(ids: Identifiers, shipment: str) -> list[Json]:
    return [{"type": DESPATCH_ADVICE, "bizTransaction": ids.of("shipment", shipment)}]


def _read_shipment(event: Json, ids: Identifiers) -> str:
    for transaction in need(event, "bizTransactionList"):
        uri = str(transaction.get("bizTransaction"))
        if uri.startswith(f"https://{ids.host}/shipment/"):
            return ids.read("shipment", uri)
    raise InvalidInput("no bizTransaction names a herbtrace shipment")


def _party(entries: list[Json], key: str, kind: str, ids: Identifiers) -> str | None:
    for entry in entries:
        if entry.get("type") == kind:
            uri = str(entry.get(key))
            return ids.read("org", uri) if kind == "owning_party" else ids.read_site(uri)
    return None


def _ship_out(body: Json, ids: Identifiers) -> Json:
    destinations = [{"type": "owning_party", "destination": ids.of("org", body["to"])}]
    if body.get("to_site") is not None:
        destinations.append({"type": "location", "destination": ids.site(body["to_site"])})
    return {
        "quantityList": _batch_list(ids, body["batches"]),
        "bizTransactionList": _shipment(ids, body["shipment"]),
        "destinationList": destinations,
    }


def _ship_in(event: Json, ids: Identifiers) -> Json:
    batches = batches_of(event, ids)
    destinations = need(event, "destinationList")
    body: Json = {
        "shipment": _read_shipment(event, ids),
        "batches": batches,
        "to": _party(destinations, "destination", "owning_party", ids),
    }
    to_site = _party(destinations, "destination", "location", ids)
    if to_site is not None:
        body["to_site"] = to_site
    return body


SHIP = Mapping(
    kind="ship",
    event_type="ObjectEvent",
    action="OBSERVE",
    biz_step="shipping",
    disposition="in_transit",
    to_epcis=_ship_out,
    from_epcis=_ship_in,
    consumed=frozenset({"shipment", "batches", "to", "to_site"}),
    date_field="shipped_on",
)


def _receive_out(body: Json, ids: Identifiers) -> Json:
    return {
        "quantityList": _batch_list(ids, body["batches"]),
        **site_fields(ids, body["site"]),
        "bizTransactionList": _shipment(ids, body["shipment"]),
        "sourceList": [{"type": "owning_party", "source": ids.of("org", body["sender"])}],
    }


def _receive_in(event: Json, ids: Identifiers) -> Json:
    return {
        "shipment": _read_shipment(event, ids),
        "batches": batches_of(event, ids),
        "sender": _party(need(event, "sourceList"), "source", "owning_party", ids),
        "site": location(event, ids),
    }


RECEIVE = Mapping(
    kind="receive",
    event_type="ObjectEvent",
    action="OBSERVE",
    biz_step="receiving",
    disposition="in_progress",
    to_epcis=_receive_out,
    from_epcis=_receive_in,
    consumed=frozenset({"shipment", "batches", "sender", "site"}),
    date_field="received_on",
)


def _sale_out(body: Json, ids: Identifiers) -> Json:
    return {"epcList": [ids.unit(body["batch"], s) for s in body["serials"]]}


def _sale_in(event: Json, ids: Identifiers) -> Json:
    units = [ids.read_unit(str(uri)) for uri in need(event, "epcList")]
    batches = {batch for batch, _ in units}
    if len(batches) != 1:
        raise InvalidInput(f"a retail sale is of one packed batch, these units are of {batches}")
    return {"batch": units[0][0], "serials": [serial for _, serial in units]}


RETAIL_SALE = Mapping(
    kind="retail_sale",
    event_type="ObjectEvent",
    action="OBSERVE",
    biz_step="retail_selling",
    disposition="retail_sold",
    to_epcis=_sale_out,
    from_epcis=_sale_in,
    consumed=frozenset({"batch", "serials"}),
    date_field="sold_on",
)


def _recall_out(body: Json, ids: Identifiers) -> Json:
    return {
        "quantityList": _batch_list(ids, [body["batch"]]),
        "persistentDisposition": {"set": ["recalled"]},
    }


def _recall_in(event: Json, ids: Identifiers) -> Json:
    return {"batch": batches_of(event, ids)[0]}


RECALL = Mapping(
    kind="recall",
    event_type="ObjectEvent",
    action="OBSERVE",
    biz_step=voc.RECALLING,
    disposition="recalled",
    to_epcis=_recall_out,
    from_epcis=_recall_in,
    consumed=frozenset({"batch"}),
)
