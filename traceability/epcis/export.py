"""The log as a GS1 EPCIS 2.0 document (JSON-LD): one event per domain entry, registrations as
master data, every event traceable back to its log entry.

Each exported event carries, besides its mapped fields (see docs/epcis.md):

* `eventTime` = the envelope's `time` (as signed), `eventTimeZoneOffset` = "+08:00";
* `recordTime` = the entry's received time (when the log accepted it);
* `eventID` = `ni:///sha-256;{envelope hash, hex}?ver=herbtrace-envelope-1` — the SHA-256
  of the canonical payload, in GS1's hex form of RFC 6920; `ver` says it hashes herbtrace's
  envelope, not CBV's event pre-hash string;
* `herbtrace:log_index`, `herbtrace:leaf_hash` (hex) and `herbtrace:signer` (key ID), so
  an inclusion proof of the entry can be fetched and checked against a signed checkpoint.

Entries whose body is no valid domain event are left out and reported, never guessed at.
With a batch, only the entries of its lineage are read (`traceability.epcis.lineage`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.engine import Engine

from schemas.events import parse_body
from traceability.envelope import envelope_hash
from traceability.epcis import masterdata
from traceability.epcis import vocabulary as voc
from traceability.epcis.identifiers import Identifiers
from traceability.epcis.kinds import MAPPINGS, MASTER_DATA_KINDS
from traceability.epcis.lineage import select_batch
from traceability.epcis.validate import validate_epcis
from traceability.log.entry import Entry
from traceability.log.merkle import hash_leaf
from traceability.log.reading import all_entries, entries_in_order

Json = dict[str, Any]
EVENT_ID = "ni:///sha-256;{}?ver=herbtrace-envelope-1"


@dataclass(frozen=True)
class LoggedBody:
    """A domain event body as logged: where, when and by whom."""

    index: int
    leaf_hash: str
    received: str
    time: str
    signer: str
    envelope_hash: str
    body: Json


@dataclass
class ExportResult:
    """The document, and the entries left out with the reason."""

    document: Json
    events: int = 0
    registrations: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)


def _read(
    entries: Iterable[Entry], bodies: list[LoggedBody], skipped: list[tuple[int, str]]
) -> None:
    """Add each entry's domain body to `bodies`, or (index, why) to `skipped`."""
    for entry in entries:
        index = entry.index
        payload = entry.payload()
        body = payload["body"]
        try:
            parse_body(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            skipped.append((int(index), f"{body.get('type')} body: {where}: {first['msg']}"))
            continue
        bodies.append(
            LoggedBody(
                index=int(index),
                leaf_hash=hash_leaf(entry.leaf()).hex(),
                received=entry.received,
                time=payload["time"],
                signer=payload["signer"],
                envelope_hash=envelope_hash(entry.payload_bytes).hex(),
                body=body,
            )
        )


def logged_bodies(
    engine: Engine, indices: Sequence[int] | None = None
) -> tuple[list[LoggedBody], list[tuple[int, str]]]:
    """The valid domain bodies of every entry (or of those at `indices`, ascending), in log order.

    Entries without a valid body come back as (index, why), in log order too.
    """
    bodies: list[LoggedBody] = []
    skipped: list[tuple[int, str]] = []
    if indices is None:
        for chunk in all_entries(engine):
            _read(chunk, bodies, skipped)
        return bodies, skipped
    with engine.connect() as conn:
        _read(entries_in_order(conn, indices), bodies, skipped)
    return bodies, skipped


def identifiers_for(host: str, bodies: list[Json]) -> Identifiers:
    """Return the identifier scheme, knowing every packed product and site GLN in `bodies`."""
    ids = Identifiers(host)
    for body in bodies:
        if body["type"] == "pack":
            ids.learn_product(body["packed_batch"], body["product"]["gtin"], body["product"]["lot"])
        elif body["type"] == "site" and body.get("gln") is not None:
            ids.learn_gln(body["id"], body["gln"])
    return ids


def provenance(logged: LoggedBody) -> Json:
    """Return the extension fields that lead from an EPCIS event back to its log entry."""
    return {
        voc.ext("log_index"): logged.index,
        voc.ext("leaf_hash"): logged.leaf_hash,
        voc.ext("signer"): logged.signer,
    }


def epcis_event(logged: LoggedBody, ids: Identifiers) -> Json:
    """Return the EPCIS event of one logged domain body."""
    mapped = MAPPINGS[logged.body["type"]].export(logged.body, ids)
    return {
        "type": mapped.pop("type"),
        "eventTime": logged.time,
        "eventTimeZoneOffset": voc.TIME_ZONE_OFFSET,
        "recordTime": logged.received,
        "eventID": EVENT_ID.format(logged.envelope_hash),
        **mapped,
        **provenance(logged),
    }


def build_document(
    bodies: list[LoggedBody],
    host: str,
    created: str | None = None,
    products: Iterable[tuple[str, str, str]] = (),
) -> ExportResult:
    """Return the EPCIS document of `bodies`, validated.

    `products` are further (packed batch, GTIN, lot) to name by their Digital Links, for
    packed batches the bodies name without their `pack` event.
    """
    ids = identifiers_for(host, [b.body for b in bodies])
    for packed, gtin, lot in products:
        ids.learn_product(packed, gtin, lot)
    events: list[Json] = []
    elements: dict[str, list[Json]] = {"site": [], "organisation": []}
    skipped: list[tuple[int, str]] = []
    for logged in bodies:
        kind = logged.body["type"]
        if kind in MASTER_DATA_KINDS:
            elements[kind].append(
                masterdata.element(logged.body, ids, logged.time, provenance(logged))
            )
        elif kind not in MAPPINGS:
            skipped.append((logged.index, f"{kind} events have no EPCIS mapping"))
        else:
            events.append(epcis_event(logged, ids))
    document: Json = {
        "@context": voc.CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": created or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        **({"epcisHeader": head} if (head := masterdata.header(elements)) else {}),
        "epcisBody": {"eventList": events},
    }
    validate_epcis(document)
    count = sum(len(v) for v in elements.values())
    return ExportResult(document, len(events), count, skipped)


def export_epcis(engine: Engine, host: str, batch: str | None = None) -> ExportResult:
    """Return the log (or one batch's lineage) as a validated EPCIS 2.0 document.

    With `batch`: NotFound when it is not recorded, IndexesBehind when the domain indexes
    do not reflect the whole log (see `traceability.epcis.lineage`).
    """
    if batch is None:
        bodies, skipped = logged_bodies(engine)
        result = build_document(bodies, host)
    else:
        selection = select_batch(engine, batch)
        indices = sorted(set(selection.events) | set(selection.registrations))
        bodies, skipped = logged_bodies(engine, indices)
        result = build_document(bodies, host, products=selection.products)
    result.skipped[:0] = skipped
    return result


VOLATILE_FIELDS = (
    "eventID",
    "recordTime",
    *(voc.ext(name) for name in ("log_index", "leaf_hash", "signer")),
)
"""What differs when the same events are exported from another log (after an import): the
envelope hash, the time received, and where and by whom the entry was logged."""


def stable_view(document: Json) -> Json:
    """The document without creationDate and the VOLATILE_FIELDS of events and elements.

    Export → import → export gives the same stable view.
    """
    events = [
        {k: v for k, v in event.items() if k not in VOLATILE_FIELDS}
        for event in document["epcisBody"]["eventList"]
    ]
    vocabularies = []
    master = document.get("epcisHeader", {}).get("epcisMasterData", {})
    for vocabulary in master.get("vocabularyList", []):
        elements = [
            {
                **element,
                "attributes": [
                    a for a in element.get("attributes", []) if a.get("id") not in VOLATILE_FIELDS
                ],
            }
            for element in vocabulary.get("vocabularyElementList", [])
        ]
        vocabularies.append({**vocabulary, "vocabularyElementList": elements})
    return {"vocabularies": vocabularies, "events": events}
