"""Organisation and site registrations as EPCIS master data (`epcisHeader.epcisMasterData`).

A registration is no event in EPCIS: it describes a party or a location.

- Sites become elements of the `urn:epcglobal:epcis:vtype:BusinessLocation` vocabulary
  (id = the site's URI, the same URI events use as bizLocation).
- Organisations become elements of herbtrace's `https://herbtrace.org/voc/vtype/Organisation`
  vocabulary.

Every body field is an attribute `herbtrace:{field}`; `herbtrace:recorded_at` keeps the
envelope's time and the provenance attributes name the log entry, as on events. EPCIS
attributes are strings or objects, so a boolean field (`natural_person`) is written "true"
or "false" and read back as a boolean.
"""

from __future__ import annotations

from typing import Any

from traceability.epcis import vocabulary as voc
from traceability.epcis.identifiers import Identifiers
from traceability.epcis.mapping import PROVENANCE
from traceability.errors import InvalidInput

Json = dict[str, Any]
RECORDED_AT = "recorded_at"
VTYPES = {"site": voc.LOCATION_VTYPE, "organisation": voc.ORGANISATION_VTYPE}
KIND_OF = {vtype: kind for kind, vtype in VTYPES.items()}
BOOLEAN_FIELDS = frozenset({"natural_person"})
"""Body fields that are booleans: EPCIS attributes spell them as "true" or "false"."""


def element(body: Json, ids: Identifiers, time: str, provenance: Json) -> Json:
    """Return the vocabulary element of a site or organisation registration."""
    uri = ids.site(body["id"]) if body["type"] == "site" else ids.of("org", body["id"])
    fields = {k: v for k, v in body.items() if k != "type" and v is not None}
    fields[RECORDED_AT] = time
    attributes = [{"id": voc.ext(k), "attribute": _spelt(v)} for k, v in fields.items()]
    attributes += [{"id": k, "attribute": v} for k, v in provenance.items()]
    return {"id": uri, "attributes": attributes}


def header(elements: dict[str, list[Json]]) -> Json:
    """Return the epcisHeader carrying the registrations (kind → elements), or nothing."""
    vocabularies = [
        {"type": VTYPES[kind], "vocabularyElementList": found}
        for kind, found in elements.items()
        if found
    ]
    return {"epcisMasterData": {"vocabularyList": vocabularies}} if vocabularies else {}


def registrations(document: Json) -> list[tuple[str, Json | InvalidInput, str]]:
    """Return each registration in a document: (element id, body or why not, envelope time).

    Vocabularies of other types are skipped: they describe things herbtrace does not register.
    """
    out: list[tuple[str, Json | InvalidInput, str]] = []
    master = (document.get("epcisHeader") or {}).get("epcisMasterData") or {}
    for vocabulary in master.get("vocabularyList") or []:
        kind = KIND_OF.get(str(vocabulary.get("type")))
        if kind is None:
            continue
        for item in vocabulary.get("vocabularyElementList") or []:
            body: Json = {"type": kind}
            for attribute in item.get("attributes") or []:
                name = voc.ext_name(str(attribute.get("id")))
                if name is not None and name not in PROVENANCE:
                    body[name] = _read(name, attribute.get("attribute"))
            time = body.pop(RECORDED_AT, None)
            result: Json | InvalidInput = body
            if not isinstance(time, str):
                result = InvalidInput(f"{kind} {item.get('id')} has no herbtrace:{RECORDED_AT}")
            out.append((str(item.get("id")), result, str(time)))
    return out


def _spelt(value: Any) -> Any:
    """An attribute value as EPCIS allows it: a boolean as "true" or "false"."""
    return ("true" if value else "false") if isinstance(value, bool) else value


def _read(name: str, value: Any) -> Any:
    """An attribute value as the body field `name` holds it (booleans back from strings)."""
    if name in BOOLEAN_FIELDS and value in ("true", "false"):
        return value == "true"
    return value
