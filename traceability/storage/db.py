"""Database engines for SQLite and PostgreSQL, built on demand, never at import time."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Concatenate, ParamSpec, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from traceability.errors import ConfigurationError

WRITE = "herbtrace_write"
"""Execution option marking a connection that appends; SQLite then takes its write lock up front."""

_APPEND_LOCK_KEY = 0x68657262  # "herb": the PostgreSQL advisory lock serialising appends

POSTGRES_POOL_SIZE = 20
"""PostgreSQL connections an engine keeps open once its load has needed them."""
POSTGRES_MAX_OVERFLOW = 20
"""More it opens at a peak, each closed again when it is returned."""


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for `url` (sqlite:///FILE or postgresql+psycopg://…).

    SQLite runs in WAL mode with synchronous=FULL (a receipt means the entry is on disk) and
    opens write transactions with BEGIN IMMEDIATE, so two processes never interleave appends.

    PostgreSQL's pool keeps up to POSTGRES_POOL_SIZE connections, not SQLAlchemy's five: the
    API runs each request's statements in one of up to 40 worker threads, and with five kept
    every request beyond the fifth at once opened a connection of its own (a new server
    process) and closed it after one lookup.
    """
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ConfigurationError(f"HERBTRACE_DATABASE_URL is not a database URL: {url!r}") from exc
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(url, connect_args={"timeout": 60}, **kwargs)
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        pool = {"pool_size": POSTGRES_POOL_SIZE, "max_overflow": POSTGRES_MAX_OVERFLOW}
        return sa.create_engine(url, pool_pre_ping=True, **(pool | kwargs))
    raise ConfigurationError(f"unsupported database {parsed.get_backend_name()!r}")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA cache_size=-65536")  # 64 MiB of page cache per connection
        cur.execute("PRAGMA mmap_size=4294967296")  # read through the OS page cache directly
        # REPLACE deletes conflicting rows; only with this do the append-only triggers see it.
        cur.execute("PRAGMA recursive_triggers=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def is_sqlite(conn: Connection | Engine) -> bool:
    """Tell whether the connection or engine talks to SQLite."""
    return conn.dialect.name == "sqlite"


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """Open a transaction that holds the log's single append lock until it commits.

    SQLite: BEGIN IMMEDIATE takes the database's write lock. PostgreSQL: a transaction-scoped
    advisory lock, so concurrent appenders queue instead of forking the chain.
    """
    with engine.connect() as raw:
        conn = raw.execution_options(**{WRITE: True})
        with conn.begin():
            if not is_sqlite(conn):
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _APPEND_LOCK_KEY})
            yield conn


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """Open a read-only snapshot transaction."""
    with engine.connect() as conn, conn.begin():
        yield conn


@contextmanager
def read_statements(engine: Engine) -> Iterator[Connection]:
    """Open a connection whose statements each read the committed state of their moment.

    Only for reads of rows that never change once committed (log entries, tree nodes):
    a later statement can see more of them, never different ones, so no snapshot is needed.
    On PostgreSQL the connection is in autocommit, which spares the BEGIN and COMMIT round
    trips of a transaction (a single proof is one statement); SQLite's are in-process, so
    there it is a read transaction.
    """
    if is_sqlite(engine):
        with read_transaction(engine) as conn:
            yield conn
        return
    with engine.connect() as conn:
        yield conn.execution_options(isolation_level="AUTOCOMMIT")


_CURSOR = "herbtrace_cursor"
"""Key of the (driver connection, cursor) pair kept in the pooled connection's info."""


def _driver_cursor(conn: Connection) -> Any:
    """Return a cursor of the driver connection under `conn`, made once per connection.

    It lives in the pooled connection's `info`, which lasts as long as the driver connection;
    the pair is checked, so a reconnected pool entry never reuses a stale cursor. Creating a
    psycopg cursor costs about as much CPU as a small indexed look-up.
    """
    pooled = conn.connection
    driver = pooled.driver_connection
    held = pooled.info.get(_CURSOR)
    if held is None or held[0] is not driver:
        held = pooled.info[_CURSOR] = (driver, driver.cursor())  # type: ignore[union-attr]
    return held[1]


def driver_rows(conn: Connection, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Run `sql` on the driver's own cursor; `{m}` in `sql` stands for one placeholder.

    For hot paths, where SQLAlchemy's per-statement work costs more than the query itself.
    Never put data in `sql`, only placeholders. Every row is fetched before it returns, so
    the connection's one cursor is free again for the next statement.
    """
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    cursor = _driver_cursor(conn)
    cursor.execute(sql.replace("{m}", mark), tuple(params))
    return list(cursor.fetchall())


def marks(count: int) -> str:
    """Return `count` comma-separated placeholders for driver_rows, e.g. for an IN list."""
    return ",".join(["{m}"] * count)


P = ParamSpec("P")
T = TypeVar("T")


def on_connection(
    engine: Engine,
    query: Callable[Concatenate[Connection, P], T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """Run `query(conn, *args, **kwargs)` on a fresh connection of `engine`, as an HTTP
    request runs a read: it sees every commit made before it."""
    with engine.connect() as conn:
        return query(conn, *args, **kwargs)
