"""The database tables of the log and the signer registry (created by the Alembic migrations)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
"""A 64-bit key; on SQLite spelled INTEGER so it is the rowid (one B-tree, not two)."""

APPEND_ONLY_TABLES = ("log_entries", "tree_nodes", "checkpoints", "equivocations", "log_keys")
"""Tables whose rows the database itself refuses to UPDATE or DELETE (triggers)."""


class Signer(SQLModel, table=True):
    """A registered signer: a device's or a person's Ed25519 key, with who holds it."""

    __tablename__ = "signers"

    key_id: str = Field(primary_key=True, max_length=32)
    public_key: bytes = Field(sa_type=sa.LargeBinary)
    name: str = Field(max_length=200)
    organisation: str = Field(max_length=200, index=True)
    role: str = Field(max_length=64)
    status: str = Field(default="active", max_length=16)
    valid_from: datetime = Field(sa_type=sa.DateTime(timezone=True))
    valid_until: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class LogKey(SQLModel, table=True):
    """The log's checkpoint signing key; the private half is PKCS#8 encrypted at rest."""

    __tablename__ = "log_keys"

    origin: str = Field(primary_key=True, max_length=200)
    public_key: bytes = Field(sa_type=sa.LargeBinary)
    encrypted_private_key: bytes = Field(sa_type=sa.LargeBinary)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class LogEntry(SQLModel, table=True):
    """One appended envelope: its exact leaf bytes plus columns indexed for look-ups."""

    __tablename__ = "log_entries"
    __table_args__ = (sa.UniqueConstraint("signer", "seq", name="uq_log_entries_signer_seq"),)

    idx: int = Field(sa_column=sa.Column(KEY, primary_key=True, autoincrement=False))
    leaf: bytes = Field(sa_type=sa.LargeBinary)
    leaf_hash: bytes = Field(sa_type=sa.LargeBinary)
    signer: str = Field(max_length=32)
    seq: int = Field(sa_type=sa.BigInteger)
    envelope_hash: bytes = Field(sa_type=sa.LargeBinary)  # unique through (signer, seq)


class TreeNode(SQLModel, table=True):
    """An interior node of the Merkle tree (level >= 1): node_id = level << 56 | index."""

    __tablename__ = "tree_nodes"

    node_id: int = Field(sa_column=sa.Column(KEY, primary_key=True, autoincrement=False))
    hash: bytes = Field(sa_type=sa.LargeBinary)


class CheckpointRow(SQLModel, table=True):
    """A signed checkpoint (C2SP tlog-checkpoint note) the log issued."""

    __tablename__ = "checkpoints"

    tree_size: int = Field(sa_column=sa.Column(KEY, primary_key=True, autoincrement=False))
    root: bytes = Field(sa_type=sa.LargeBinary)
    note: str
    issued_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class Equivocation(SQLModel, table=True):
    """Evidence of a signer contradicting itself, kept for regulators."""

    __tablename__ = "equivocations"

    id: int | None = Field(default=None, primary_key=True)
    signer: str = Field(max_length=32, index=True)
    seq: int = Field(sa_type=sa.BigInteger)
    kind: str = Field(max_length=32)
    existing_index: int | None = Field(default=None, sa_type=sa.BigInteger)
    envelope: bytes = Field(sa_type=sa.LargeBinary)
    reason: str
    received_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


def node_id(level: int, index: int) -> int:
    """Pack a (level, index) tree position into the tree_nodes primary key."""
    return (level << 56) | index
