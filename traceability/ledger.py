"""The ledger service: one object wiring storage, the appender, checkpoints and proofs."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from traceability.errors import ConfigurationError, InvalidInput, NotFound
from traceability.key_wrapping import COSTS
from traceability.log import tree_store
from traceability.log.appender import Appender, Prepared
from traceability.log.checkpointing import Checkpointer, StoredCheckpoint, latest_checkpoint
from traceability.log.entry import Entry, parse_leaf
from traceability.log.log_key import create_log_key, load_log_signer, load_log_verifier
from traceability.log.note import NoteVerifier
from traceability.log.policy import EntryPolicy
from traceability.log.results import AppendResult
from traceability.settings import Settings
from traceability.storage import tables
from traceability.storage.db import is_sqlite, make_engine, read_statements
from traceability.storage.migrate import upgrade
from traceability.storage.roles import grant_application_role
from traceability.types import LeafHash, NodeHash

_entries = tables.log_entries

PREPARE_AHEAD = 2
"""Batches being parsed and signature-checked while another commits."""


def initialise(
    settings: Settings, engine: Engine | None = None, *, app_role: str | None = None
) -> NoteVerifier:
    """Create or upgrade the database and create the log key; safe to run again.

    It migrates through `engine`, else HERBTRACE_MIGRATION_DATABASE_URL, else
    HERBTRACE_DATABASE_URL: the role it connects as owns the tables. On PostgreSQL it then
    grants the application role (`app_role`, else HERBTRACE_DATABASE_URL's user when that is
    not the owner) exactly what the servers need, creating it when missing with the URL's
    password (traceability/storage/roles.py). Run by the application role itself on a
    current schema it changes nothing.
    """
    own = engine is None
    engine = engine or make_engine(settings.migration_database_url or settings.database_url)
    try:
        upgrade(engine)
        role, password = _application_role(settings, engine, app_role)
        if role is not None:
            with engine.begin() as conn:
                grant_application_role(conn, role, password)
        return create_log_key(
            engine,
            settings.log_origin,
            settings.log_key_passphrase,
            COSTS[settings.key_kdf_cost],
        )
    finally:
        if own:
            engine.dispose()


def _application_role(
    settings: Settings, engine: Engine, app_role: str | None
) -> tuple[str | None, str | None]:
    """The role to grant (None: the owner is the application) and its password, if known."""
    app_url = sa.make_url(settings.database_url)
    if is_sqlite(engine):
        if app_role is not None:
            raise ConfigurationError("SQLite has no roles: protect the database file instead")
        return None, None
    role = app_role or app_url.username
    if role is None:
        return None, None
    if app_url.database != engine.url.database:
        raise ConfigurationError(
            f"HERBTRACE_DATABASE_URL names database {app_url.database!r} and the migration "
            f"URL {engine.url.database!r}: both must name the same database"
        )
    if app_role is None:
        with engine.connect() as conn:
            if role == conn.execute(sa.text("SELECT current_user")).scalar_one():
                return None, None  # one role for both: nothing to grant
    password = app_url.password if app_url.username == role else None
    return role, None if password is None else str(password)


class Ledger:
    """The log as one service. With `writable`, it appends and signs checkpoints."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine | None = None,
        *,
        writable: bool = True,
        policy: EntryPolicy | None = None,
    ):
        self.settings = settings
        self.engine = engine or make_engine(settings.database_url)
        with self.engine.connect() as conn:
            self.verifier = load_log_verifier(conn, settings.log_origin)
            signer = (
                load_log_signer(conn, settings.log_origin, settings.log_key_passphrase)
                if writable
                else None
            )
        self.checkpointer = Checkpointer(signer, settings.checkpoint_interval)
        self._appender = Appender(
            self.engine,
            self.checkpointer,
            settings.verify_workers,
            settings.max_envelope_bytes,
            policy,
        )
        self._ticker: threading.Thread | None = None
        self._known_size = 0  # the log only grows: sizes up to this need no look-up
        self._stop = threading.Event()

    def close(self) -> None:
        """Stop background work and release the database."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        self._appender.close()
        self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def append(self, envelopes: Sequence[bytes | dict[str, Any]]) -> list[AppendResult]:
        """Append envelopes in batches of `append_batch_size`; one result per envelope."""
        size = self.settings.append_batch_size
        batches = [envelopes[start : start + size] for start in range(0, len(envelopes), size)]
        results: list[AppendResult] = []
        ahead = PREPARE_AHEAD
        with ThreadPoolExecutor(ahead, thread_name_prefix="prepare") as prepare:
            pending = [prepare.submit(self._appender.prepare, b) for b in batches[:ahead]]
            for k in range(len(batches)):
                if k + ahead < len(batches):  # keep the workers fed while batch k commits
                    pending.append(prepare.submit(self._appender.prepare, batches[k + ahead]))
                results.extend(self._appender.commit(pending[k].result()))
        return results

    def prepare(self, envelopes: Sequence[bytes | dict[str, Any]]) -> Prepared:
        """Parse and signature-check one batch without touching the log (thread-safe).

        For callers that inspect envelopes between checking and appending (the ingest
        gateway matches each signer to its MQTT topic); `commit` then appends the batch.
        """
        return self._appender.prepare(envelopes)

    def commit(self, prepared: Prepared) -> list[AppendResult]:
        """Append a prepared batch in one transaction; one result per envelope, in order."""
        return self._appender.commit(prepared)

    def start_workers(self) -> None:
        """Start the signature-checking processes now (servers and benchmarks call this)."""
        self._appender.start_workers()

    def start_checkpoint_ticker(self) -> None:
        """Sign a checkpoint every `checkpoint_interval` seconds while the log grows."""
        if self._ticker is not None:
            return

        def tick() -> None:
            while not self._stop.wait(self.settings.checkpoint_interval):
                self.checkpointer.issue(self.engine)

        self._ticker = threading.Thread(target=tick, name="checkpoints", daemon=True)
        self._ticker.start()

    def size(self) -> int:
        """Return the number of entries."""
        with self.engine.connect() as conn:
            return tree_store.log_size(conn)

    def entry(self, index: int) -> tuple[bytes, LeafHash, Entry]:
        """Return entry `index`: its leaf bytes, leaf hash and decoded form."""
        if index < 0:
            raise InvalidInput("index must not be negative")
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(_entries.c.leaf, _entries.c.leaf_hash).where(_entries.c.idx == index)
            ).first()
        if row is None:
            raise NotFound(f"the log has no entry {index}")
        leaf = bytes(row[0])
        return leaf, LeafHash(bytes(row[1])), parse_leaf(leaf)

    def latest_checkpoint(self) -> StoredCheckpoint:
        """Return the newest signed checkpoint."""
        return latest_checkpoint(self.engine)

    def inclusion_proof(self, index: int, tree_size: int) -> list[NodeHash]:
        """Return the RFC 9162 inclusion proof of `index` in the tree of `tree_size`."""
        with read_statements(self.engine) as conn:
            proof = tree_store.inclusion_proof(conn, index, tree_size, self._known_size)
        self._known_size = max(self._known_size, tree_size)
        return proof

    def consistency_proof(self, first: int, second: int) -> list[NodeHash]:
        """Return the RFC 9162 consistency proof between trees of `first` and `second`."""
        with read_statements(self.engine) as conn:
            proof = tree_store.consistency_proof(conn, first, second, self._known_size)
        self._known_size = max(self._known_size, second)
        return proof
