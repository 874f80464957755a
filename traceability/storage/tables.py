"""The database tables of the log and the signer registry (created by the Alembic migrations).

Each table is declared once as a SQLModel class and exported beside it as its typed Core
`sa.Table` (`log_entries`, `signers`, ...): the code queries those, never the classes, whose
`__table__` SQLModel leaves untyped.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
"""A 64-bit key; on SQLite spelled INTEGER so it is the rowid (one B-tree, not two)."""

APPEND_ONLY_TABLES = ("log_entries", "tree_nodes", "checkpoints", "equivocations", "log_keys")
"""Tables whose rows the database itself refuses to UPDATE or DELETE (triggers)."""


def _table(model: type[SQLModel]) -> sa.Table:
    """The Core table SQLAlchemy mapped `model` to (the SQLModel class's `__table__`)."""
    table = sa.inspect(model).local_table
    if not isinstance(table, sa.Table):
        raise TypeError(f"{model.__name__} is not a table model")
    return table


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


signers = _table(Signer)


class LogKey(SQLModel, table=True):
    """The log's checkpoint signing key; the private half is PKCS#8 encrypted at rest."""

    __tablename__ = "log_keys"

    origin: str = Field(primary_key=True, max_length=200)
    public_key: bytes = Field(sa_type=sa.LargeBinary)
    encrypted_private_key: bytes = Field(sa_type=sa.LargeBinary)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


log_keys = _table(LogKey)


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


log_entries = _table(LogEntry)


class TreeNode(SQLModel, table=True):
    """An interior node of the Merkle tree (level >= 1): node_id = level << 56 | index."""

    __tablename__ = "tree_nodes"

    node_id: int = Field(sa_column=sa.Column(KEY, primary_key=True, autoincrement=False))
    hash: bytes = Field(sa_type=sa.LargeBinary)


tree_nodes = _table(TreeNode)


class CheckpointRow(SQLModel, table=True):
    """A signed checkpoint (C2SP tlog-checkpoint note) the log issued."""

    __tablename__ = "checkpoints"

    tree_size: int = Field(sa_column=sa.Column(KEY, primary_key=True, autoincrement=False))
    root: bytes = Field(sa_type=sa.LargeBinary)
    note: str
    issued_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


checkpoints = _table(CheckpointRow)


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


equivocations = _table(Equivocation)


def node_id(level: int, index: int) -> int:
    """Pack a (level, index) tree position into the tree_nodes primary key."""
    return (level << 56) | index


class Device(SQLModel, table=True):
    """An enrolled field device; its key, role, validity and revocation live in `signers`."""

    __tablename__ = "devices"

    device_id: str = Field(primary_key=True, max_length=32, foreign_key="signers.key_id")
    organisation: str = Field(max_length=200, index=True)
    site: str = Field(max_length=200)
    broker_username: str = Field(max_length=64, unique=True)
    enrolled_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


devices = _table(Device)


class RejectedMessage(SQLModel, table=True):
    """A message the ingest gateway refused, kept as evidence for regulators.

    `payload` holds the first `payload_size` bytes as received, capped (see
    traceability.rejections.MAX_STORED_PAYLOAD); `device_id` is the topic's device.
    """

    __tablename__ = "rejected_messages"

    id: int | None = Field(default=None, sa_column=sa.Column(KEY, primary_key=True))
    received_at: datetime = Field(sa_type=sa.DateTime(timezone=True), index=True)
    topic: str = Field(max_length=512)
    device_id: str | None = Field(default=None, max_length=32, index=True)
    envelope_hash: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    signer: str | None = Field(default=None, max_length=32)
    seq: int | None = Field(default=None, sa_type=sa.BigInteger)
    reason: str = Field(max_length=64)
    detail: str
    payload: bytes = Field(sa_type=sa.LargeBinary)
    payload_size: int


rejected_messages = _table(RejectedMessage)


class SequenceGapRow(SQLModel, table=True):
    """A device's missing sequence numbers, as the ingest gateway detected them."""

    __tablename__ = "sequence_gaps"

    id: int | None = Field(default=None, sa_column=sa.Column(KEY, primary_key=True))
    device_id: str = Field(max_length=32, index=True)
    missing_from: int = Field(sa_type=sa.BigInteger)
    missing_to: int = Field(sa_type=sa.BigInteger)
    next_seq: int = Field(sa_type=sa.BigInteger)
    detected_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


sequence_gaps = _table(SequenceGapRow)


class User(SQLModel, table=True):
    """A person who calls the API: an admin, an organisation's operator, or a regulator."""

    __tablename__ = "users"

    id: int | None = Field(default=None, sa_column=sa.Column(KEY, primary_key=True))
    name: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=16)
    organisation: str | None = Field(default=None, max_length=64, index=True)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


users = _table(User)


class ApiToken(SQLModel, table=True):
    """A bearer token of a user, stored only as SHA-256 of the token text (see users.py)."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, sa_column=sa.Column(KEY, primary_key=True))
    user_id: int = Field(sa_type=KEY, foreign_key="users.id", index=True)
    token_hash: bytes = Field(sa_type=sa.LargeBinary, unique=True)
    label: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


api_tokens = _table(ApiToken)


# --- The domain indexes beside the log (traceability/domain): rebuildable, not append-only ---

ID = 64
"""Length of a domain identifier (schemas.events.common.Identifier)."""


class Organisation(SQLModel, table=True):
    """A registered organisation (from its latest `organisation` event)."""

    __tablename__ = "organisations"

    id: str = Field(primary_key=True, max_length=ID)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=32)
    registered_index: int = Field(sa_type=sa.BigInteger)
    updated_index: int = Field(sa_type=sa.BigInteger)


organisations = _table(Organisation)


class Site(SQLModel, table=True):
    """A registered site of an organisation (from its latest `site` event)."""

    __tablename__ = "sites"

    id: str = Field(primary_key=True, max_length=ID)
    organisation: str = Field(max_length=ID, index=True)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=32)
    registered_index: int = Field(sa_type=sa.BigInteger)
    updated_index: int = Field(sa_type=sa.BigInteger)


sites = _table(Site)


class Batch(SQLModel, table=True):
    """A batch: what it is, where it began, who owns and holds it, how much is left.

    Quantities are exact decimal strings; `remaining` falls as portions are taken.
    `owner` made the batch (and may recall it); `custodian` holds it now.
    """

    __tablename__ = "batches"
    __table_args__ = (
        sa.Index("ix_batches_gtin_lot", "gtin", "lot"),
        sa.Index("ix_batches_lot", "lot"),
    )

    id: str = Field(primary_key=True, max_length=ID)
    herb: str = Field(max_length=32)
    kind: str = Field(max_length=16)  # planting herd harvest processed split merged packed
    origin_site: str | None = Field(default=None, max_length=ID)
    owner: str = Field(max_length=ID, index=True)
    custodian: str = Field(max_length=ID, index=True)
    quantity: str = Field(max_length=32)
    unit: str = Field(max_length=8)
    remaining: str = Field(max_length=32)
    status: str = Field(max_length=16)  # active consumed recalled
    quality: str = Field(max_length=16)  # untested passed failed
    shipment: str | None = Field(default=None, max_length=ID)  # in transit while set
    gtin: str | None = Field(default=None, max_length=14)
    lot: str | None = Field(default=None, max_length=20)
    planted_on: str | None = Field(default=None, max_length=10)
    harvested_on: str | None = Field(default=None, max_length=10)
    growing_years: int | None = None
    created_index: int = Field(sa_type=sa.BigInteger)


batches = _table(Batch)


class LineageEdge(SQLModel, table=True):
    """An edge of the lineage DAG: `quantity` of `parent` went into `child` at `event_index`."""

    __tablename__ = "lineage"
    __table_args__ = (sa.Index("ix_lineage_child_parent", "child", "parent"),)

    parent: str = Field(primary_key=True, max_length=ID)
    child: str = Field(primary_key=True, max_length=ID)
    event_index: int = Field(sa_type=sa.BigInteger, primary_key=True)
    quantity: str = Field(max_length=32)
    unit: str = Field(max_length=8)


lineage = _table(LineageEdge)


class UnitRow(SQLModel, table=True):
    """A serialised packed unit: GTIN + serial (its GS1 Digital Link) and its packed batch."""

    __tablename__ = "units"

    gtin: str = Field(primary_key=True, max_length=14)
    serial: str = Field(primary_key=True, max_length=20)
    lot: str = Field(max_length=20)
    batch: str = Field(max_length=ID, index=True)
    status: str = Field(max_length=16)  # packed sold recalled
    packed_index: int = Field(sa_type=sa.BigInteger)
    sold_index: int | None = Field(default=None, sa_type=sa.BigInteger)


units = _table(UnitRow)


class BatchEvent(SQLModel, table=True):
    """The index from a batch to the log entries recorded on it."""

    __tablename__ = "batch_events"

    batch: str = Field(primary_key=True, max_length=ID)
    log_index: int = Field(sa_type=sa.BigInteger, primary_key=True)
    type: str = Field(max_length=32)


batch_events = _table(BatchEvent)


class ShipmentRow(SQLModel, table=True):
    """One batch of a shipment: shipped by `sender` to `recipient`, received or in transit."""

    __tablename__ = "shipments"

    shipment: str = Field(primary_key=True, max_length=ID)
    batch: str = Field(primary_key=True, max_length=ID, index=True)
    sender: str = Field(max_length=ID)
    recipient: str = Field(max_length=ID)
    to_site: str | None = Field(default=None, max_length=ID)
    shipped_index: int = Field(sa_type=sa.BigInteger)
    received_index: int | None = Field(default=None, sa_type=sa.BigInteger)
    received_site: str | None = Field(default=None, max_length=ID)


shipments = _table(ShipmentRow)


class AlertRow(SQLModel, table=True):
    """An alert for regulators; `logged_index` is its own `alert` entry once logged.

    `evidence` is RFC 8785 JSON of an object; `envelopes` RFC 8785 JSON of a list of hex hashes.
    """

    __tablename__ = "alerts"

    id: str = Field(primary_key=True, max_length=ID)
    kind: str = Field(max_length=32, index=True)
    severity: str = Field(max_length=16)
    batch: str | None = Field(default=None, max_length=ID, index=True)
    subject: str | None = Field(default=None, max_length=200)
    detail: str
    evidence: str
    envelopes: str
    raised_at: str = Field(max_length=32)
    source_index: int | None = Field(default=None, sa_type=sa.BigInteger)
    logged_index: int | None = Field(default=None, sa_type=sa.BigInteger)


alerts = _table(AlertRow)


class SensorExcursion(SQLModel, table=True):
    """A sensor's open excursion outside a batch's storage range (cold-chain rule state)."""

    __tablename__ = "sensor_excursions"

    sensor: str = Field(primary_key=True, max_length=ID)
    batch: str = Field(primary_key=True, max_length=ID)
    started_at: str | None = Field(default=None, max_length=40)
    last_at: str = Field(max_length=40)
    alerted: bool = False


sensor_excursions = _table(SensorExcursion)


class DomainMeta(SQLModel, table=True):
    """Bookkeeping of the indexes, e.g. `projected_through`: the last log index applied."""

    __tablename__ = "domain_meta"

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=200)


domain_meta = _table(DomainMeta)


class RulesKey(SQLModel, table=True):
    """The rules signer's key (it signs `alert` envelopes); PKCS#8 encrypted at rest."""

    __tablename__ = "rules_keys"

    name: str = Field(primary_key=True, max_length=200)
    public_key: bytes = Field(sa_type=sa.LargeBinary)
    encrypted_private_key: bytes = Field(sa_type=sa.LargeBinary)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


rules_keys = _table(RulesKey)


# --- Consumer scans of unit codes (traceability/scans/counter.py): not in the log ---


class ScanRow(SQLModel, table=True):
    """One consumer scan of a unit's code: when, roughly where, and by which network.

    No address is stored: `scanner` is 32 hex digits of a keyed hash of the scanner's network
    prefix (see traceability/scans/counter.py). `lat`/`lon` are decimal strings rounded to 0.1°, or
    NULL when the scanner shared no place. `number`, `scanners` and `far_km` are running
    totals of the unit up to this scan: its ordinal, the distinct scanners, and the greatest
    distance in km between two places it was scanned from. `signal` is set on the one scan
    that first crossed a warning threshold (`many_scanners` or `far_apart`).
    """

    __tablename__ = "scans"
    __table_args__ = (sa.UniqueConstraint("gtin", "serial", "number", name="uq_scans_unit_number"),)

    id: int | None = Field(default=None, sa_column=sa.Column(KEY, primary_key=True))
    gtin: str = Field(max_length=14)
    serial: str = Field(max_length=20)
    number: int
    scanned_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    lat: str | None = Field(default=None, max_length=8)
    lon: str | None = Field(default=None, max_length=8)
    scanner: str = Field(max_length=32)
    scanners: int
    far_km: int
    signal: str | None = Field(default=None, max_length=16)


scans = _table(ScanRow)
