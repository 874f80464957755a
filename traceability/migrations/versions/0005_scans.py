"""Consumer scans of unit codes: time, coarse place, a salted hash of the scanner's network.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "scans",
        sa.Column("id", KEY, primary_key=True, autoincrement=True),
        sa.Column("gtin", sa.String(14), nullable=False),
        sa.Column("serial", sa.String(20), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("scanned_at", TZ, nullable=False),
        sa.Column("lat", sa.String(8)),
        sa.Column("lon", sa.String(8)),
        sa.Column("scanner", sa.String(32), nullable=False),
        sa.Column("scanners", sa.Integer, nullable=False),
        sa.Column("far_km", sa.Integer, nullable=False),
        sa.Column("signal", sa.String(16)),
        sa.UniqueConstraint("gtin", "serial", "number", name="uq_scans_unit_number"),
    )


def downgrade() -> None:
    op.drop_table("scans")
