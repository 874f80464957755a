"""The rejected-messages store: capped evidence, exact bytes, filters."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from traceability.ingest.rejections import (
    MAX_STORED_PAYLOAD,
    Rejection,
    count_rejections,
    list_rejections,
    record_rejections,
)

NOW = datetime(2026, 9, 20, 8, 31, 2, tzinfo=UTC)


def test_rejections_are_stored_capped_and_listed(engine: Engine) -> None:
    """Refused messages keep their exact bytes up to the cap, their full size, and their
    reason; awkward text (NUL, lone surrogates) is stored safely."""
    big = bytes(range(256)) * 400
    record_rejections(
        engine,
        [
            Rejection(NOW, "t/a", "invalid_input", "not JSON \x00 \ud800", b"\xff\x00", "a" * 32),
            Rejection(
                NOW, "t/b", "signature_invalid", "bad", big, "b" * 32, bytes(32), "b" * 32, 3
            ),
        ],
    )
    record_rejections(engine, [])
    assert count_rejections(engine) == 2
    first, second = list_rejections(engine)
    assert first.payload == b"\xff\x00"
    assert first.detail == "not JSON \ufffd ?"
    assert second.payload == big[:MAX_STORED_PAYLOAD]
    assert second.payload_size == len(big)
    assert (second.envelope_hash, second.seq) == (bytes(32), 3)
    assert second.received_at == NOW
    assert [r.topic for r in list_rejections(engine, device_id="b" * 32)] == ["t/b"]
    assert [r.topic for r in list_rejections(engine, reason="invalid_input")] == ["t/a"]
    assert list_rejections(engine, after_id=second.id or 0) == []
