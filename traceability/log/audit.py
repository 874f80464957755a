"""The full audit: re-check every signature, link, leaf hash, tree node and checkpoint."""

from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from traceability.envelope import SIGNING_PREFIX
from traceability.errors import ChainBroken, InvalidInput, NoteError, TraceabilityError
from traceability.keys import key_id_for, load_public_key
from traceability.log import merkle
from traceability.log.checkpoint import open_checkpoint
from traceability.log.entry import GENESIS_LEAF_HASH, parse_leaf
from traceability.log.note import NoteVerifier
from traceability.log.signer_chains import SignerChains
from traceability.signers import SignerInfo

MAX_FINDINGS = 1000


class StoredEntry(NamedTuple):
    """An entry as a source holds it; the optional columns are checked against the leaf."""

    idx: int
    leaf: bytes
    leaf_hash: bytes | None = None
    signer: str | None = None
    seq: int | None = None
    envelope_hash: bytes | None = None


class StoredCheckpointNote(NamedTuple):
    """A stored checkpoint: its tree size and root columns (if any) and the signed note."""

    tree_size: int
    root: bytes | None
    note: str


class AuditSource(Protocol):
    """Where the audited log comes from: the database or an exported bundle."""

    def size(self) -> int: ...
    def entries(self) -> Iterator[list[StoredEntry]]: ...
    def checkpoints(self) -> list[StoredCheckpointNote]: ...
    def signers(self) -> dict[str, SignerInfo]: ...
    def nodes(self) -> Iterator[tuple[int, bytes]] | None: ...


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing found wrong, at the first log index it affects."""

    index: int
    what: str


@dataclass
class AuditReport:
    """What the audit checked and found."""

    entries: int = 0
    checkpoints: int = 0
    nodes: int = 0
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    gaps: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing was found wrong."""
        return not self.findings

    def first(self) -> Finding | None:
        """The finding at the lowest index."""
        return min(self.findings, key=lambda f: f.index, default=None)

    def raise_for_findings(self) -> None:
        """Raise ChainBroken with the first finding's evidence, if there is any."""
        first = self.first()
        if first is not None:
            raise ChainBroken(first.index, first.what)


class _Checked(NamedTuple):
    idx: int
    leaf_hash: bytes
    prev: bytes
    received: str
    signer: str
    seq: int
    envelope_hash: bytes
    envelope_prev: bytes
    problems: list[str]


def _check_entry(stored: StoredEntry, keys: dict[str, Ed25519PublicKey | str]) -> _Checked:
    problems: list[str] = []
    leaf_hash = merkle.hash_leaf(stored.leaf)
    if stored.leaf_hash is not None and stored.leaf_hash != leaf_hash:
        problems.append(f"stored leaf hash {stored.leaf_hash.hex()} is not {leaf_hash.hex()}")
    try:
        entry = parse_leaf(stored.leaf)
        payload = json.loads(entry.payload_bytes)
        signer, seq, prev = str(payload["signer"]), int(payload["seq"]), str(payload["prev"])
        envelope_prev = bytes.fromhex(prev)
    except (InvalidInput, ValueError, KeyError, TypeError) as exc:
        return _Checked(stored.idx, leaf_hash, b"", "", "", 0, b"", b"", [f"bad leaf: {exc}"])
    if entry.index != stored.idx:
        problems.append(f"leaf says index {entry.index} but is stored at {stored.idx}")
    envelope_hash = hashlib.sha256(entry.payload_bytes).digest()
    for column, want, got in (
        ("signer", signer, stored.signer),
        ("seq", seq, stored.seq),
        ("envelope_hash", envelope_hash, stored.envelope_hash),
    ):
        if got is not None and got != want:
            problems.append(f"stored {column} column does not match the leaf")
    key = keys.get(signer)
    if key is None:
        problems.append(f"signer {signer} is not in the registry")
    elif isinstance(key, str):
        problems.append(key)
    else:
        try:
            key.verify(entry.signature, SIGNING_PREFIX + entry.payload_bytes)
        except InvalidSignature:
            problems.append(f"signature by {signer} does not verify")
    return _Checked(
        stored.idx,
        leaf_hash,
        entry.prev,
        entry.received,
        signer,
        seq,
        envelope_hash,
        envelope_prev,
        problems,
    )


def _keys(signers: dict[str, SignerInfo]) -> dict[str, Ed25519PublicKey | str]:
    keys: dict[str, Ed25519PublicKey | str] = {}
    for key_id, info in signers.items():
        try:
            if key_id_for(info.public_key) != key_id:
                keys[key_id] = f"signer {key_id}'s registered public key does not match its ID"
            else:
                keys[key_id] = load_public_key(info.public_key)
        except TraceabilityError as exc:
            keys[key_id] = f"signer {key_id}'s registered public key is unusable: {exc}"
    return keys


class Auditor:
    """Runs the audit on `threads` threads (signature checks release the GIL)."""

    def __init__(self, verifier: NoteVerifier, threads: int = 2) -> None:
        self._verifier = verifier
        self._threads = threads

    def run(
        self, source: AuditSource, progress: Callable[[int], None] | None = None
    ) -> AuditReport:
        """Audit everything `source` holds; `progress` is told how many entries were checked."""
        started = time.perf_counter()
        report = AuditReport()
        signers = source.signers()
        keys = _keys(signers)
        checkpoints = source.checkpoints()
        state = _Pass(report, signers, {c.tree_size for c in checkpoints})
        with ThreadPoolExecutor(self._threads, thread_name_prefix="audit") as pool:
            window: list[Future[list[_Checked]]] = []
            for chunk in source.entries():
                window.append(pool.submit(lambda c: [_check_entry(e, keys) for e in c], chunk))
                if len(window) > 2 * self._threads:
                    state.consume(window.pop(0).result(), progress)
            for future in window:
                state.consume(future.result(), progress)
        self._checkpoints(checkpoints, state)
        self._nodes(source, state)
        report.gaps = state.chains.gaps()
        report.seconds = time.perf_counter() - started
        report.findings.sort(key=lambda f: f.index)
        return report

    def _checkpoints(self, checkpoints: list[StoredCheckpointNote], state: _Pass) -> None:
        for stored in checkpoints:
            state.report.checkpoints += 1
            at = max(stored.tree_size - 1, 0)
            try:
                cp = open_checkpoint(stored.note, self._verifier)
            except NoteError as exc:
                state.find(at, f"checkpoint {stored.tree_size}: {exc}")
                continue
            computed = state.roots.get(cp.size)
            if cp.size != stored.tree_size:
                state.find(at, f"checkpoint {stored.tree_size}: note says size {cp.size}")
            elif stored.root is not None and stored.root != cp.root:
                state.find(at, f"checkpoint {stored.tree_size}: stored root differs from the note")
            elif computed is None:
                state.find(
                    at, f"checkpoint {cp.size} is beyond the log's {state.tree.size} entries"
                )
            elif computed != cp.root:
                state.find(at, f"checkpoint {cp.size}: signed root is not the log's root")

    def _nodes(self, source: AuditSource, state: _Pass) -> None:
        stored = source.nodes()
        if stored is None:
            return
        expected = {level: len(data) // 32 for level, data in state.levels.items()}
        counts: dict[int, int] = defaultdict(int)
        for node_id, digest in stored:
            level, index = node_id >> 56, node_id & ((1 << 56) - 1)
            state.report.nodes += 1
            data = state.levels.get(level)
            if index != counts[level]:
                state.find(counts[level] << level, f"tree node ({level}, {counts[level]}) missing")
                counts[level] = index
            counts[level] += 1
            if data is None or len(data) < (index + 1) * 32:
                state.find(index << level, f"tree node ({level}, {index}) should not exist")
            elif data[index * 32 : (index + 1) * 32] != digest:
                state.find(index << level, f"tree node ({level}, {index}) differs from the leaves")
        for level, count in expected.items():
            if counts[level] < count:
                state.find(counts[level] << level, f"tree node ({level}, {counts[level]}) missing")


class _Pass:
    """The sequential part of the audit: chain links, tree, signer chains, signer validity."""

    def __init__(
        self, report: AuditReport, signers: dict[str, SignerInfo], want_roots: set[int]
    ) -> None:
        self.report = report
        self.want_roots = want_roots
        self.signers = signers
        self.tree = merkle.CompactRange()
        self.levels: dict[int, bytearray] = defaultdict(bytearray)
        self.roots: dict[int, bytes] = {}
        self.chains = SignerChains()
        self.prev: bytes = GENESIS_LEAF_HASH
        self.expected = 0

    def find(self, index: int, what: str) -> None:
        if len(self.report.findings) < MAX_FINDINGS:
            self.report.findings.append(Finding(index, what))

    def consume(self, checked: list[_Checked], progress: Callable[[int], None] | None) -> None:
        for c in checked:
            if c.idx != self.expected:
                self.find(
                    min(c.idx, self.expected), f"entry {self.expected} missing or out of order"
                )
                self.expected = c.idx
            for problem in c.problems:
                self.find(c.idx, problem)
            if c.prev != self.prev and c.signer:
                self.find(c.idx, f"prev {c.prev.hex()} is not entry {c.idx - 1}'s leaf hash")
            self.prev = c.leaf_hash
            for level, index, digest in self.tree.append(c.leaf_hash):
                data = self.levels[level]
                if len(data) == index * 32:
                    data += digest
            if self.tree.size in self.want_roots:
                self.roots[self.tree.size] = self.tree.root()
            if c.signer:
                for fault in self.chains.add(
                    c.idx, c.signer, c.seq, c.envelope_hash, c.envelope_prev
                ):
                    self.find(fault.index, fault.what)
                self._check_active(c)
            self.expected += 1
            self.report.entries += 1
        if progress is not None:
            progress(len(checked))

    def _check_active(self, c: _Checked) -> None:
        info = self.signers.get(c.signer)
        if info is None:
            return
        try:
            info.check_active(datetime.fromisoformat(c.received.replace("Z", "+00:00")))
        except TraceabilityError as exc:
            self.find(c.idx, f"appended while not allowed: {exc}")
