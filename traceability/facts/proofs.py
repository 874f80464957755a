"""A batch's proof bundle: its log entries, each with an inclusion proof to the latest checkpoint.

The domain indexes which log entries concern which batch (`batch_events`) and which batches
went into which (`lineage`); this module only reads those indexes and hands the entry
indices to `traceability.log.proof_bundle`, in the same read transaction.
"""

from __future__ import annotations

from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from traceability.domain.lineage import upstream_ids
from traceability.errors import InvalidInput, NotFound
from traceability.log.proof_bundle import MAX_BUNDLE_INDICES, ProofBundle, bundle_in
from traceability.storage import tables
from traceability.storage.db import read_transaction

_batch_events = tables.batch_events

Scope = Literal["batch", "trace"]
"""`batch`: the entries recorded on the batch itself; `trace`: also on every batch upstream."""


def batch_bundle(engine: Engine, batch: str, scope: Scope = "batch") -> ProofBundle:
    """Return the entries of `batch` (with `trace`, of it and all its ancestors), in log order.

    NotFound if no entry is recorded on the batch; InvalidInput if there are more than
    MAX_BUNDLE_INDICES (the verifier then pages through GET /v1/log/proofs).
    """
    with read_transaction(engine) as conn:
        batches = upstream_ids(conn, batch) if scope == "trace" else [batch]
        rows = conn.execute(
            sa.select(_batch_events.c.log_index)
            .where(_batch_events.c.batch.in_(batches))
            .distinct()
            .order_by(_batch_events.c.log_index)
        )
        indices = [int(i) for i in rows.scalars()]
        if not indices:
            raise NotFound(f"no log entry is recorded on batch {batch}")
        if len(indices) > MAX_BUNDLE_INDICES:
            raise InvalidInput(
                f"batch {batch} has {len(indices)} entries in scope {scope!r}, more than "
                f"{MAX_BUNDLE_INDICES}: fetch them in pages from /v1/log/proofs"
            )
        return bundle_in(conn, indices)
