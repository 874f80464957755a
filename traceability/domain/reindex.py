"""Rebuilding the indexes from the log: clear them, replay every entry through the projection.

The replay applies each entry exactly as the policy did at append time (same projector, same
order), so a log written through the policy rebuilds to the same state; `dump` gives that
state canonically for comparison. Entries that break a rule (appended without the policy)
are skipped and counted by reason. Alerts raised outside the rules and not yet logged are
not in the log; reindex keeps them.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from schemas.events import EventBody
from traceability.domain import state
from traceability.domain.projection import Projector, prefetch
from traceability.domain.working_set import WorkingSet
from traceability.errors import RuleViolation
from traceability.log.reading import entry_page, log_size
from traceability.log.signers import SignerInfo, signers_by_id
from traceability.storage.db import write_transaction

PAGE = 2000
"""Entries read per query while replaying."""


@dataclass
class ReindexReport:
    """What a replay did: entries read, applied, and skipped by reason."""

    entries: int = 0
    applied: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    changed: list[str] | None = None
    """With `check`: the tables whose rows differ from before the rebuild (empty: same state)."""


def replay(
    conn: Connection, projector: Projector, start: int, stop: int | None = None
) -> ReindexReport:
    """Apply log entries [start, stop) to the indexes, in order; skip those a rule refuses.

    Each page of entries is applied through one working set, read ahead and written at once.
    """
    report = ReindexReport()
    began = time.perf_counter()
    signers: dict[str, SignerInfo] = {}
    at = start
    while stop is None or at < stop:
        page = entry_page(conn, at, stop, PAGE)
        if not page:
            break
        missing = {stored.signer for stored in page} - set(signers)
        signers.update({str(k): v for k, v in signers_by_id(conn, missing).items()})
        parsed: list[tuple[dict[str, Any], EventBody | RuleViolation]] = []
        for stored in page:
            payload = json.loads(stored.entry.payload_bytes)
            try:
                parsed.append((payload, projector.parse(payload)))
            except RuleViolation as exc:
                parsed.append((payload, exc))
        working = WorkingSet(conn)
        prefetch(working, (b for _, b in parsed if not isinstance(b, RuleViolation)))
        for stored, (payload, body) in zip(page, parsed, strict=True):
            entry = stored.entry
            report.entries += 1
            try:
                if isinstance(body, RuleViolation):
                    raise body
                projector.apply(
                    working,
                    entry.index,
                    payload,
                    signers[stored.signer],
                    entry.received,
                    stored.envelope_hash.hex(),
                    body=body,
                )
            except RuleViolation as exc:
                report.skipped[exc.reason] += 1
            else:
                report.applied += 1
        working.flush()
        at = page[-1].entry.index + 1
    if report.entries:
        state.set_meta(conn, state.PROJECTED_THROUGH, str(at - 1))
    report.seconds = time.perf_counter() - began
    return report


def _unlogged_external(conn: Connection) -> list[dict[str, Any]]:
    t = state.alerts
    rows = conn.execute(
        sa.select(t).where(t.c.source_index.is_(None), t.c.logged_index.is_(None))
    ).all()
    return [dict(r._mapping) for r in rows]


def reindex(engine: Engine, projector: Projector, *, check: bool = False) -> ReindexReport:
    """Clear every index table and replay the whole log through `projector`, holding the
    append lock throughout (the projector of the entry policy: `DomainPolicy.projector`).

    With `check`, compare the rebuilt state with the state before, table by table.
    """
    with write_transaction(engine) as conn:
        before = dump(conn) if check else None
        keep = _unlogged_external(conn)
        for table in reversed(state.INDEX_TABLES):
            conn.execute(table.delete())
        report = replay(conn, projector, 0)
        if keep:
            conn.execute(state.alerts.insert(), keep)
        if report.entries == 0:
            state.set_meta(conn, state.PROJECTED_THROUGH, str(log_size(conn) - 1))
        if before is not None:
            after = dump(conn)
            report.changed = [name for name in after if after[name] != before.get(name)]
    return report


def dump(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every index table's rows, sorted, as plain tuples: equal dumps mean equal state."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for table in state.INDEX_TABLES:
        rows = conn.execute(sa.select(table)).all()
        out[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return out
