"""An index on the lot (批号) of batches: a regulator finds a batch by the lot printed on its box.

`ix_batches_gtin_lot` serves a GTIN with its lot; a lot on its own (`domain/lots.py`, the
regulator's code box) was a scan of every batch.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_batches_lot", "batches", ["lot"])


def downgrade() -> None:
    op.drop_index("ix_batches_lot", table_name="batches")
