"""Field devices and ingest: device records, rejected messages, sequence gaps.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("device_id", sa.String(32), sa.ForeignKey("signers.key_id"), primary_key=True),
        sa.Column("organisation", sa.String(200), nullable=False, index=True),
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("broker_username", sa.String(64), nullable=False, unique=True),
        sa.Column("enrolled_at", TZ, nullable=False),
    )
    op.create_table(
        "rejected_messages",
        sa.Column("id", KEY, primary_key=True, autoincrement=True),
        sa.Column("received_at", TZ, nullable=False, index=True),
        sa.Column("topic", sa.String(512), nullable=False),
        sa.Column("device_id", sa.String(32), index=True),
        sa.Column("envelope_hash", sa.LargeBinary),
        sa.Column("signer", sa.String(32)),
        sa.Column("seq", sa.BigInteger),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("payload_size", sa.Integer, nullable=False),
    )
    op.create_table(
        "sequence_gaps",
        sa.Column("id", KEY, primary_key=True, autoincrement=True),
        sa.Column("device_id", sa.String(32), nullable=False, index=True),
        sa.Column("missing_from", sa.BigInteger, nullable=False),
        sa.Column("missing_to", sa.BigInteger, nullable=False),
        sa.Column("next_seq", sa.BigInteger, nullable=False),
        sa.Column("detected_at", TZ, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sequence_gaps")
    op.drop_table("rejected_messages")
    op.drop_table("devices")
