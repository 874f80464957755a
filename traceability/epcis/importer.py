"""Import of an EPCIS 2.0 document: each mappable event becomes an envelope of the import signer.

The document is validated against GS1's schema first: a document that is not EPCIS is
refused whole.

Then the organisation master data, the site master data and the events, each in document
order, are mapped back to herbtrace bodies and checked with the domain's models. Each one
that maps is signed by the import signer and appended by `append`. The import signer is a
registered signer with role `importer`, whose Ed25519 key is a PKCS#8 file encrypted with
`HERBTRACE_IMPORT_KEY_PASSPHRASE`.

`herbtrace import epcis` passes the domain's `record` as `append`, so the rules judge each
envelope (an importer speaks for the organisations its events name, see
`traceability.domain.rules.importer`) and the indexes take it in. Envelope `time` is the
event's eventTime in UTC, so an export of the imported log gives the events back.

One envelope is appended at a time, so a refused event never leaves a hole in the signer's
chain. An event that does not map, or that the log refuses, is reported with the reason;
everything else still goes in. An event the import signer already logged (same body, same
time) is reported as a duplicate, so importing a document twice appends nothing new.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from schemas.events import parse_body
from traceability.canonical import canonical_bytes
from traceability.envelope import GENESIS_PREV, envelope_hash, sign_envelope
from traceability.epcis import masterdata
from traceability.epcis.identifiers import Identifiers
from traceability.epcis.kinds import classify
from traceability.epcis.validate import validate_epcis
from traceability.epcis.vocabulary import ext
from traceability.errors import ConfigurationError, InvalidInput, TraceabilityError
from traceability.keys import key_id_for, raw_public_key
from traceability.ledger import Ledger
from traceability.log.reading import entries_of_signer
from traceability.log.results import AppendResult
from traceability.log.sequencing import signer_heads
from traceability.log.signers import get_signer

Json = dict[str, Any]
Status = Literal["appended", "duplicate", "skipped", "rejected"]


@dataclass(frozen=True)
class Outcome:
    """What became of one event or master-data element of the document."""

    source: str
    status: Status
    kind: str | None = None
    index: int | None = None
    reason: str | None = None
    code: str | None = None
    """The log's stable reason code when `rejected` (e.g. `mass_balance`)."""


@dataclass(frozen=True)
class Planned:
    """A herbtrace body ready to sign, with the time it happened and where it came from."""

    source: str
    body: Json
    time: str


def envelope_time(value: object) -> str:
    """Return an EPCIS time as an envelope time: RFC 3339 UTC ending in 'Z' (kept as is if so)."""
    text = str(value)
    if text.endswith("Z"):
        return text
    try:
        moment = datetime.fromisoformat(text).astimezone(UTC)
    except ValueError as exc:
        raise InvalidInput(f"eventTime {text!r} is not an RFC 3339 time") from exc
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return stamp + (f".{moment.microsecond:06d}".rstrip("0") if moment.microsecond else "") + "Z"


def _checked(body: Json) -> Json:
    try:
        parse_body(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "body"
        raise InvalidInput(f"{body.get('type')}: {where}: {first['msg']}") from exc
    return body


def _registers(body: Json | InvalidInput) -> str | None:
    """What a registration registers: `organisation`, `site`, or None when it did not map."""
    return None if isinstance(body, InvalidInput) else str(body.get("type"))


def _learn(document: Json, ids: Identifiers) -> None:
    """Learn site GLNs and packed products, so Digital Links and GLN URIs map to herbtrace IDs."""
    for _, body, _ in masterdata.registrations(document):
        if isinstance(body, dict) and body.get("type") == "site" and body.get("gln"):
            ids.learn_gln(str(body.get("id")), str(body["gln"]))
    for event in document["epcisBody"]["eventList"]:
        packed = event.get(ext("packed_batch"))
        if event.get("type") == "AggregationEvent" and isinstance(packed, str):
            try:
                body = classify(event).import_(event, ids)
                ids.learn_product(packed, body["product"]["gtin"], body["product"]["lot"])
            except (TraceabilityError, KeyError, TypeError):
                continue  # reported when the event itself is planned


def plan(document: Json, host: str) -> tuple[list[Planned], list[Outcome]]:
    """Validate the document and map it; return the bodies to append and the skipped items."""
    validate_epcis(document)
    if document.get("type") != "EPCISDocument":
        raise InvalidInput("only an EPCISDocument can be imported")
    ids = Identifiers(host)
    _learn(document, ids)
    planned: list[Planned] = []
    skipped: list[Outcome] = []
    found = masterdata.registrations(document)
    organisations_first = sorted(found, key=lambda r: _registers(r[1]) != "organisation")
    for source, body, time in organisations_first:
        try:
            if isinstance(body, InvalidInput):
                raise body
            planned.append(Planned(source, _checked(body), envelope_time(time)))
        except InvalidInput as exc:
            skipped.append(Outcome(source, "skipped", reason=str(exc)))
    for n, event in enumerate(document["epcisBody"]["eventList"]):
        source = str(event.get("eventID") or f"event {n}")
        try:
            mapping = classify(event)
            body = _checked(mapping.import_(event, ids))
            planned.append(Planned(source, body, envelope_time(event.get("eventTime"))))
        except InvalidInput as exc:
            skipped.append(Outcome(source, "skipped", reason=str(exc)))
        except (KeyError, TypeError, AttributeError) as exc:
            skipped.append(Outcome(source, "skipped", reason=f"malformed event: {exc!r}"))
    return planned, skipped


def _logged(ledger: Ledger, key_id: str) -> dict[bytes, int]:
    """Return canonical (time, body) → log index of everything the import signer logged."""
    seen: dict[bytes, int] = {}
    with ledger.engine.connect() as conn:
        entries = entries_of_signer(conn, key_id)
    for entry in entries:
        payload = entry.payload()
        seen[canonical_bytes([payload["time"], payload["body"]])] = entry.index
    return seen


def check_importer(ledger: Ledger, key: Ed25519PrivateKey) -> str:
    """Return the key's key ID if it belongs to a registered importer; ConfigurationError if not."""
    key_id = key_id_for(raw_public_key(key))
    try:
        info = get_signer(ledger.engine, key_id)
    except TraceabilityError as exc:
        raise ConfigurationError(
            f"the import key {key_id} is not a registered signer: register it with role importer"
        ) from exc
    if info.role != "importer":
        raise ConfigurationError(f"signer {key_id} has role {info.role}, not importer")
    return key_id


def import_document(
    ledger: Ledger,
    key: Ed25519PrivateKey,
    document: Json,
    host: str,
    append: Callable[[list[Json]], list[AppendResult]] | None = None,
) -> list[Outcome]:
    """Append every mappable item of `document` as the import signer's envelopes, in order.

    The order is organisations, sites (a site names its registered organisation), then events.

    `append` appends signed envelopes: the domain's `record` to have its rules judge them
    and its indexes take them in (as `herbtrace import epcis` does); `ledger.append`, the
    default, checks only the ledger's own entry policy.
    """
    append = append or ledger.append
    key_id = check_importer(ledger, key)
    planned, outcomes = plan(document, host)
    with ledger.engine.connect() as conn:
        head = signer_heads(conn, {key_id}).get(key_id)
    seq, prev = (head.seq, head.envelope_hash.hex()) if head else (0, GENESIS_PREV)
    seen = _logged(ledger, key_id)
    for item in planned:
        kind = str(item.body["type"])
        identity = canonical_bytes([item.time, item.body])
        if identity in seen:
            outcomes.append(Outcome(item.source, "duplicate", kind, seen[identity]))
            continue
        payload = {"v": 1, "signer": key_id, "seq": seq + 1, "prev": prev, "time": item.time}
        payload["body"] = item.body
        [result] = append([sign_envelope(key, payload)])
        if result.status == "rejected":
            outcomes.append(
                Outcome(item.source, "rejected", kind, reason=result.detail, code=result.reason)
            )
            continue
        seq, prev = seq + 1, envelope_hash(canonical_bytes(payload)).hex()
        seen[identity] = int(result.index or 0)
        outcomes.append(Outcome(item.source, "appended", kind, result.index))
    return outcomes
