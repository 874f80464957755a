"""Reading the log's entries back: the one place outside the appender that knows its tables.

Everything above the log (the read model, the gateways, the HTTP routes) reads entries
through these functions and gets decoded `Entry` values, never leaf bytes or rows, so the
leaf layout (traceability/log/entry.py) and the `log_entries` table have one owner.

Each function takes an open connection and runs on the driver's own cursor
(`driver_rows`): these are hot paths, where SQLAlchemy's per-statement work would cost
more than the query. Entries never change once committed, so the caller's connection may
be in a snapshot transaction or in autocommit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy.engine import Connection, Engine

from traceability.log.entry import Entry, parse_leaf
from traceability.storage.db import driver_rows, marks
from traceability.types import LeafHash

CHUNK = 500
"""Indices asked for in one statement: well below SQLite's 999 bound parameters."""


def entries_at(conn: Connection, indices: Iterable[int]) -> dict[int, Entry]:
    """Return the decoded entries at `indices` that are in the log, keyed by index.

    Indices not (yet) in the log are absent from the answer; duplicates are read once.
    """
    wanted = sorted(set(indices))
    out: dict[int, Entry] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        sql = f"SELECT idx, leaf FROM log_entries WHERE idx IN ({marks(len(chunk))})"  # noqa: S608
        for idx, leaf in driver_rows(conn, sql, chunk):
            out[int(idx)] = parse_leaf(bytes(leaf))
    return out


def entries_in_order(conn: Connection, indices: Iterable[int]) -> list[Entry]:
    """Return the decoded entries at `indices` that are in the log, in index order."""
    found = entries_at(conn, indices)
    return [found[i] for i in sorted(found)]


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An entry with the columns stored beside its leaf: its signer and envelope hash."""

    entry: Entry
    signer: str
    envelope_hash: bytes


def entry_page(conn: Connection, start: int, stop: int | None, limit: int) -> list[StoredEntry]:
    """Return at most `limit` entries with index in [start, stop), in index order."""
    rows = driver_rows(
        conn,
        "SELECT leaf, signer, envelope_hash FROM log_entries "
        "WHERE idx >= {m} AND idx < {m} ORDER BY idx LIMIT {m}",
        [start, _END if stop is None else stop, limit],
    )
    return [StoredEntry(parse_leaf(bytes(leaf)), str(s), bytes(h)) for leaf, s, h in rows]


_END = 10**18
"""Above any index (indices have at most 18 digits: traceability/log/entry.py)."""


def all_entries(engine: Engine, chunk: int = CHUNK) -> Iterator[list[Entry]]:
    """Yield every entry in index order, `chunk` at a time, each chunk from its own statement."""
    low = 0
    while True:
        with engine.connect() as conn:
            rows = driver_rows(
                conn,
                "SELECT idx, leaf FROM log_entries WHERE idx >= {m} ORDER BY idx LIMIT {m}",
                [low, chunk],
            )
        if not rows:
            return
        yield [parse_leaf(bytes(leaf)) for _, leaf in rows]
        low = int(rows[-1][0]) + 1


def leaf_at(conn: Connection, index: int) -> tuple[bytes, LeafHash] | None:
    """Return entry `index`'s exact leaf bytes and its stored leaf hash, or None."""
    rows = driver_rows(conn, "SELECT leaf, leaf_hash FROM log_entries WHERE idx = {m}", [index])
    if not rows:
        return None
    return bytes(rows[0][0]), LeafHash(bytes(rows[0][1]))


def entries_of_signer(conn: Connection, signer: str) -> list[Entry]:
    """Return every entry the signer has in the log, in index order."""
    rows = driver_rows(
        conn, "SELECT idx, leaf FROM log_entries WHERE signer = {m} ORDER BY idx", [signer]
    )
    return [parse_leaf(bytes(leaf)) for _, leaf in rows]


def received_at(conn: Connection, indices: Iterable[int]) -> dict[int, str]:
    """Return the time the log received each entry at `indices` (the leaf's received line)."""
    return {idx: entry.received for idx, entry in entries_at(conn, indices).items()}


def log_size(conn: Connection) -> int:
    """Return the number of entries in the log: one statement on its primary key."""
    rows = driver_rows(conn, "SELECT max(idx) FROM log_entries", [])
    last = rows[0][0] if rows else None
    return 0 if last is None else int(last) + 1


def log_size_of(engine: Engine) -> int:
    """Return the log size on `engine`, on a pooled driver connection.

    Without SQLAlchemy's connection wrapper, which would double the database work of a
    consumer page's cache hit (it asks this once per request).
    """
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        try:
            cursor.execute("SELECT max(idx) FROM log_entries")
            row = cursor.fetchone()
        finally:
            cursor.close()
    finally:
        raw.close()
    last = row[0] if row else None
    return 0 if last is None else int(last) + 1


def highest_seq_below(conn: Connection, signer: str, seq: int) -> int | None:
    """Return the highest sequence number the signer has in the log below `seq`, or None."""
    rows = driver_rows(
        conn, "SELECT max(seq) FROM log_entries WHERE signer = {m} AND seq < {m}", [signer, seq]
    )
    below = rows[0][0] if rows else None
    return None if below is None else int(below)
