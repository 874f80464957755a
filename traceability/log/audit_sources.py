"""Audit sources: the log as stored in the database, and the log as exported in a bundle."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from traceability.log.audit import StoredCheckpointNote
from traceability.log.audit_pages import EntryPages, tile_pages, worker_url
from traceability.log.entry_check import StoredRow
from traceability.log.reading import log_size
from traceability.log.signers import SignerInfo, list_signers
from traceability.storage import tables
from traceability.storage.db import driver_rows

_checkpoints = tables.checkpoints

CHUNK = 2000
_NODES_PAGE = (
    "SELECT node_id, hash FROM tree_nodes WHERE node_id > {{m}} ORDER BY node_id LIMIT {limit}"
)
_NODE_RANGE = (
    "SELECT node_id, hash FROM tree_nodes WHERE node_id > {{m}} AND node_id <= {{m}} "
    "ORDER BY node_id LIMIT {limit}"
)
_NEXT_KEY = "SELECT min(idx) FROM log_entries WHERE idx >= {m}"
_ENTRIES_PAGE = (
    "SELECT idx, leaf, leaf_hash, signer, seq, envelope_hash FROM log_entries "
    "WHERE idx > {{m}} ORDER BY idx LIMIT {limit}"
)


class DatabaseSource:
    """Reads every stored row the audit checks, streaming entries and nodes in key order."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def size(self) -> int:
        """Return the number of entries."""
        with self._engine.connect() as conn:
            return log_size(conn)

    def entries(self) -> Iterator[list[StoredRow]]:
        """Yield all entries in index order, CHUNK at a time."""
        yield from self._pages(_ENTRIES_PAGE)

    def entry_pages(self) -> EntryPages | None:
        """Pages of at most CHUNK entries that the audit's workers read for themselves."""
        url = worker_url(self._engine)
        return None if url is None else EntryPages(url, self._page_ranges())

    def _page_ranges(self) -> Iterator[tuple[int, int]]:
        """Plan the pages as the audit reads them: one index look-up per page, no count."""
        with self._engine.connect() as conn:

            def next_key(low: int) -> int | None:
                found = driver_rows(conn, _NEXT_KEY, (low,))[0][0]
                return None if found is None else int(found)

            yield from tile_pages(next_key, CHUNK)

    def _pages(self, template: str) -> Iterator[list[Any]]:
        """Yield the rows of `template` in key order, CHUNK at a time.

        Keyset pages on the driver's own cursor: SQLAlchemy's per-row work would rival the
        audit's own.
        """
        sql = template.format(limit=CHUNK)
        last = -(2**63)  # below any key, even a tampered negative one
        with self._engine.connect() as conn:
            while rows := driver_rows(conn, sql, (last,)):
                yield rows
                last = rows[-1][0]

    def checkpoints(self) -> list[StoredCheckpointNote]:
        """Return every stored checkpoint."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    _checkpoints.c.tree_size, _checkpoints.c.root, _checkpoints.c.note
                ).order_by(_checkpoints.c.tree_size)
            )
            return [StoredCheckpointNote(int(n), bytes(r), str(t)) for n, r, t in rows]

    def signers(self) -> dict[str, SignerInfo]:
        """Return the signer registry."""
        return {s.key_id: s for s in list_signers(self._engine)}

    def node_page(self, after: int, last: int) -> list[tuple[int, bytes]]:
        """Return up to CHUNK stored nodes with after < node ID <= last, in node ID order."""
        with self._engine.connect() as conn:
            rows = driver_rows(conn, _NODE_RANGE.format(limit=CHUNK), (after, last))
        return [(node_id, bytes(digest)) for node_id, digest in rows]

    def nodes(self) -> Iterator[tuple[int, bytes]]:
        """Yield every stored interior node, by node ID."""
        for rows in self._pages(_NODES_PAGE):
            for node_id, digest in rows:
                yield node_id, bytes(digest)
