"""The full audit: re-check every signature, link, leaf hash, tree node and checkpoint."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, Protocol, runtime_checkable

from traceability.errors import NoteError, TraceabilityError, WeakPublicKey
from traceability.keys import check_public_key, key_id_for, load_public_key
from traceability.log import merkle
from traceability.log.audit_nodes import NodeCheck
from traceability.log.audit_pages import EntryPages, check_page, check_rows, start_worker
from traceability.log.checkpoint import open_checkpoint
from traceability.log.entry import GENESIS_LEAF_HASH, format_time
from traceability.log.entry_check import CheckedRow, SignerCheck, StoredRow, check_chunk
from traceability.log.note import NoteVerifier
from traceability.log.signer_chains import SignerChains
from traceability.log.signers import SignerInfo
from traceability.workers import process_pool

MAX_FINDINGS = 1000
IN_PROCESS_BELOW = 4000
"""Smaller logs are audited in the calling process: starting workers costs more."""


class StoredCheckpointNote(NamedTuple):
    """A stored checkpoint: its tree size and root columns (if any) and the signed note."""

    tree_size: int
    root: bytes | None
    note: str


class AuditSource(Protocol):
    """Where the audited log comes from: the database or an exported bundle."""

    def size(self) -> int: ...
    def entries(self) -> Iterator[list[StoredRow]]: ...
    def checkpoints(self) -> list[StoredCheckpointNote]: ...
    def signers(self) -> dict[str, SignerInfo]: ...
    def nodes(self) -> Iterator[tuple[int, bytes]] | None: ...


@runtime_checkable
class PagedSource(AuditSource, Protocol):
    """A database: the audit's workers read its entries, and its nodes come page by page."""

    def entry_pages(self) -> EntryPages | None: ...
    def node_page(self, after: int, last: int) -> list[tuple[int, bytes]]: ...


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing found wrong, at the first log index it affects."""

    index: int
    what: str


@dataclass(frozen=True, slots=True)
class KeyFinding:
    """A registered signer whose key nobody should trust, whether or not it signed anything.

    `weak_key`: a small-order or non-canonical Ed25519 key (`keys.check_public_key`), which
    a forger can sign for without any private key. `published_key`: a key whose private half is
    public knowledge (the demo's keys, derived from their published labels).
    """

    kind: Literal["weak_key", "published_key"]
    key_id: str
    name: str
    public_key: bytes
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
    key_findings: list[KeyFinding] = field(default_factory=list)
    """Registered keys that fail the audit."""
    key_warnings: list[KeyFinding] = field(default_factory=list)
    """Published keys in a log audited with `published_keys_fail` off (development)."""

    @property
    def ok(self) -> bool:
        """True when nothing was found wrong."""
        return not self.findings and not self.key_findings

    def first(self) -> Finding | None:
        """The finding at the lowest index."""
        return min(self.findings, key=lambda f: f.index, default=None)


def signer_checks(signers: dict[str, SignerInfo]) -> dict[str, SignerCheck]:
    """Map each key ID to its usable raw public key and validity window, or its problem."""
    checks: dict[str, SignerCheck] = {}
    for key_id, info in signers.items():
        ends = [t for t in (info.valid_until, info.revoked_at) if t is not None]
        window = (format_time(info.valid_from), format_time(min(ends)) if ends else None)
        try:
            if key_id_for(info.public_key) != key_id:
                problem = f"signer {key_id}'s registered public key does not match its ID"
                checks[key_id] = SignerCheck(None, problem, *window)
            else:
                load_public_key(info.public_key)
                checks[key_id] = SignerCheck(info.public_key, None, *window)
        except TraceabilityError as exc:
            problem = f"signer {key_id}'s registered public key is unusable: {exc}"
            checks[key_id] = SignerCheck(None, problem, *window)
    return checks


def key_findings(
    signers: Mapping[str, SignerInfo],
    published: Mapping[bytes, str],
    report: AuditReport,
    *,
    published_fail: bool,
) -> None:
    """Add to `report` each registered signer with a weak key or a key in `published`."""
    for key_id, info in sorted(signers.items()):
        hex_key = info.public_key.hex()
        try:
            check_public_key(info.public_key)
        except WeakPublicKey as exc:
            what = f"signer {key_id} ({info.name}) has public key {hex_key}: {exc}"
            report.key_findings.append(
                KeyFinding("weak_key", key_id, info.name, info.public_key, what)
            )
        except TraceabilityError:
            pass  # a key of the wrong length: every entry it signed is reported already
        label = published.get(info.public_key)
        if label is not None:
            what = (
                f"signer {key_id} ({info.name}) has public key {hex_key}, the published "
                f"{label}: anyone can sign as it"
            )
            finding = KeyFinding("published_key", key_id, info.name, info.public_key, what)
            (report.key_findings if published_fail else report.key_warnings).append(finding)


class Auditor:
    """Runs the audit: entries are checked in `workers` processes, in order, chunk by chunk.

    `published_keys` maps public keys whose private halves anyone can know (the demo's) to
    a label; a signer registered with one is a key finding when `published_keys_fail`, else a
    warning. Weak keys are always findings.
    """

    def __init__(
        self,
        verifier: NoteVerifier,
        workers: int = 2,
        *,
        published_keys: Mapping[bytes, str] | None = None,
        published_keys_fail: bool = True,
    ) -> None:
        self._verifier = verifier
        self._workers = workers
        self._published = dict(published_keys or {})
        self._published_fail = published_keys_fail

    def run(
        self, source: AuditSource, progress: Callable[[int], None] | None = None
    ) -> AuditReport:
        """Audit everything `source` holds; `progress` is told how many entries were checked."""
        started = time.perf_counter()
        report = AuditReport()
        signers = source.signers()
        key_findings(signers, self._published, report, published_fail=self._published_fail)
        keys = signer_checks(signers)
        checkpoints = source.checkpoints()
        state = _Pass(report, signers, {c.tree_size for c in checkpoints})
        nodes: NodeCheck | None = None
        if self._workers < 2 or source.size() < IN_PROCESS_BELOW:
            for chunk in source.entries():
                state.consume(check_chunk(chunk, keys), progress)
        else:
            nodes = self._in_workers(source, keys, state, progress)
        state.end_of_entries()
        self._nodes(source, state, nodes)  # before the checkpoints: it looks at the entry findings
        self._checkpoints(checkpoints, state)
        report.gaps = state.chains.gaps()
        report.seconds = time.perf_counter() - started
        report.findings.sort(key=lambda f: f.index)
        return report

    def _in_workers(
        self,
        source: AuditSource,
        keys: dict[str, SignerCheck],
        state: _Pass,
        progress: Callable[[int], None] | None,
    ) -> NodeCheck | None:
        """Check the entries in worker processes and fold the results in order.

        Workers read a database's pages themselves, and the stored tree nodes are compared
        as the tree is rebuilt (returned, to finish); a bundle's chunks are read here and sent.
        A few pages per worker are in flight, so the workers never wait for the fold.
        """
        pages = source.entry_pages() if isinstance(source, PagedSource) else None
        nodes = NodeCheck(source.node_page) if isinstance(source, PagedSource) else None
        with process_pool(self._workers, start_worker, (keys,)) as pool:
            tasks: Iterator[Future[list[CheckedRow]]]
            if pages is None:
                tasks = (pool.submit(check_rows, chunk) for chunk in source.entries())
            else:
                tasks = (pool.submit(check_page, pages.url, *page) for page in pages.ranges)
            window: deque[Future[list[CheckedRow]]] = deque()
            for future in tasks:
                window.append(future)
                if len(window) > 2 * self._workers:
                    state.consume(window.popleft().result(), progress)
                    if nodes is not None:
                        nodes.advance(state.levels)
            while window:
                state.consume(window.popleft().result(), progress)
        return nodes if pages is not None else None

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
            if cp.size != stored.tree_size:  # wrong about both sizes: the smaller comes first
                state.find(
                    max(min(cp.size, stored.tree_size) - 1, 0),
                    f"checkpoint {stored.tree_size}: note says size {cp.size}",
                )
            elif stored.root is not None and stored.root != cp.root:
                state.find(at, f"checkpoint {stored.tree_size}: stored root differs from the note")
            elif computed is None:
                state.find(
                    at, f"checkpoint {cp.size} is beyond the log's {state.tree.size} entries"
                )
            elif computed != cp.root:
                state.find(at, f"checkpoint {cp.size}: signed root is not the log's root")

    def _nodes(self, source: AuditSource, state: _Pass, check: NodeCheck | None) -> None:
        """Compare the stored nodes (those `check` has not compared yet) and report them."""
        if check is None:
            stored = source.nodes()
            if stored is None:
                return
            check = NodeCheck()
            check.compare(stored, state.levels)
        else:
            check.finish(state.levels)
        flagged = sorted({f.index for f in state.report.findings})  # entry findings so far
        check.report(state.levels, state.tree.size, flagged, state.find)
        state.report.nodes += check.nodes


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
        self.broken_link: tuple[int, bytes, bool] | None = None
        """(index, prev, has its own problems) of an entry whose prev is not its predecessor's
        leaf hash, reported once the next link shows which of the two entries changed."""

    def find(self, index: int, what: str) -> None:
        if len(self.report.findings) < MAX_FINDINGS:
            self.report.findings.append(Finding(index, what))

    def consume(self, checked: list[CheckedRow], progress: Callable[[int], None] | None) -> None:
        """Fold checked entries, in index order, into the chain, tree and signer checks."""
        for idx, leaf_hash, prev, signer, seq, envelope_hash, envelope_prev, problems in checked:
            if idx != self.expected:
                self.find(min(idx, self.expected), f"entry {self.expected} missing or out of order")
                self.expected = idx
            for problem in problems:
                self.find(idx, problem)
            broken = prev != self.prev and bool(signer)
            if self.broken_link is not None:
                self._report_link(next_broken=broken)
            if broken:
                self.broken_link = (idx, prev, bool(problems))
            self.prev = leaf_hash
            for level, index, digest in self.tree.append(leaf_hash):
                data = self.levels[level]
                if len(data) == index * 32:
                    data += digest
            if self.tree.size in self.want_roots:
                self.roots[self.tree.size] = self.tree.root()
            if signer:
                for fault in self.chains.add(idx, signer, seq, envelope_hash, envelope_prev):
                    self.find(fault.index, fault.what)
            self.expected += 1
        self.report.entries += len(checked)
        if progress is not None:
            progress(len(checked))

    def _report_link(self, next_broken: bool) -> None:
        """Report a broken link at the entry that changed.

        Entry i's prev does not name entry i-1's leaf hash. If entry i fails its own checks, or
        its leaf hash breaks the next link too, entry i changed (its prev line, say); if
        nothing else is wrong with it, entry i-1's leaf changed after entry i named it (its
        received line, say, which only the next entry's prev and the tree commit to).
        """
        assert self.broken_link is not None  # noqa: S101 - callers check
        idx, prev, own_problems = self.broken_link
        self.broken_link = None
        at = idx if own_problems or next_broken or idx == 0 else idx - 1
        self.find(at, f"entry {idx}'s prev {prev.hex()} is not entry {idx - 1}'s leaf hash")

    def end_of_entries(self) -> None:
        """Report what the last entry leaves pending."""
        if self.broken_link is not None:
            self._report_link(next_broken=False)
