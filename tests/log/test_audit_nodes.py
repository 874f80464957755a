"""Tree nodes compared during the entry pass: the same findings as compared after it."""

from __future__ import annotations

import bisect
import hashlib
import random
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import pytest
import test_tamper as tamper
from hypothesis import given, settings
from hypothesis import strategies as st
from test_audit_pages import PAGE, both_ways, summary

from traceability.ledger import Ledger
from traceability.log import audit, audit_sources, merkle
from traceability.log.audit_nodes import NodeCheck
from traceability.log.audit_sources import DatabaseSource

MASK = (1 << 56) - 1
Findings = list[tuple[int, str]]


def reference(
    stored: Iterable[tuple[int, bytes]], levels: dict[int, bytearray], size: int, flagged: list[int]
) -> tuple[Findings, int]:
    """The audit's node comparison as it was written before it could run during the pass: the
    oracle for NodeCheck. Returns the findings in order and the nodes compared."""
    findings: Findings = []
    nodes = 0
    expected = {level: len(data) // 32 for level, data in levels.items()}
    counts: dict[int, int] = defaultdict(int)
    for node_id, digest in stored:
        level, index = node_id >> 56, node_id & MASK
        nodes += 1
        data = levels.get(level) if level > 0 else None
        if index != counts[level]:
            if counts[level] < expected.get(level, 0):
                findings.append(
                    (counts[level] << level, f"tree node ({level}, {counts[level]}) missing")
                )
            counts[level] = index
        counts[level] += 1
        if data is None or len(data) < (index + 1) * 32:
            start = index << level if level > 0 else 0
            findings.append((max(start, size), f"tree node ({level}, {index}) should not exist"))
        elif data[index * 32 : (index + 1) * 32] != digest:
            start, end = index << level, (index + 1) << level
            i = bisect.bisect_left(flagged, start)
            at = flagged[i] if i < len(flagged) and flagged[i] < end else start
            findings.append((at, f"tree node ({level}, {index}) differs from the leaves"))
    for level, count in expected.items():
        if counts[level] < count:
            findings.append(
                (counts[level] << level, f"tree node ({level}, {counts[level]}) missing")
            )
    return findings, nodes


def rebuilt(size: int) -> dict[int, bytearray]:
    """The levels the entry pass rebuilds from `size` leaves (level >= 1, 32 bytes a node)."""
    tree = merkle.CompactRange()
    levels: dict[int, bytearray] = defaultdict(bytearray)
    for i in range(size):
        for level, index, digest in tree.append(hashlib.sha256(i.to_bytes(8, "big")).digest()):
            if len(levels[level]) == index * 32:
                levels[level] += digest
    return levels


def prefix(levels: dict[int, bytearray], leaves: int) -> dict[int, bytearray]:
    """The rebuilt levels when the entry pass has folded only the first `leaves` leaves."""
    return {
        level: bytearray(data[: (leaves >> level) * 32])
        for level, data in levels.items()
        if leaves >> level
    }


@st.composite
def tampered_nodes(draw: st.DrawFn) -> tuple[int, list[tuple[int, bytes]]]:
    """A tree size and its stored nodes, with some dropped, changed, moved or added."""
    size = draw(st.integers(0, 300))
    stored = {
        level << 56 | index: bytes(data[index * 32 : index * 32 + 32])
        for level, data in rebuilt(size).items()
        for index in range(len(data) // 32)
    }
    ids = sorted(stored)
    places = st.one_of(
        st.builds(lambda lv, i: lv << 56 | i, st.integers(1, 9), st.integers(0, 160)),
        st.sampled_from([0, 7, -1, -(2**63) + 1, 3 << 56, (40 << 56) + 1, 2**63 - 1]),
    )
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["drop", "flip", "move", "add"]))
        if kind == "add" or not ids:
            stored.setdefault(draw(places), bytes(32))
        else:
            node = draw(st.sampled_from(ids))
            if node not in stored:
                continue
            if kind == "drop":
                del stored[node]
            elif kind == "flip":
                stored[node] = bytes([stored[node][0] ^ 1]) + stored[node][1:]
            else:
                stored.setdefault(draw(places), stored.pop(node))
    return size, sorted(stored.items())


@given(tampered_nodes(), st.data())
@settings(max_examples=300, deadline=None)
def test_node_check_reports_what_the_original_comparison_reported(
    case: tuple[int, list[tuple[int, bytes]]], data: st.DataObject
) -> None:
    """Compared after the pass, or during it in steps of any size with pages of any size,
    NodeCheck reports exactly the original comparison's findings, in its order."""
    size, stored = case
    levels = rebuilt(size)
    flagged = sorted(data.draw(st.sets(st.integers(0, max(size - 1, 0)), max_size=5)))
    expected = reference(stored, levels, size, flagged)

    after = NodeCheck()
    after.compare(stored, levels)
    found: Findings = []
    after.report(levels, size, flagged, lambda i, w: found.append((i, w)))
    assert (found, after.nodes) == expected

    ids = [node_id for node_id, _ in stored]
    page = data.draw(st.integers(1, 20), label="page")

    def read(first: int, last: int) -> list[tuple[int, bytes]]:
        start = bisect.bisect_right(ids, first)
        return [row for row in stored[start : start + page] if row[0] <= last]

    during = NodeCheck(read)
    leaves = 0
    while leaves < size:
        leaves = min(size, leaves + data.draw(st.integers(1, 64), label="step"))
        during.advance(prefix(levels, leaves))
    during.finish(levels)
    found = []
    during.report(levels, size, flagged, lambda i, w: found.append((i, w)))
    assert (found, during.nodes) == expected


@pytest.fixture(name="paged")
def _paged(monkeypatch: pytest.MonkeyPatch) -> None:
    """Send every audit with two workers to them, PAGE entries and nodes at a time."""
    monkeypatch.setattr(audit, "IN_PROCESS_BELOW", 0)
    monkeypatch.setattr(audit_sources, "CHUNK", PAGE)


def node_changes(nodes: list[dict[str, object]], rng: random.Random) -> list[tamper.Tamper]:
    """Changed hashes at every level, and nodes moved to other places, absent or impossible."""
    by_level: dict[int, list[int]] = {}
    for row in nodes:
        node = int(row["node_id"])  # type: ignore[call-overload]
        by_level.setdefault(node >> 56, []).append(node)
    taken = {n for ids in by_level.values() for n in ids}
    changes = []
    for _, ids in sorted(by_level.items()):
        node = rng.choice(ids)
        old = next(bytes(r["hash"]) for r in nodes if r["node_id"] == node)  # type: ignore[call-overload]
        changes.append(tamper.Tamper("tree_nodes", "hash", node, old, tamper.flip_bit(old, rng), 0))
    first, last = by_level[1][0], by_level[1][-1]
    for new in (
        (1 << 56) + 10**6,  # level 1, far beyond the tree
        5,  # level 0, which is never stored
        -(2**62),  # a negative ID
        (40 << 56) + 3,  # a level no tree of this size has
        (3 << 56) + (by_level[3][-1] & MASK) + 1,  # just past the end of level 3
    ):
        assert new not in taken
        changes.append(tamper.Tamper("tree_nodes", "node_id", first, first, new, 0))
        changes.append(tamper.Tamper("tree_nodes", "node_id", last, last, new, 0))
    return changes


@pytest.mark.usefixtures("paged")
def test_nodes_compared_during_the_pass_are_reported_as_after_it(
    ledger: Ledger, tmp_path: Path
) -> None:
    """For each changed, moved or impossible node, the workers' audit (nodes compared as the
    tree is rebuilt) fails with exactly the in-process audit's findings, gaps and counts."""
    tamper.seed_log(ledger)
    snap = tamper.Snapshot.read(ledger.engine)
    copies = tamper.Copies(ledger.engine, tmp_path)
    failures = []
    for n, change in enumerate(node_changes(snap.nodes, random.Random(7))):
        with copies.copy(n) as engine:
            tamper.apply(engine, change)
            alone, paged = both_ways(ledger, DatabaseSource(engine))
        if alone.ok:
            failures.append(f"{change}: the audit found nothing")
        elif summary(paged) != summary(alone):
            failures.append(f"{change}: {paged.findings} vs {alone.findings}")
    assert not failures, "\n".join(failures)
