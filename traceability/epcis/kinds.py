"""Which mapping serves which herbtrace body type, and which herbtrace kind an EPCIS event is."""

from __future__ import annotations

from traceability.epcis import custody, origin, quality, transform
from traceability.epcis import vocabulary as voc
from traceability.epcis.mapping import Json, Mapping
from traceability.errors import InvalidInput

MAPPINGS: dict[str, Mapping] = {
    m.kind: m
    for m in (
        origin.PLANTING,
        origin.HUSBANDRY,
        origin.CULTIVATION_INPUT,
        origin.HARVEST,
        transform.FRESH_PROCESSING,
        transform.PROCESSING,
        transform.SPLIT,
        transform.MERGE,
        transform.PACK,
        quality.QUALITY_TEST,
        quality.SENSOR_READING,
        quality.ALERT,
        custody.SHIP,
        custody.RECEIVE,
        custody.RETAIL_SALE,
        custody.RECALL,
    )
}
"""herbtrace body type → its EPCIS mapping (registrations are master data, not events)."""

MASTER_DATA_KINDS = frozenset({"organisation", "site"})

_BY_STEP: dict[tuple[str, str], Mapping] = {
    (m.event_type, m.biz_step): m for m in MAPPINGS.values()
}


def classify(event: Json) -> Mapping:
    """Return the mapping of an EPCIS event, from its type and bizStep (or a recalled disposition).

    InvalidInput says why an event has no herbtrace counterpart.
    """
    event_type = str(event.get("type"))
    step = voc.bare_cbv(str(event.get("bizStep", "")), voc.CBV_BIZSTEP_PREFIXES)
    found = _BY_STEP.get((event_type, step))
    if found is not None:
        return found
    disposition = voc.bare_cbv(str(event.get("disposition", "")), voc.CBV_DISPOSITION_PREFIXES)
    if event_type == "ObjectEvent" and disposition == "recalled":
        return custody.RECALL
    known = sorted({s for t, s in _BY_STEP if t == event_type})
    if not known:
        raise InvalidInput(f"herbtrace has no counterpart of a {event_type}")
    raise InvalidInput(
        f"a {event_type} with bizStep {step or '(none)'} has no herbtrace counterpart "
        f"(known bizSteps: {', '.join(known)})"
    )
