"""Comparing the stored tree nodes with the tree the audit rebuilds from the leaves.

Stored nodes are read in node ID order (level << 56 | index: level by level, each level in
index order) and each is compared with the rebuilt node at its place. What is found wrong is
reported level by level in that order, after the entry findings, so that a changed node is
blamed on the first changed leaf under it when there is one.

With a database, the comparison runs while the entry pass rebuilds the tree (`advance`):
each level's stored nodes are compared as soon as the rebuilt level covers them, so that
only the nodes at the tree's right edge are left for the end (`finish`).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping

from traceability.log.audit_pages import HIGHEST, LOWEST

MASK = (1 << 56) - 1
"""The index bits of a node ID."""

MAX_KEPT = 1000
"""Findings kept per level: the audit keeps no more than this many in all (MAX_FINDINGS)."""

NodePage = Callable[[int, int], list[tuple[int, bytes]]]
"""Read the next page of stored nodes with after < node ID <= last, in node ID order; an
empty page means there are no more."""

Find = Callable[[int, str], None]


class _Level:
    """One level's stored nodes, compared up to `count`: the index the next node should have."""

    __slots__ = ("after", "count", "done", "findings", "pending")

    def __init__(self, after: int) -> None:
        self.after = after  # the last node ID read
        self.count = 0
        self.done = False  # every node of the level has been read
        self.pending: list[tuple[int, bytes]] = []  # read, not compared yet (reversed)
        self.findings: list[tuple[str, int]] = []  # ("missing" | "beyond" | "differs", index)

    def step(self, index: int, digest: bytes, data: bytearray | None, expected: int) -> None:
        """Compare one stored node with `data`, the rebuilt level of `expected` nodes."""
        if index != self.count:
            if self.count < expected:
                self._note("missing", self.count)
            self.count = index
        self.count += 1
        if data is None or len(data) < (index + 1) * 32:
            self._note("beyond", index)
        elif data[index * 32 : (index + 1) * 32] != digest:
            self._note("differs", index)

    def _note(self, kind: str, index: int) -> None:
        if len(self.findings) < MAX_KEPT:
            self.findings.append((kind, index))


class NodeCheck:
    """Compares stored nodes with the rebuilt tree; `read` pages them from a database."""

    def __init__(self, read: NodePage | None = None) -> None:
        self._read = read
        self._levels: dict[int, _Level] = {}
        self.nodes = 0
        """Stored nodes compared so far."""

    def advance(self, levels: Mapping[int, bytearray]) -> None:
        """Compare every stored node the rebuilt levels already cover (needs `read`)."""
        for level, data in levels.items():
            built = len(data) // 32
            lv = self._level(level)
            while lv.count < built:
                if not lv.pending and not self._fill(lv, (level + 1 << 56) - 1):
                    break
                index = lv.pending[-1][0] & MASK
                if index >= built:
                    break
                self.nodes += 1
                lv.step(index, lv.pending.pop()[1], data, built)

    def compare(self, stored: Iterable[tuple[int, bytes]], levels: Mapping[int, bytearray]) -> None:
        """Compare all of `stored` (node ID order) with the finished tree, as `finish` would."""
        expected = {level: len(data) // 32 for level, data in levels.items()}
        for node_id, digest in stored:
            level = node_id >> 56
            self.nodes += 1
            self._level(level).step(
                node_id & MASK, digest, levels.get(level) if level > 0 else None,
                expected.get(level, 0),
            )  # fmt: skip

    def finish(self, levels: Mapping[int, bytearray]) -> None:
        """Compare the stored nodes not compared yet with the finished tree (needs `read`)."""
        assert self._read is not None  # noqa: S101 - only database audits page their nodes
        top = max(levels, default=0)
        self.compare(self._all(LOWEST, (1 << 56) - 1), levels)  # levels 0 and below
        for level in range(1, top + 1):
            lv = self._level(level)
            self.compare(self._rest(lv, level), levels)
        self.compare(self._all((top + 1 << 56) - 1, HIGHEST), levels)

    def report(
        self, levels: Mapping[int, bytearray], tree_size: int, flagged: list[int], find: Find
    ) -> None:
        """Report the findings, level by level, then the nodes missing at each level's end.

        `flagged` are the sorted indices of the entry findings: a node that differs is
        reported at the first of them under it, else at its first leaf.
        """
        for level in sorted(self._levels):
            for kind, index in self._levels[level].findings:
                if kind == "missing":
                    find(index << level, f"tree node ({level}, {index}) missing")
                elif kind == "beyond":  # a node beyond the tree claims entries from the end on
                    start = index << level if level > 0 else 0
                    find(max(start, tree_size), f"tree node ({level}, {index}) should not exist")
                else:  # the leaves under it were checked first: a changed leaf changed it
                    start, end = index << level, (index + 1) << level
                    i = bisect.bisect_left(flagged, start)
                    at = flagged[i] if i < len(flagged) and flagged[i] < end else start
                    find(at, f"tree node ({level}, {index}) differs from the leaves")
        for level, data in levels.items():
            count = self._levels[level].count if level in self._levels else 0
            if count < len(data) // 32:
                find(count << level, f"tree node ({level}, {count}) missing")

    def _level(self, level: int) -> _Level:
        lv = self._levels.get(level)
        if lv is None:
            lv = self._levels[level] = _Level((level << 56) - 1)
        return lv

    def _fill(self, lv: _Level, last: int) -> bool:
        """Read the level's next page into `pending`; False when nothing is left."""
        if lv.done or self._read is None:
            return False
        rows = self._read(lv.after, last)
        lv.done = not rows
        if rows:
            lv.after = rows[-1][0]
            lv.pending = rows[::-1]
        return bool(rows)

    def _rest(self, lv: _Level, level: int) -> Iterable[tuple[int, bytes]]:
        """Yield the level's nodes not compared yet, in order."""
        while lv.pending or self._fill(lv, (level + 1 << 56) - 1):
            yield lv.pending.pop()

    def _all(self, after: int, last: int) -> Iterable[tuple[int, bytes]]:
        """Yield every stored node with after < node ID <= last, in order."""
        assert self._read is not None  # noqa: S101 - see finish
        while rows := self._read(after, last):
            yield from rows
            after = rows[-1][0]
