"""The typed Core tables that traceability/storage/tables.py exports beside its SQLModel classes."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import SQLModel

from traceability.storage import tables


def test_every_table_is_exported_under_its_own_name() -> None:
    exported = {name for name, value in vars(tables).items() if isinstance(value, sa.Table)}
    assert exported == set(SQLModel.metadata.tables)
    for name, table in SQLModel.metadata.tables.items():
        assert getattr(tables, name) is table


def test_each_exported_table_is_its_models_own_table() -> None:
    for model in (tables.LogEntry, tables.Signer, tables.ScanRow, tables.DomainMeta):
        assert sa.inspect(model).local_table is getattr(tables, model.__tablename__)
