"""Migration 0002 (ingest): devices, rejected messages and sequence gaps, up and down."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from traceability.storage.db import make_engine
from traceability.storage.migrate import downgrade, upgrade

INGEST_TABLES = {"devices", "rejected_messages", "sequence_gaps"}


@pytest.fixture(name="bare_engine")
def _bare_engine(db_url: str) -> Iterator[Engine]:
    """An engine on the test's empty database, not migrated."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def names(engine: Engine) -> set[str]:
    """The table names in the database."""
    return set(sa.inspect(engine).get_table_names())


def test_0002_up_and_down(bare_engine: Engine) -> None:
    """Upgrading through 0002 creates the ingest tables with their keys; downgrading to 0001
    drops exactly them, and upgrading again restores them."""
    upgrade(bare_engine, "0002")
    assert names(bare_engine) >= INGEST_TABLES
    inspector = sa.inspect(bare_engine)
    assert inspector.get_pk_constraint("devices")["constrained_columns"] == ["device_id"]
    [fk] = inspector.get_foreign_keys("devices")
    assert (fk["referred_table"], fk["referred_columns"]) == ("signers", ["key_id"])
    columns = {c["name"] for c in inspector.get_columns("rejected_messages")}
    assert {"received_at", "topic", "device_id", "envelope_hash", "reason", "payload"} <= columns
    downgrade(bare_engine, "0001")
    assert not INGEST_TABLES & names(bare_engine)
    assert "signers" in names(bare_engine)
    upgrade(bare_engine, "0002")
    assert names(bare_engine) >= INGEST_TABLES


def test_device_needs_a_registered_signer(bare_engine: Engine) -> None:
    """The database refuses a device row whose key is not in the signer registry."""
    upgrade(bare_engine)
    with pytest.raises(sa.exc.IntegrityError), bare_engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO devices (device_id, organisation, site, broker_username, enrolled_at)"
                " VALUES (:d, 'o', 's', :d, CURRENT_TIMESTAMP)"
            ),
            {"d": "0" * 32},
        )
