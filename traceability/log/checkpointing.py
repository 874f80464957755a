"""Issuing and reading the log's signed checkpoints (C2SP tlog-checkpoint notes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from traceability.errors import NotFound
from traceability.log import merkle
from traceability.log.checkpoint import Checkpoint, sign_checkpoint
from traceability.log.note import NoteSigner
from traceability.log.reading import log_size
from traceability.log.tree_store import root_at
from traceability.storage import tables
from traceability.storage.db import write_transaction

_checkpoints = tables.checkpoints


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """A checkpoint as the log stored it: tree size, root, the signed note, when issued."""

    tree_size: int
    root: bytes
    note: str
    issued_at: datetime


def _stored(row: sa.Row[tuple[object, ...]]) -> StoredCheckpoint:
    m = row._mapping
    issued = m["issued_at"]
    return StoredCheckpoint(
        tree_size=int(m["tree_size"]),
        root=bytes(m["root"]),
        note=str(m["note"]),
        issued_at=issued if issued.tzinfo else issued.replace(tzinfo=UTC),
    )


class Checkpointer:
    """Signs a checkpoint whenever the log has grown and `interval` has passed since the last.

    Only sizes the log really reached are signed, and each is computed from the stored tree,
    so any two checkpoints this log issues are consistent (C2SP tlog-checkpoint §"Note").
    """

    def __init__(self, signer: NoteSigner | None, interval: float = 1.0) -> None:
        self._signer = signer
        self._interval = timedelta(seconds=interval)
        self._seen: datetime | None = None
        """When the newest checkpoint seen by an append was issued (appends hold the lock)."""

    def maybe_issue(self, conn: Connection, tree: merkle.CompactRange, now: datetime) -> None:
        """Within an append transaction: sign `tree` if the last checkpoint is old enough."""
        if self._signer is None or tree.size == 0:
            return
        seen = self._seen
        if seen is not None and now - seen < self._interval:
            return  # a checkpoint this recent exists (others can only be newer): not due
        last = latest_checkpoint_in(conn)
        if last is not None:
            self._seen = last.issued_at
            if last.tree_size >= tree.size or now - last.issued_at < self._interval:
                return
        self._insert(conn, tree.size, tree.root(), now)
        self._seen = None  # known once the transaction commits; read again next time

    def issue(self, engine: Engine) -> StoredCheckpoint | None:
        """Sign a checkpoint of the log as it is now, unless the newest one already covers it."""
        if self._signer is None:
            return None
        with write_transaction(engine) as conn:
            size = log_size(conn)
            last = latest_checkpoint_in(conn)
            if size == 0 or (last is not None and last.tree_size >= size):
                return last
            return self._insert(conn, size, root_at(conn, size), datetime.now(UTC))

    def _insert(self, conn: Connection, size: int, root: bytes, now: datetime) -> StoredCheckpoint:
        assert self._signer is not None  # noqa: S101 - callers check
        note = sign_checkpoint(Checkpoint(self._signer.name, size, root), self._signer)
        conn.execute(
            _checkpoints.insert().values(tree_size=size, root=root, note=note, issued_at=now)
        )
        return StoredCheckpoint(size, root, note, now)


def latest_checkpoint_in(conn: Connection) -> StoredCheckpoint | None:
    """Return the newest checkpoint, or None before the first."""
    row = conn.execute(
        sa.select(_checkpoints).order_by(_checkpoints.c.tree_size.desc()).limit(1)
    ).first()
    return None if row is None else _stored(row)


def latest_checkpoint(engine: Engine) -> StoredCheckpoint:
    """Return the newest checkpoint; NotFound while the log has none."""
    with engine.connect() as conn:
        found = latest_checkpoint_in(conn)
    if found is None:
        raise NotFound("the log has no checkpoint yet")
    return found


def all_checkpoints(conn: Connection) -> list[StoredCheckpoint]:
    """Return every stored checkpoint, smallest tree first."""
    rows = conn.execute(sa.select(_checkpoints).order_by(_checkpoints.c.tree_size))
    return [_stored(r) for r in rows]


def newest_checkpoints(
    conn: Connection, *, below: int | None, limit: int
) -> list[StoredCheckpoint]:
    """Return up to `limit` checkpoints, largest tree first, of trees smaller than `below`."""
    query = sa.select(_checkpoints)
    if below is not None:
        query = query.where(_checkpoints.c.tree_size < below)
    rows = conn.execute(query.order_by(_checkpoints.c.tree_size.desc()).limit(limit))
    return [_stored(r) for r in rows]
