"""The supply-chain indexes beside the log: organisations, sites, batches, lineage, events, alerts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = 64
BIG = sa.BigInteger
TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("registered_index", BIG, nullable=False),
        sa.Column("updated_index", BIG, nullable=False),
    )
    op.create_table(
        "sites",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("organisation", sa.String(ID), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("registered_index", BIG, nullable=False),
        sa.Column("updated_index", BIG, nullable=False),
    )
    op.create_table(
        "batches",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("herb", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("origin_site", sa.String(ID)),
        sa.Column("owner", sa.String(ID), nullable=False, index=True),
        sa.Column("custodian", sa.String(ID), nullable=False, index=True),
        sa.Column("quantity", sa.String(32), nullable=False),
        sa.Column("unit", sa.String(8), nullable=False),
        sa.Column("remaining", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("quality", sa.String(16), nullable=False),
        sa.Column("shipment", sa.String(ID)),
        sa.Column("gtin", sa.String(14)),
        sa.Column("lot", sa.String(20)),
        sa.Column("planted_on", sa.String(10)),
        sa.Column("harvested_on", sa.String(10)),
        sa.Column("growing_years", sa.Integer),
        sa.Column("created_index", BIG, nullable=False),
    )
    op.create_index("ix_batches_gtin_lot", "batches", ["gtin", "lot"])
    op.create_table(
        "lineage",
        sa.Column("parent", sa.String(ID), primary_key=True),
        sa.Column("child", sa.String(ID), primary_key=True),
        sa.Column("event_index", BIG, primary_key=True),
        sa.Column("quantity", sa.String(32), nullable=False),
        sa.Column("unit", sa.String(8), nullable=False),
    )
    op.create_index("ix_lineage_child_parent", "lineage", ["child", "parent"])
    op.create_table(
        "units",
        sa.Column("gtin", sa.String(14), primary_key=True),
        sa.Column("serial", sa.String(20), primary_key=True),
        sa.Column("lot", sa.String(20), nullable=False),
        sa.Column("batch", sa.String(ID), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("packed_index", BIG, nullable=False),
        sa.Column("sold_index", BIG),
    )
    op.create_table(
        "batch_events",
        sa.Column("batch", sa.String(ID), primary_key=True),
        sa.Column("log_index", BIG, primary_key=True),
        sa.Column("type", sa.String(32), nullable=False),
    )
    op.create_table(
        "shipments",
        sa.Column("shipment", sa.String(ID), primary_key=True),
        sa.Column("batch", sa.String(ID), primary_key=True, index=True),
        sa.Column("sender", sa.String(ID), nullable=False),
        sa.Column("recipient", sa.String(ID), nullable=False),
        sa.Column("to_site", sa.String(ID)),
        sa.Column("shipped_index", BIG, nullable=False),
        sa.Column("received_index", BIG),
        sa.Column("received_site", sa.String(ID)),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False, index=True),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("batch", sa.String(ID), index=True),
        sa.Column("subject", sa.String(200)),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("envelopes", sa.Text, nullable=False),
        sa.Column("raised_at", sa.String(32), nullable=False),
        sa.Column("source_index", BIG),
        sa.Column("logged_index", BIG),
    )
    op.create_table(
        "sensor_excursions",
        sa.Column("sensor", sa.String(ID), primary_key=True),
        sa.Column("batch", sa.String(ID), primary_key=True),
        sa.Column("started_at", sa.String(40)),
        sa.Column("last_at", sa.String(40), nullable=False),
        sa.Column("alerted", sa.Boolean, nullable=False),
    )
    op.create_table(
        "domain_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(200), nullable=False),
    )
    op.create_table(
        "rules_keys",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("public_key", sa.LargeBinary, nullable=False),
        sa.Column("encrypted_private_key", sa.LargeBinary, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "rules_keys",
        "domain_meta",
        "sensor_excursions",
        "alerts",
        "shipments",
        "batch_events",
        "units",
        "lineage",
        "batches",
        "sites",
        "organisations",
    ):
        op.drop_table(table)
