"""Entry pages that the audit's worker processes read from the database and check themselves.

The main process hands a worker only a page's key range; the worker reads the page's rows on
its own connection, checks them (`entry_check`) and sends back the small checked tuples. The
leaf bytes never cross a process boundary, and the main process only folds the results.
"""

from __future__ import annotations

import multiprocessing.util
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from traceability.log.entry_check import CheckedRow, SignerCheck, StoredRow, check_chunk
from traceability.storage.db import driver_rows, is_sqlite, make_engine

LOWEST = -(2**63)
"""The keyset scan of the entries starts above this key; so does the first page."""

HIGHEST = 2**63 - 1
"""The largest 64-bit key: the last page runs up to it."""

_PAGE_SQL = (
    "SELECT idx, leaf, leaf_hash, signer, seq, envelope_hash FROM log_entries "
    "WHERE idx >= {m} AND idx <= {m} ORDER BY idx"
)


@dataclass(frozen=True, slots=True)
class EntryPages:
    """Where the audit's workers read the entries: a database URL and the pages' key ranges.

    The ranges are inclusive, in key order, and tile every key above LOWEST, so the pages
    hold exactly the rows the keyset scan `DatabaseSource.entries` yields, in the same order.
    They are planned as the audit goes (see tile_pages).
    """

    url: str
    ranges: Iterator[tuple[int, int]]


def tile_pages(next_key: Callable[[int], int | None], page: int) -> Iterator[tuple[int, int]]:
    """Yield inclusive key ranges tiling LOWEST + 1 … HIGHEST, each with ≤ `page` keys in use.

    `next_key(low)` names the smallest key in use at or above `low`, or None. Each range runs
    from where the last ended to the end of the `page`-aligned block holding the next key in
    use, so empty stretches of keys (a key moved far beyond the log, say) cost no pages; the
    last range runs to HIGHEST. A log of n entries takes ⌈n / page⌉ + 1 ranges, the last empty.
    """
    low = LOWEST + 1
    while (first := next_key(low)) is not None:
        high = first - first % page + page - 1
        if high >= HIGHEST:
            break
        yield low, high
        low = high + 1
    yield low, HIGHEST


def worker_url(engine: Engine) -> str | None:
    """Return the URL the workers open `engine`'s database with, or None if they cannot.

    A relative SQLite path is made absolute; SQLite in memory is only this process's.
    """
    url = engine.url
    if is_sqlite(engine):
        if url.database in (None, "", ":memory:") or url.database.startswith("file:"):
            return None
        url = url.set(database=os.path.abspath(url.database))
    return url.render_as_string(hide_password=False)


_engines: dict[str, Engine] = {}
_keys: dict[str, SignerCheck] = {}


def start_worker(keys: dict[str, SignerCheck]) -> None:
    """Pool initializer: keep the signer checks for every page this worker process checks."""
    _keys.clear()
    _keys.update(keys)


def _engine(url: str) -> Engine:
    engine = _engines.get(url)
    if engine is None:
        engine = _engines[url] = make_engine(url)
        # worker processes end without running atexit handlers; this closes the connection
        multiprocessing.util.Finalize(engine, engine.dispose, exitpriority=10)
    return engine


def read_page(engine: Engine, low: int, high: int) -> list[StoredRow]:
    """Return the stored entries with keys in [low, high], in key order."""
    with engine.connect() as conn:
        return driver_rows(conn, _PAGE_SQL, (low, high))


def check_page(url: str, low: int, high: int) -> list[CheckedRow]:
    """Read the entries with keys in [low, high] and check them (runs in a worker process)."""
    return check_chunk(read_page(_engine(url), low, high), _keys)


def check_rows(rows: list[StoredRow]) -> list[CheckedRow]:
    """Check entries the main process read and sent (runs in a worker process)."""
    return check_chunk(rows, _keys)
