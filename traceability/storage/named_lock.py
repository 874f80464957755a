"""Locks held across every process that shares one database, for work outside a transaction.

A server key signs envelopes for people who hold none (the regulator office's recalls):
reading the key's head, signing the next envelope and appending it must happen one at a
time in all API processes together, or two processes sign the same sequence number and the
log records our own key equivocating.

- PostgreSQL: a session advisory lock, `pg_advisory_lock(int4, int4)` with the key
  (NAMESPACE, first 4 bytes of SHA-256(name) as a signed big-endian int). Two-key advisory
  locks never meet the one-key lock that serialises appends (a separate key space).
  Held on a pooled connection of its own; released when the block ends or the session dies.
- SQLite: an exclusive `flock` on `<database file>.<first 16 hex of SHA-256(name)>.lock`,
  released when the block ends or the process dies. An in-memory database lives in one
  process, so a process-wide lock is enough there.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from traceability.file_lock import file_lock
from traceability.storage.db import is_sqlite

NAMESPACE = 0x68657262
"""The first advisory-lock key of every named lock ("herb")."""

_memory_locks: dict[str, threading.Lock] = {}
_memory_guard = threading.Lock()


def lock_key(name: str) -> int:
    """The second advisory-lock key of `name`: a signed 32-bit integer."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big", signed=True)


@contextmanager
def named_lock(engine: Engine, name: str) -> Iterator[None]:
    """Hold the lock `name` in every process using `engine`'s database; block until free."""
    if not is_sqlite(engine):
        keys = {"a": NAMESPACE, "b": lock_key(name)}
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:a, :b)"), keys)
            conn.commit()  # the session holds the lock; no transaction stays open meanwhile
            try:
                yield
            finally:
                try:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:a, :b)"), keys)
                    conn.commit()
                except sa.exc.DBAPIError:
                    conn.invalidate()  # never pool a session that may still hold the lock
                    raise
        return
    database = engine.url.database
    if not database or database == ":memory:":
        with _memory_guard:
            lock = _memory_locks.setdefault(name, threading.Lock())
        with lock:
            yield
        return
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    with file_lock(Path(f"{database}.{digest}.lock")):
        yield
