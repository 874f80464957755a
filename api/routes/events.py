"""Events over HTTPS: a signed envelope in, the log's signed receipt out, as over MQTT.

This is also how a batch is created: a batch comes into being with the event that makes it
(`planting`, `harvest`, `husbandry` for a herd, or the outputs of processing, split, merge
and pack), signed by a device or operator of the organisation that will own it.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from api.deps import LimitsDep
from api.ratelimit import refuse
from api.services import SubmitterDep
from schemas.mqtt import Receipt
from traceability.errors import InvalidInput
from traceability.ingest.intake import ANONYMOUS_NOT_KEPT, Arrival

router = APIRouter(prefix="/v1/events", tags=["events"])

CHANNEL = "POST /v1/events"
"""The `topic` stored with refusals that came this way."""
STATUS = {"accepted": 201, "duplicate": 200, "rejected": 422}

_ENVELOPE_EXAMPLE: dict[str, Any] = {
    "payload": {
        "v": 1,
        "signer": "5f0c3c1e2b7d4a6f8e9d0c1b2a394857",
        "seq": 7,
        "prev": "3b4c" + "0" * 60,
        "time": "2026-09-15T02:30:00Z",
        "body": {
            "type": "harvest",
            "batch": "FS-RS-2026-001",
            "origin": "FS-PL-2020-001",
            "herb": "renshen",
            "site": "site-fusong-wanliang",
            "harvested_on": "2026-09-15",
            "quantity": {"value": "180.500", "unit": "kg"},
            "growing_years": 6,
        },
    },
    "sig": "base64 Ed25519 signature over 'herbtrace/v1/envelope\\n' || RFC 8785(payload)",
}

_RECEIPT_EXAMPLE: dict[str, Any] = {
    "payload": {
        "v": 1,
        "log": "herbtrace.local/log",
        "envelope_hash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "signer": "5f0c3c1e2b7d4a6f8e9d0c1b2a394857",
        "seq": 7,
        "status": "accepted",
        "reason": None,
        "detail": None,
        "index": 1042,
        "leaf_hash": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "received": "2026-09-15T02:30:01.123456Z",
    },
    "sig": "base64 Ed25519 signature by the log key",
}


def _receipt_response(description: str, status: str) -> dict[str, Any]:
    example = {**_RECEIPT_EXAMPLE, "payload": {**_RECEIPT_EXAMPLE["payload"], "status": status}}
    if status == "rejected":
        example["payload"] |= {
            "reason": "custody",
            "detail": "org-jian-processor does not hold batch FS-RS-2026-001",
            "index": None,
            "leaf_hash": None,
            "received": None,
        }
    return {
        "model": Receipt,
        "description": description,
        "content": {"application/json": {"example": example}},
    }


async def _read_capped(request: Request, limit: int) -> tuple[bytes, int]:
    """The body's first `limit + 1` bytes at most, and the body's whole length."""
    kept = bytearray()
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if len(kept) <= limit:
            kept.extend(chunk[: limit + 1 - len(kept)])
    return bytes(kept), size


def _claimed_signer(raw: bytes) -> str | None:
    """The signer an envelope names (unverified: only to find its allowance), else None."""
    try:
        envelope = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    payload = envelope.get("payload") if isinstance(envelope, dict) else None
    signer = payload.get("signer") if isinstance(payload, dict) else None
    return f"signer:{signer}" if isinstance(signer, str) and 0 < len(signer) <= 128 else None


@router.post(
    "",
    status_code=201,
    response_class=Response,
    responses={
        201: _receipt_response("accepted: appended to the log", "accepted"),
        200: _receipt_response("duplicate: the log already holds this envelope", "duplicate"),
        422: _receipt_response("rejected, with the stable reason and a detail", "rejected"),
        429: {
            "description": "too many requests from this address, account or signing device "
            "(see Retry-After)"
        },
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "A signed envelope, byte for byte as a device publishes it over "
            "MQTT (docs/protocol.md). At most HERBTRACE_MAX_ENVELOPE_BYTES bytes.",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["payload", "sig"],
                        "properties": {
                            "payload": {
                                "type": "object",
                                "description": "v, signer, seq, prev, time, body "
                                "(schemas/json/envelope.schema.json)",
                            },
                            "sig": {"type": "string", "description": "base64 Ed25519"},
                        },
                    },
                    "example": _ENVELOPE_EXAMPLE,
                }
            },
        }
    },
)
async def submit_event(request: Request, submitter: SubmitterDep, limits: LimitsDep) -> Response:
    """Record a signed envelope, exactly as a device would publish it over MQTT, and answer
    with the receipt the ingest gateway would publish: signed by the log key, 201 when
    accepted, 200 when the log already held it, 422 when refused (the receipt's `reason`
    and `detail` say why; nothing of it is logged, and the refusal is kept as evidence).

    The envelope's signature is the authority: anyone may submit, anonymous callers under
    the public rate limit, authenticated ones under their account's, and every envelope
    under its signer's (HERBTRACE_DEVICE_RATE; spent only by validly signed envelopes).
    A new batch is created by submitting the event that makes it
    (`planting`, `harvest`, …) signed by a device or operator of its owner.
    """
    raw, size = await _read_capped(request, submitter.max_bytes)
    arrival = Arrival(
        raw,
        CHANNEL,
        size=size,
        authenticated=bool(request.headers.get("authorization")),
        refused=None
        if raw.strip()
        else InvalidInput("the request body is empty: send an envelope"),
    )
    devices = limits.devices
    signer = _claimed_signer(raw) if size == len(raw) else None
    if signer is not None:
        refuse(devices.wait(signer), "signed by this device")
    submission = await run_in_threadpool(submitter.submit, arrival)
    if signer is not None and (submission.result.reason or "") not in ANONYMOUS_NOT_KEPT:
        devices.take(signer)  # only a genuine signature spends its signer's allowance
    return Response(
        content=submission.receipt,
        status_code=STATUS[submission.result.status],
        media_type="application/json",
    )
