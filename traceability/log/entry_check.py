"""Checking log entries one by one, on their own: the part of the audit that runs in workers."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from typing import NamedTuple

from traceability.envelope import SIGNING_PREFIX
from traceability.errors import InvalidInput
from traceability.keys import check_public_key
from traceability.log import merkle
from traceability.log.entry import LEAF_LAYOUT, parse_leaf
from traceability.signatures import verify_signature


class StoredEntry(NamedTuple):
    """An entry as a source holds it; the optional columns are checked against the leaf."""

    idx: int
    leaf: bytes
    leaf_hash: bytes | None = None
    signer: str | None = None
    seq: int | None = None
    envelope_hash: bytes | None = None


class Checked(NamedTuple):
    """What the sequential part of the audit needs to know of one checked entry."""

    idx: int
    leaf_hash: bytes
    prev: bytes
    signer: str
    seq: int
    envelope_hash: bytes
    envelope_prev: bytes
    problems: tuple[str, ...]


_PAYLOAD_TAIL = re.compile(
    rb',"prev":"([0-9a-f]{64})","seq":([1-9][0-9]{0,15}),"signer":"([0-9a-f]{32})",'
    rb'"time":"[^"\\]{1,40}","v":1}'
)


def _chain_fields(payload: bytes) -> tuple[str, int, str]:
    """Return (signer, seq, prev) of a payload.

    RFC 8785 sorts members, so a canonical payload ends with its top-level prev, seq, signer,
    time and v; the last `,"prev":"` is the top-level one (an unescaped quote cannot occur
    inside a string, and no member after it can hold one). Anything else is parsed fully.
    """
    match = _PAYLOAD_TAIL.fullmatch(payload, max(payload.rfind(b',"prev":"'), 0))
    if match is not None:
        return match[3].decode(), int(match[2]), match[1].decode()
    data = json.loads(payload)
    return str(data["signer"]), int(data["seq"]), str(data["prev"])


class SignerCheck(NamedTuple):
    """What a worker needs to check one signer's entries; times as in the leaf's line 4."""

    public_key: bytes | None
    problem: str | None
    not_before: str
    not_after: str | None


_checked_keys: set[bytes] = set()


def _public_key(raw: bytes) -> bytes:
    """Return `raw` once `check_public_key` has passed it (once per process)."""
    if raw not in _checked_keys:
        check_public_key(raw)
        _checked_keys.add(raw)
    return raw


StoredRow = tuple[int, bytes, bytes | None, str | None, int | None, bytes | None]
"""The fields of a StoredEntry as a plain tuple."""
CheckedRow = tuple[int, bytes, bytes, str, int, bytes, bytes, tuple[str, ...]]
"""The fields of a Checked as a plain tuple."""


def check_chunk(chunk: list[StoredRow], keys: dict[str, SignerCheck]) -> list[CheckedRow]:
    """Check a run of entries on their own (runs in a worker process).

    Plain tuples in and out (StoredEntry and Checked fields): they cross the process
    boundary several times faster than named tuples. An entry that passes every check the
    fast way is done; any other goes through check_entry, which names its problems.
    """
    out: list[CheckedRow] = []
    for stored in chunk:
        try:
            checked = _sound(stored, keys)
        except (ValueError, TypeError, binascii.Error):
            checked = None
        out.append(checked or _row(check_entry(StoredEntry(*stored), keys)))
    return out


def _sound(stored: StoredRow, keys: dict[str, SignerCheck]) -> CheckedRow | None:
    """Return the checked row of an entry that passes every check of check_entry, else None.

    The same checks on the same bytes, without building the Entry, StoredEntry and Checked
    objects: most of the audit's per-entry cost beside the signature itself.
    """
    idx, leaf, stored_leaf_hash, stored_signer, stored_seq, stored_envelope_hash = stored
    leaf_hash = hashlib.sha256(merkle.LEAF_PREFIX + leaf).digest()
    layout = LEAF_LAYOUT.fullmatch(leaf)
    if layout is None or int(layout[1]) != idx:
        return None
    payload = layout[5]
    tail = _PAYLOAD_TAIL.fullmatch(payload, max(payload.rfind(b',"prev":"'), 0))
    if tail is None:
        return None
    signer, seq = tail[3].decode(), int(tail[2])
    envelope_hash = hashlib.sha256(payload).digest()
    if stored_leaf_hash is not None and stored_leaf_hash != leaf_hash:
        return None
    if stored_signer is not None and (
        stored_signer != signer or stored_seq != seq or stored_envelope_hash != envelope_hash
    ):
        return None
    check = keys.get(signer)
    if check is None or check.public_key is None:
        return None
    received = layout[3].decode()
    if received < check.not_before or (check.not_after is not None and received >= check.not_after):
        return None
    signature = base64.b64decode(layout[4])
    if not verify_signature(_public_key(check.public_key), signature, SIGNING_PREFIX + payload):
        return None
    prev, envelope_prev = binascii.unhexlify(layout[2]), binascii.unhexlify(tail[1])
    return (idx, leaf_hash, prev, signer, seq, envelope_hash, envelope_prev, ())


def _row(checked: Checked) -> CheckedRow:
    return (
        checked.idx,
        checked.leaf_hash,
        checked.prev,
        checked.signer,
        checked.seq,
        checked.envelope_hash,
        checked.envelope_prev,
        checked.problems,
    )


def check_entry(stored: StoredEntry, keys: dict[str, SignerCheck]) -> Checked:
    """Check one entry: leaf hash, layout, stored columns, signature, signer validity."""
    problems: list[str] = []
    leaf_hash = merkle.hash_leaf(stored.leaf)
    if stored.leaf_hash is not None and stored.leaf_hash != leaf_hash:
        problems.append(f"stored leaf hash {stored.leaf_hash.hex()} is not {leaf_hash.hex()}")
    try:
        entry = parse_leaf(stored.leaf)
        signer, seq, prev = _chain_fields(entry.payload_bytes)
        envelope_prev = bytes.fromhex(prev)
    except (InvalidInput, ValueError, KeyError, TypeError) as exc:
        return Checked(stored.idx, leaf_hash, b"", "", 0, b"", b"", (f"bad leaf: {exc}",))
    if entry.index != stored.idx:
        problems.append(f"leaf says index {entry.index} but is stored at {stored.idx}")
    envelope_hash = hashlib.sha256(entry.payload_bytes).digest()
    if stored.signer is not None and (
        stored.signer != signer or stored.seq != seq or stored.envelope_hash != envelope_hash
    ):
        for column, want, got in (
            ("signer", signer, stored.signer),
            ("seq", seq, stored.seq),
            ("envelope_hash", envelope_hash, stored.envelope_hash),
        ):
            if got != want:
                problems.append(f"stored {column} column does not match the leaf")
    check = keys.get(signer)
    if check is None:
        problems.append(f"signer {signer} is not in the registry")
    elif check.public_key is None:
        problems.append(str(check.problem))
    else:
        message = SIGNING_PREFIX + entry.payload_bytes
        if not verify_signature(_public_key(check.public_key), entry.signature, message):
            problems.append(f"signature by {signer} does not verify")
        if entry.received < check.not_before or (
            check.not_after is not None and entry.received >= check.not_after
        ):
            problems.append(f"appended at {entry.received}, outside signer {signer}'s validity")
    return Checked(
        stored.idx,
        leaf_hash,
        entry.prev,
        signer,
        seq,
        envelope_hash,
        envelope_prev,
        tuple(problems),
    )
