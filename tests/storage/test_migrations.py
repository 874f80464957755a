"""The Alembic migrations: tables up and down, and append-only tables the database guards."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
import support
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from traceability.ledger import Ledger, initialise
from traceability.settings import Settings
from traceability.storage.db import is_sqlite, make_engine
from traceability.storage.migrate import alembic_config, downgrade, upgrade
from traceability.storage.tables import APPEND_ONLY_TABLES

TABLES = {"signers", "log_keys", "log_entries", "tree_nodes", "checkpoints", "equivocations"}

KEYS = {  # each append-only table's primary key, and a column to tamper with and its new value
    "log_entries": ("idx", "leaf_hash", b"\x00" * 32),
    "tree_nodes": ("node_id", "hash", b"\x00" * 32),
    "checkpoints": ("tree_size", "note", "test.herbtrace/log\n1\nforged\n"),
    "equivocations": ("id", "reason", "nothing happened"),
    "log_keys": ("origin", "encrypted_private_key", b"attacker's key"),
}


@pytest.fixture(name="bare_engine")
def _bare_engine(db_url: str) -> Iterator[Engine]:
    """An engine on the test's empty database, not migrated."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def settings_for(url: str) -> Settings:
    """Settings for a test database."""
    return Settings(database_url=url, log_origin="test.herbtrace/log", checkpoint_interval=0.05)


def tables(engine: Engine) -> set[str]:
    """Return the names of the herbtrace tables in the database."""
    return set(sa.inspect(engine).get_table_names()) & TABLES


def triggers(engine: Engine) -> set[str]:
    """Return the names of the user-defined triggers in the database."""
    with engine.connect() as conn:
        if is_sqlite(conn):
            sql = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        else:
            sql = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        return {str(name) for (name,) in conn.exec_driver_sql(sql)}


def stored_version(engine: Engine) -> list[str]:
    """Return the revisions Alembic recorded in the database."""
    with engine.connect() as conn:
        return [str(v) for (v,) in conn.exec_driver_sql("SELECT version_num FROM alembic_version")]


def head(engine: Engine) -> str:
    """Return the newest revision the package ships."""
    found = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    assert found is not None
    return found


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Return every row of every append-only table, by primary key."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table, (key, _, _) in KEYS.items():
            rows = conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY {key}")  # noqa: S608
            out[table] = [
                tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows
            ]
    return out


def seed(ledger: Ledger) -> None:
    """Put rows in every append-only table: entries, nodes, a checkpoint and an equivocation."""
    a, b = support.TestSigner(), support.TestSigner()
    a.register(ledger.engine)
    b.register(ledger.engine)
    results = ledger.append([s.next() for _ in range(5) for s in (a, b)])
    assert all(r.status == "accepted" for r in results)
    rival = a.sign(a.payload(seq=1, prev="0" * 64, time="2026-09-21T00:00:00Z"), advance=False)
    assert ledger.append([rival])[0].reason == "equivocation"
    ledger.checkpointer.issue(ledger.engine)
    assert all(snapshot(ledger.engine).values())


def refused(engine: Engine, sql: str, **params: Any) -> None:
    """Run `sql` in its own transaction and check that the database refuses it."""
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(sa.text(sql), params)


def first_key(conn: Connection, table: str, key: str) -> Any:
    """Return the smallest primary key of `table`."""
    return conn.exec_driver_sql(f"SELECT MIN({key}) FROM {table}").scalar()  # noqa: S608


def test_upgrade_creates_every_table_and_its_guards(bare_engine: Engine) -> None:
    """Upgrading an empty database creates all tables, the append-only triggers and the version."""
    assert tables(bare_engine) == set()
    upgrade(bare_engine)
    assert tables(bare_engine) == TABLES
    assert stored_version(bare_engine) == [head(bare_engine)]
    guarded = triggers(bare_engine)
    for table in APPEND_ONLY_TABLES:
        assert any(name.startswith(f"{table}_") for name in guarded), table
    inspector = sa.inspect(bare_engine)
    columns = {c["name"] for c in inspector.get_columns("log_entries")}
    assert columns == {"idx", "leaf", "leaf_hash", "signer", "seq", "envelope_hash"}
    assert inspector.get_pk_constraint("log_entries")["constrained_columns"] == ["idx"]
    uniques = [u["column_names"] for u in inspector.get_unique_constraints("log_entries")]
    assert ["signer", "seq"] in uniques


def test_downgrade_removes_everything_and_upgrade_works_again(bare_engine: Engine) -> None:
    """Downgrading to base drops every table and trigger; upgrading again gives a working log."""
    upgrade(bare_engine)
    downgrade(bare_engine)
    assert tables(bare_engine) == set()
    assert triggers(bare_engine) == set()
    assert stored_version(bare_engine) == []
    if not is_sqlite(bare_engine):
        with bare_engine.connect() as conn:
            functions = "SELECT count(*) FROM pg_proc WHERE proname = 'herbtrace_append_only'"
            assert conn.exec_driver_sql(functions).scalar() == 0
    upgrade(bare_engine)
    assert tables(bare_engine) == TABLES
    assert stored_version(bare_engine) == [head(bare_engine)]
    settings = settings_for(bare_engine.url.render_as_string(hide_password=False))
    initialise(settings, bare_engine)
    with Ledger(settings, bare_engine) as ledger:
        signer = support.TestSigner()
        signer.register(ledger.engine)
        assert [r.status for r in ledger.append([signer.next(), signer.next()])] == ["accepted"] * 2
    refused(bare_engine, "DELETE FROM log_entries")


def test_upgrading_again_changes_nothing(bare_engine: Engine) -> None:
    """Upgrading an up-to-date database, and initialising it again, keeps its tables and key."""
    settings = settings_for(bare_engine.url.render_as_string(hide_password=False))
    first = initialise(settings, bare_engine)
    before = triggers(bare_engine)
    upgrade(bare_engine)
    again = initialise(settings, bare_engine)
    assert again.to_vkey() == first.to_vkey()
    assert tables(bare_engine) == TABLES
    assert triggers(bare_engine) == before
    assert stored_version(bare_engine) == [head(bare_engine)]


@pytest.mark.parametrize("table", sorted(KEYS))
def test_append_only_tables_refuse_update_and_delete(ledger: Ledger, table: str) -> None:
    """UPDATE, DELETE and upserts over existing rows are refused by the database, rows unchanged."""
    assert set(KEYS) == set(APPEND_ONLY_TABLES)
    seed(ledger)
    engine = ledger.engine
    before = snapshot(engine)
    key, column, value = KEYS[table]
    with engine.connect() as conn:
        first = first_key(conn, table, key)
    refused(engine, f"UPDATE {table} SET {column} = {column}")  # noqa: S608
    refused(engine, f"UPDATE {table} SET {column} = :v WHERE {key} = :k", v=value, k=first)  # noqa: S608
    refused(engine, f"DELETE FROM {table}")  # noqa: S608
    refused(engine, f"DELETE FROM {table} WHERE {key} = :k", k=first)  # noqa: S608
    refused(
        engine,
        f"INSERT INTO {table} SELECT * FROM {table} WHERE {key} = :k "  # noqa: S608
        f"ON CONFLICT ({key}) DO UPDATE SET {column} = :v",
        k=first,
        v=value,
    )
    if is_sqlite(engine):
        refused(engine, f"INSERT OR REPLACE INTO {table} SELECT * FROM {table}")  # noqa: S608
        refused(engine, f"REPLACE INTO {table} SELECT * FROM {table} WHERE {key} = :k", k=first)  # noqa: S608
    assert snapshot(engine) == before


@pytest.mark.postgres
def test_postgres_refuses_truncate(postgres_url: str) -> None:
    """On PostgreSQL, TRUNCATE of any append-only table, alone or together, is refused."""
    settings = settings_for(postgres_url)
    initialise(settings)
    with Ledger(settings) as ledger:
        seed(ledger)
        before = snapshot(ledger.engine)
        for table in APPEND_ONLY_TABLES:
            refused(ledger.engine, f"TRUNCATE {table}")
            refused(ledger.engine, f"TRUNCATE {table} RESTART IDENTITY CASCADE")
        refused(ledger.engine, f"TRUNCATE {', '.join(APPEND_ONLY_TABLES)}")
        assert snapshot(ledger.engine) == before
