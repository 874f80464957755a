"""The PostgreSQL engine's pool keeps the connections its threads use at once."""

from __future__ import annotations

from contextlib import ExitStack

import pytest

from traceability.storage.db import POSTGRES_POOL_SIZE, make_engine


@pytest.mark.postgres
def test_connections_used_at_once_stay_open_for_the_next_requests(postgres_url: str) -> None:
    """Twenty connections checked out at once (twenty worker threads' lookups) are all kept
    when returned, so the next burst reuses them instead of opening new ones; more than the
    kept number at a peak are opened and closed again."""
    engine = make_engine(postgres_url)
    try:
        with ExitStack() as stack:
            first = [stack.enter_context(engine.connect()) for _ in range(POSTGRES_POOL_SIZE + 3)]
            pids = {c.connection.driver_connection.info.backend_pid for c in first}  # type: ignore[union-attr]
        assert len(pids) == POSTGRES_POOL_SIZE + 3
        assert engine.pool.checkedin() == POSTGRES_POOL_SIZE  # type: ignore[attr-defined]
        with ExitStack() as stack:
            again = [stack.enter_context(engine.connect()) for _ in range(POSTGRES_POOL_SIZE)]
            reused = {c.connection.driver_connection.info.backend_pid for c in again}  # type: ignore[union-attr]
        assert reused <= pids
    finally:
        engine.dispose()
