"""The appender's rules: chaining, idempotency, equivocation, signer checks and bad input."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import support
from sqlalchemy.engine import Engine

from traceability.canonical import canonical_bytes
from traceability.envelope import GENESIS_PREV, envelope_hash
from traceability.ledger import Ledger
from traceability.log import merkle
from traceability.log.checkpoint import open_checkpoint
from traceability.log.checkpointing import all_checkpoints
from traceability.log.precheck import IN_PROCESS_BELOW
from traceability.log.results import AppendResult
from traceability.log.signers import register_signer, revoke_signer
from traceability.storage import tables

_equivocations = tables.equivocations


def wire(envelope: dict[str, Any]) -> bytes:
    """Return the envelope as JSON bytes, the way a device sends it."""
    return json.dumps(envelope, ensure_ascii=False).encode()


def hash_of(envelope: dict[str, Any]) -> bytes:
    """Return the envelope hash: SHA-256 of the payload's canonical bytes."""
    return envelope_hash(canonical_bytes(envelope["payload"]))


def signer_on(ledger: Ledger) -> support.TestSigner:
    """Return a fresh signer registered in the ledger's registry."""
    signer = support.TestSigner()
    signer.register(ledger.engine)
    return signer


def statuses(results: list[AppendResult]) -> list[str]:
    """Return each result's status, or `rejected:<reason>`."""
    return [r.status if r.status != "rejected" else f"rejected:{r.reason}" for r in results]


def evidence(engine: Engine) -> list[tuple[str, int, str, dict[str, Any]]]:
    """Return every equivocations row as (signer, seq, kind, refused envelope)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                _equivocations.c.signer,
                _equivocations.c.seq,
                _equivocations.c.kind,
                _equivocations.c.envelope,
            ).order_by(_equivocations.c.id)
        )
        return [(s, int(q), k, json.loads(bytes(e))) for s, q, k, e in rows]


def tree_root(leaf_hashes: list[bytes]) -> bytes:
    """Return MTH(D[n]) of RFC 9162 §2.1.1, computed recursively from the leaf hashes."""
    if not leaf_hashes:
        return merkle.EMPTY_ROOT
    if len(leaf_hashes) == 1:
        return leaf_hashes[0]
    k = 1 << ((len(leaf_hashes) - 1).bit_length() - 1)
    return merkle.hash_children(tree_root(leaf_hashes[:k]), tree_root(leaf_hashes[k:]))


def assert_log_is_chained(ledger: Ledger) -> list[bytes]:
    """Check every entry's index, leaf hash and prev line; return the leaf hashes."""
    hashes: list[bytes] = []
    previous = bytes(32)
    for index in range(ledger.size()):
        leaf, leaf_hash, entry = ledger.entry(index)
        assert entry.index == index
        assert leaf_hash == hashlib.sha256(b"\x00" + leaf).digest()
        assert entry.prev == previous
        previous = leaf_hash
        hashes.append(leaf_hash)
    return hashes


def test_accepted_envelopes_get_consecutive_indexes_and_chained_leaves(ledger: Ledger) -> None:
    """Accepted envelopes get indexes 0..n-1, leaf hash SHA-256(0x00||leaf), prev = last leaf."""
    a, b = signer_on(ledger), signer_on(ledger)
    envelopes = [s.next() for _ in range(6) for s in (a, b)]
    results = ledger.append(envelopes[:5]) + ledger.append([wire(e) for e in envelopes[5:]])
    assert [r.status for r in results] == ["accepted"] * 12
    assert [r.index for r in results] == list(range(12))
    assert ledger.size() == 12
    hashes = assert_log_is_chained(ledger)
    for index, (envelope, result) in enumerate(zip(envelopes, results, strict=True)):
        leaf, leaf_hash, entry = ledger.entry(index)
        assert result.leaf_hash == leaf_hash == hashes[index]
        assert result.envelope_hash == hash_of(envelope)
        assert (result.signer, result.seq) == (envelope["payload"]["signer"], index // 2 + 1)
        assert entry.payload_bytes == canonical_bytes(envelope["payload"])
        assert entry.signature == base64.b64decode(envelope["sig"])
        assert leaf.startswith(f"herbtrace/v1/entry\n{index}\n".encode())
    assert ledger.entry(0)[2].prev == bytes(32)


def test_a_result_names_the_time_the_log_received_its_entry(ledger: Ledger) -> None:
    """An accepted result carries its leaf's received line; a duplicate, in the same batch
    or a later one, the original entry's; a refusal none."""
    a = signer_on(ledger)
    first, second = a.next(), a.next()
    accepted, again_now = ledger.append([first, first])
    assert accepted.received == ledger.entry(0)[2].received
    assert again_now.received == accepted.received
    again_later, refused, next_one = ledger.append([first, {"payload": {}, "sig": ""}, second])
    assert (again_later.status, again_later.received) == ("duplicate", accepted.received)
    assert (refused.status, refused.received) == ("rejected", None)
    assert next_one.received == ledger.entry(1)[2].received


def test_resubmitting_an_envelope_returns_the_original_result(ledger: Ledger) -> None:
    """The same envelope again, in the same or a later batch, in any form, is a duplicate."""
    a = signer_on(ledger)
    first, second = a.next(), a.next()
    results = ledger.append([first, wire(second), wire(first), second])
    assert statuses(results) == ["accepted", "accepted", "duplicate", "duplicate"]
    for original, again in ((results[0], results[2]), (results[1], results[3])):
        assert (again.index, again.leaf_hash) == (original.index, original.leaf_hash)
        assert (again.envelope_hash, again.signer, again.seq) == (
            original.envelope_hash,
            original.signer,
            original.seq,
        )
    third = a.next()
    reordered = json.dumps(first, indent=2, sort_keys=True).encode()  # same payload, other bytes
    later = ledger.append([third, wire(first), second, reordered, third])
    assert statuses(later) == ["accepted", "duplicate", "duplicate", "duplicate", "duplicate"]
    assert [r.index for r in later] == [2, 0, 1, 0, 2]
    assert [r.leaf_hash for r in later[1:4]] == [
        results[0].leaf_hash,
        results[1].leaf_hash,
        results[0].leaf_hash,
    ]
    assert later[4].leaf_hash == later[0].leaf_hash
    assert ledger.size() == 3
    assert evidence(ledger.engine) == []


def test_reusing_a_sequence_number_is_equivocation_and_kept_as_evidence(ledger: Ledger) -> None:
    """A different envelope with a used (signer, seq) is refused and recorded for regulators."""
    a = signer_on(ledger)
    first = a.next()
    payload = a.payload()
    second = a.sign(payload)
    ledger.append([first, second])
    rival = a.sign({**payload, "body": {"type": "harvest", "batch": "B-forged"}}, advance=False)
    [result] = ledger.append([rival])
    assert result.status == "rejected"
    assert result.reason == "equivocation"
    assert (result.signer, result.seq, result.envelope_hash) == (a.key_id, 2, hash_of(rival))
    assert result.index is None
    assert hash_of(second).hex() in (result.detail or "")
    assert evidence(ledger.engine) == [(a.key_id, 2, "equivocation", rival)]
    same_batch = a.sign({**a.payload(), "body": {"type": "harvest", "batch": "B-twin"}}, False)
    results = ledger.append([a.next(), same_batch])
    assert statuses(results) == ["accepted", "rejected:equivocation"]
    assert [row[1:3] for row in evidence(ledger.engine)] == [
        (2, "equivocation"),
        (3, "equivocation"),
    ]
    assert ledger.size() == 3


def test_a_prev_that_does_not_name_the_previous_envelope_is_refused(ledger: Ledger) -> None:
    """A wrong `prev` is refused as prev_mismatch and recorded; the chain continues after it."""
    a = signer_on(ledger)
    ledger.append([a.next()])
    wrong = a.sign(a.payload(prev="ab" * 32), advance=False)
    [result] = ledger.append([wrong])
    assert (result.status, result.reason, result.seq) == ("rejected", "prev_mismatch", 2)
    assert "ab" * 32 in (result.detail or "")
    assert evidence(ledger.engine) == [(a.key_id, 2, "prev_mismatch", wrong)]
    assert statuses(ledger.append([a.next()])) == ["accepted"]
    assert ledger.size() == 2


def test_the_first_envelope_must_have_the_all_zero_prev(ledger: Ledger) -> None:
    """Seq 1 with a non-zero prev is refused, and seq 1 with 64 zeros is then accepted."""
    a = signer_on(ledger)
    bad = a.sign(a.payload(prev="01" * 32), advance=False)
    [result] = ledger.append([bad])
    assert (result.status, result.reason) == ("rejected", "prev_mismatch")
    assert a.payload()["prev"] == GENESIS_PREV
    assert statuses(ledger.append([a.next()])) == ["accepted"]
    assert ledger.size() == 1


def test_gaps_are_accepted_and_late_arrivals_must_fit_both_links(ledger: Ledger) -> None:
    """Seq 3 before 2 is accepted; a late 2 is accepted only if it is what 3 named."""
    a = signer_on(ledger)
    first, payload2 = a.next(), a.payload()
    second = a.sign(payload2)
    third = a.next()
    impostor = a.sign({**payload2, "body": {"type": "harvest", "batch": "B-late"}}, False)
    assert statuses(ledger.append([first, third])) == ["accepted", "accepted"]
    [refused] = ledger.append([impostor])
    assert (refused.status, refused.reason, refused.seq) == ("rejected", "prev_mismatch", 2)
    assert "envelope 3" in (refused.detail or "")
    assert evidence(ledger.engine) == [(a.key_id, 2, "prev_mismatch", impostor)]
    [late] = ledger.append([second])
    assert (late.status, late.index, late.seq) == ("accepted", 2, 2)
    assert statuses(ledger.append([a.next()])) == ["accepted"]
    assert_log_is_chained(ledger)


def test_a_late_arrival_is_checked_against_a_successor_in_the_same_batch(ledger: Ledger) -> None:
    """Within one batch, a late 2 that 3 (earlier in the batch) did not name is refused."""
    a = signer_on(ledger)
    first, payload2 = a.next(), a.payload()
    second = a.sign(payload2)
    third = a.next()
    impostor = a.sign({**payload2, "body": {"type": "harvest", "batch": "B-late"}}, False)
    results = ledger.append([first, third, impostor, second])
    assert statuses(results) == ["accepted", "accepted", "rejected:prev_mismatch", "accepted"]
    assert [r.index for r in results] == [0, 1, None, 2]
    assert evidence(ledger.engine) == [(a.key_id, 2, "prev_mismatch", impostor)]


def test_a_late_arrival_that_fits_its_predecessor_but_not_its_successor_is_refused(
    ledger: Ledger,
) -> None:
    """A late 2 whose own prev names a stranger is refused even though 3 is in the log."""
    a = signer_on(ledger)
    first, payload2 = a.next(), a.payload()
    second = a.sign(payload2)
    third = a.next()
    ledger.append([first, third])
    wrong_prev = a.sign({**payload2, "prev": "cd" * 32}, False)
    [result] = ledger.append([wrong_prev])
    assert (result.status, result.reason) == ("rejected", "prev_mismatch")
    assert statuses(ledger.append([second])) == ["accepted"]


def test_an_unknown_signer_is_refused(ledger: Ledger) -> None:
    """An envelope from a key that is not registered is refused as unknown_signer."""
    stranger = support.TestSigner()
    envelope = stranger.next()
    [result] = ledger.append([envelope])
    assert (result.status, result.reason) == ("rejected", "unknown_signer")
    assert (result.signer, result.seq, result.envelope_hash) == (
        stranger.key_id,
        1,
        hash_of(envelope),
    )
    assert stranger.key_id in (result.detail or "")
    assert ledger.size() == 0


def test_a_revoked_signer_is_refused(ledger: Ledger) -> None:
    """After revocation, the signer's next envelope is refused as signer_not_active."""
    a = signer_on(ledger)
    assert statuses(ledger.append([a.next()])) == ["accepted"]
    revoke_signer(ledger.engine, a.key_id)
    [result] = ledger.append([a.next()])
    assert (result.status, result.reason) == ("rejected", "signer_not_active")
    assert "revoked" in (result.detail or "")
    assert ledger.size() == 1


def test_an_expired_signer_is_refused(ledger: Ledger) -> None:
    """A signer whose valid_until has passed is refused as signer_not_active."""
    a = support.TestSigner()
    now = datetime.now(UTC)
    register_signer(
        ledger.engine,
        public_key=a.public_key,
        name="expired drying-room sensor",
        organisation="文山三七种植基地",
        role="device",
        valid_from=now - timedelta(days=30),
        valid_until=now - timedelta(days=1),
    )
    [result] = ledger.append([a.next()])
    assert (result.status, result.reason) == ("rejected", "signer_not_active")
    assert "expired" in (result.detail or "")
    assert ledger.size() == 0


def test_a_signer_not_yet_valid_is_refused(ledger: Ledger) -> None:
    """A signer whose valid_from lies in the future is refused as signer_not_active."""
    a = support.TestSigner()
    register_signer(
        ledger.engine,
        public_key=a.public_key,
        name="future handheld",
        organisation="文山三七种植基地",
        role="device",
        valid_from=datetime.now(UTC) + timedelta(days=1),
    )
    [result] = ledger.append([a.next()])
    assert (result.status, result.reason) == ("rejected", "signer_not_active")


def test_tampered_signatures_and_payloads_are_refused(ledger: Ledger) -> None:
    """A flipped signature bit, or a payload changed after signing, is signature_invalid."""
    a, b = signer_on(ledger), signer_on(ledger)
    envelope = a.sign(a.payload(), advance=False)
    sig = bytearray(base64.b64decode(envelope["sig"]))
    sig[10] ^= 0x01
    flipped = {**envelope, "sig": base64.b64encode(bytes(sig)).decode()}
    edited = {**envelope, "payload": {**envelope["payload"], "time": "2026-09-21T08:30:00Z"}}
    borrowed = {**envelope, "sig": b.next()["sig"]}  # a real signature, by someone else
    results = ledger.append([flipped, edited, wire(borrowed), envelope])
    assert statuses(results) == ["rejected:signature_invalid"] * 3 + ["accepted"]
    assert [r.envelope_hash for r in results[:3]] == [
        hash_of(flipped),
        hash_of(edited),
        hash_of(borrowed),
    ]
    assert all("does not verify" in (r.detail or "") for r in results[:3])
    assert evidence(ledger.engine) == []
    assert ledger.size() == 1


def bad_inputs(signer: support.TestSigner, limit: int) -> dict[str, tuple[Any, str]]:
    """Malformed submissions built on `signer`'s next envelope, with a word each detail names."""
    envelope = signer.sign(signer.payload(), advance=False)
    payload, sig = envelope["payload"], envelope["sig"]

    def with_payload(**changes: Any) -> bytes:
        return wire({"payload": {**payload, **changes}, "sig": sig})

    oversize = signer.sign(
        signer.payload({"type": "harvest", "note": "参" * (limit // 3 + 1)}), advance=False
    )
    return {
        "garbage": (bytes(range(256)), "UTF-8"),
        "empty": (b"", "malformed JSON"),
        "not json": (b"harvest 12.5 kg", "malformed JSON"),
        "truncated": (wire(envelope)[:-5], "malformed JSON"),
        "array": (b"[1, 2, 3]", "JSON object"),
        "string": (b'"envelope"', "JSON object"),
        "no sig": (wire({"payload": payload}), "sig"),
        "no payload": (wire({"sig": sig}), "payload"),
        "no seq": (
            wire({"payload": {k: v for k, v in payload.items() if k != "seq"}, "sig": sig}),
            "seq",
        ),
        "no body type": (with_payload(body={"batch": "B-1"}), "body.type"),
        "seq string": (with_payload(seq="1"), "payload.seq"),
        "seq bool": (with_payload(seq=True), "payload.seq"),
        "seq float": (with_payload(seq=1.0), "payload.seq"),
        "seq zero": (with_payload(seq=0), "payload.seq"),
        "seq negative": (with_payload(seq=-1), "payload.seq"),
        "seq 2**53": (with_payload(seq=2**53), "payload.seq"),
        "signer not hex": (with_payload(signer="Z" * 32), "payload.signer"),
        "prev short": (with_payload(prev="0" * 63), "payload.prev"),
        "time local": (with_payload(time="2026-09-20T08:30:00+08:00"), "payload.time"),
        "v 2": (with_payload(v=2), "payload.v"),
        "extra field": (wire({**envelope, "comment": "hi"}), "comment"),
        "extra payload field": (with_payload(lot="L-1"), "payload.lot"),
        "sig not base64": (wire({"payload": payload, "sig": "!" * 86 + "=="}), "sig"),
        "sig short": (wire({"payload": payload, "sig": sig[:40]}), "sig"),
        "sig number": (wire({"payload": payload, "sig": 42}), "sig"),
        "oversize": (wire(oversize), "bytes"),
        "oversize parsed": (oversize, "bytes"),
        "invalid utf-8": (wire(envelope).replace(b"harvest", b"harv\xc3\x28t"), "UTF-8"),
        "duplicate keys": (wire(envelope)[:-1] + b', "sig": "' + sig.encode() + b'"}', "duplicate"),
        "NaN": (wire(envelope).replace(b'"v": 1', b'"v": NaN'), "NaN"),
        "lone surrogate": (wire(envelope).replace(b"B-1", b"\\ud800"), "surrogate"),
    }


@pytest.mark.parametrize("copies", [1, 3], ids=["in-process", "workers"])
def test_bad_input_is_rejected_one_by_one_and_loses_nothing_valid(
    ledger: Ledger, copies: int
) -> None:
    """Each malformed submission is rejected with its own detail; every valid one is kept."""
    a, b = signer_on(ledger), signer_on(ledger)
    bad = list(bad_inputs(a, ledger.settings.max_envelope_bytes).items()) * copies
    valid = [s.next() for _ in range(3) for s in (a, b)]
    batch: list[tuple[str | None, Any]] = []
    for k, (name, (raw, _)) in enumerate(bad):
        batch.append((name, raw))
        if k % 5 == 0 and valid:
            batch.append((None, wire(valid.pop(0)) if k % 2 else valid.pop(0)))
    batch.extend((None, envelope) for envelope in valid)
    assert (len(batch) >= IN_PROCESS_BELOW) == (copies > 1)
    results = ledger.append([raw for _, raw in batch])
    assert (ledger._appender._precheck._pool is not None) == (copies > 1)
    assert len(results) == len(batch)
    accepted = [r for r in results if r.status == "accepted"]
    assert [r.index for r in accepted] == list(range(6))
    assert [(r.signer, r.seq) for r in accepted] == [
        (s.key_id, seq) for seq in (1, 2, 3) for s in (a, b)
    ]
    words = dict(bad)
    for (name, _), result in zip(batch, results, strict=True):
        if name is None:
            assert result.status == "accepted"
            continue
        assert (result.status, result.reason, result.index) == ("rejected", "invalid_input", None)
        assert words[name][1] in (result.detail or ""), (name, result.detail)
    assert ledger.size() == 6
    assert evidence(ledger.engine) == []
    assert_log_is_chained(ledger)


def test_an_envelope_at_the_size_limit_is_accepted(ledger: Ledger) -> None:
    """The size limit refuses only what is over it: a large envelope under it is appended."""
    a = signer_on(ledger)
    envelope = a.next(
        {"type": "inspection", "note": "x" * (ledger.settings.max_envelope_bytes // 2)}
    )
    assert statuses(ledger.append([wire(envelope)])) == ["accepted"]


def test_checkpoints_sign_the_root_of_every_leaf(ledger: Ledger) -> None:
    """The latest checkpoint signs the RFC 9162 root of all leaf hashes, under the log's key."""
    a, b = signer_on(ledger), signer_on(ledger)
    for size in (1, 2, 5, 13, 21):
        ledger.append([s.next() for _ in range(size) for s in (a, b)][:size])
    issued = ledger.checkpointer.issue(ledger.engine)
    hashes = assert_log_is_chained(ledger)
    assert len(hashes) == ledger.size() == 42
    latest = ledger.latest_checkpoint()
    assert issued == latest
    assert latest.tree_size == 42
    assert latest.root == tree_root(hashes)
    opened = open_checkpoint(latest.note, ledger.verifier)
    assert (opened.origin, opened.size, opened.root) == (
        ledger.settings.log_origin,
        42,
        latest.root,
    )
    with ledger.engine.connect() as conn:
        for stored in all_checkpoints(conn):  # any issued while appending commit to a prefix
            assert stored.root == tree_root(hashes[: stored.tree_size])
            assert open_checkpoint(stored.note, ledger.verifier).size == stored.tree_size
    assert ledger.checkpointer.issue(ledger.engine) == latest  # nothing new: nothing re-signed


def scenario(ledger: Ledger, rounds: int) -> tuple[dict[str, Any], list[Any]]:
    """One signer's mixed traffic: in order, gaps, late arrivals, duplicates and refusals.

    Returns also a forged envelope of the signer, to make the appender load its key.
    """
    s = signer_on(ledger)
    forged = {**s.sign(s.payload(), advance=False), "sig": base64.b64encode(bytes(64)).decode()}
    out: list[Any] = []
    for _ in range(rounds):
        first, payload = s.next(), s.payload()
        second = s.sign(payload)
        third = s.next()
        rival = s.sign({**payload, "body": {"type": "harvest", "batch": "rival"}}, False)
        broken = s.sign(s.payload(prev="ee" * 32), advance=False)
        envelope = s.sign(s.payload(), advance=False)
        flipped = {**envelope, "sig": base64.b64encode(bytes(64)).decode()}
        out += [wire(first), third, second, rival, wire(second), broken, flipped, b"{]"]
    return forged, out


def test_a_large_batch_behaves_like_small_ones(ledger: Ledger) -> None:
    """A batch big enough for the worker processes gives the same results as small batches."""
    (forged_small, small), (forged_large, large) = scenario(ledger, 25), scenario(ledger, 25)
    warm_up = ledger.append([forged_small, forged_large])  # the appender learns both keys
    assert statuses(warm_up) == ["rejected:signature_invalid"] * 2
    assert len(large) > IN_PROCESS_BELOW * 2
    small_results = [r for k in range(0, len(small), 7) for r in ledger.append(small[k : k + 7])]
    large_results = ledger.append(large)
    assert ledger._appender._precheck._pool is not None  # the workers did run
    assert statuses(large_results) == statuses(small_results)
    assert [r.seq for r in large_results] == [r.seq for r in small_results]
    expected = ["accepted"] * 3 + ["rejected:equivocation", "duplicate"]
    expected += ["rejected:prev_mismatch", "rejected:signature_invalid", "rejected:invalid_input"]
    assert statuses(large_results) == expected * 25
    accepted = [r.index for r in large_results if r.status == "accepted"]
    assert accepted == list(range(75, 150))
    for k, result in enumerate(large_results):
        if result.status == "duplicate":
            assert result.index == large_results[k - 2].index
            assert result.leaf_hash == large_results[k - 2].leaf_hash
    assert ledger.size() == 150
    assert len(evidence(ledger.engine)) == 100
    assert_log_is_chained(ledger)
