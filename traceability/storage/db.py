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


def driver_rows(
    conn: Connection, sql: str, params: Sequence[Any], *, planned: bool = True
) -> list[tuple[Any, ...]]:
    """Run `sql` on the driver's own cursor; `{m}` in `sql` stands for one placeholder.

    For hot paths, where SQLAlchemy's per-statement work costs more than the query itself.
    Never put data in `sql`, only placeholders. Every row is fetched before it returns, so
    the connection's one cursor is free again for the next statement.

    On PostgreSQL psycopg prepares a statement it has run five times, and the server may
    then keep one generic plan for every later run. With `planned=False` the statement is
    never prepared and is planned for its own parameters each time: for statements whose
    best plan depends on them (lists of keys), where a generic plan chosen while a table was
    small scanned the whole table later.
    """
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    cursor = _driver_cursor(conn)
    if planned or conn.dialect.name != "postgresql":
        cursor.execute(sql.replace("{m}", mark), tuple(params))
    else:
        cursor.execute(sql.replace("{m}", mark), tuple(params), prepare=False)
    return list(cursor.fetchall())


def driver_rows_many(
    conn: Connection, statements: Sequence[tuple[str, Sequence[Any]]], *, planned: bool = True
) -> list[list[tuple[Any, ...]]]:
    """The rows of each statement (as `driver_rows`), in order, one statement at a time."""
    return [driver_rows(conn, sql, params, planned=planned) for sql, params in statements]


@contextmanager
def pipeline(conn: Connection) -> Iterator[None]:
    """Send the statements run inside without waiting for each one's answer, where the
    driver can (PostgreSQL: psycopg's pipeline mode, one round trip for all of them).

    Only for statements whose results are not read inside (writes); errors surface at the
    end of the block at the latest. COPY cannot run inside.
    """
    if conn.dialect.name != "postgresql":
        yield
        return
    with conn.connection.driver_connection.pipeline():  # type: ignore[union-attr]
        yield


def run(conn: Connection, sql: str, params: Sequence[Any]) -> int:
    """Run one statement on the driver's cursor (`{m}`: a placeholder); its row count."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    cursor = _driver_cursor(conn)
    cursor.execute(sql.replace("{m}", mark), tuple(params))
    return int(cursor.rowcount)


def run_many(conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """Run `sql` once for each row of parameters on the driver's cursor (`{m}`: a placeholder).

    psycopg sends the whole set in one pipeline, so on PostgreSQL this is one round trip.
    """
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    _driver_cursor(conn).executemany(sql.replace("{m}", mark), [tuple(r) for r in rows])


def insert_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert rows on the driver: COPY on PostgreSQL, executemany on SQLite.

    Either way no SQL is compiled per row. `table` and `columns` must be constants, never data.
    """
    names = ", ".join(columns)
    if conn.dialect.name == "postgresql":
        with _driver_cursor(conn).copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['?'] * len(columns))})"  # noqa: S608
    _driver_cursor(conn).executemany(sql, [tuple(r) for r in rows])


COPY_ABOVE = 64
"""On PostgreSQL, `write_rows` inserts more rows than this into one table by COPY."""


def write_rows(
    conn: Connection,
    inserts: Sequence[tuple[str, Sequence[str], Sequence[Sequence[Any]]]],
    statements: Sequence[tuple[str, Sequence[Sequence[Any]]]] = (),
) -> None:
    """Insert rows into tables — (table, columns, rows) each — then run each statement
    (`{m}`: a placeholder) once per row of its parameters, all as few round trips as can be.

    On PostgreSQL an insert of more than COPY_ABOVE rows goes by COPY; the other inserts and
    the statements go in one pipeline, so a small batch of writes costs one round trip.
    Table and column names must be constants, never data.
    """
    big = conn.dialect.name == "postgresql"
    small = []
    for table, columns, rows in inserts:
        if not rows:
            continue
        if big and len(rows) > COPY_ABOVE:
            insert_rows(conn, table, columns, rows)
        else:
            values = ", ".join(["{m}"] * len(columns))
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})"  # noqa: S608
            small.append((sql, rows))
    pending = [(sql, rows) for sql, rows in [*small, *statements] if rows]
    if not pending:
        return
    with pipeline(conn):
        for sql, rows in pending:
            run_many(conn, sql, rows)


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
