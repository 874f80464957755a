"""Audit sources: the log as stored in the database, and the log as exported in a bundle."""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from traceability.log.audit import StoredCheckpointNote
from traceability.log.entry_check import StoredRow
from traceability.log.tree_store import log_size
from traceability.signers import SignerInfo, list_signers
from traceability.storage.tables import CheckpointRow, LogEntry, TreeNode

_entries = LogEntry.__table__  # type: ignore[attr-defined]
_nodes = TreeNode.__table__  # type: ignore[attr-defined]
_checkpoints = CheckpointRow.__table__  # type: ignore[attr-defined]

CHUNK = 2000
_ENTRIES_PAGE = (
    "SELECT idx, leaf, leaf_hash, signer, seq, envelope_hash FROM log_entries "
    "WHERE idx > {mark} ORDER BY idx LIMIT {limit}"
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
        """Yield all entries in index order, CHUNK at a time (keyset pages, driver's cursor)."""
        with self._engine.connect() as conn:
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            sql = _ENTRIES_PAGE.format(mark=mark, limit=CHUNK)
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            last = -1
            try:
                while True:
                    cursor.execute(sql, (last,))
                    rows = cursor.fetchall()
                    if not rows:
                        return
                    yield rows
                    last = rows[-1][0]
            finally:
                cursor.close()

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

    def nodes(self) -> Iterator[tuple[int, bytes]]:
        """Yield every stored interior node, by node ID."""
        query = sa.select(_nodes.c.node_id, _nodes.c.hash).order_by(_nodes.c.node_id)
        with self._engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=CHUNK).execute(query)
            for node_id, digest in result:
                yield int(node_id), bytes(digest)
