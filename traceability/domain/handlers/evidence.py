"""Evidence about batches: laboratory tests and sensor readings."""

from __future__ import annotations

from schemas.events.quality import QualityTest, SensorReadings
from traceability.domain.context import Context
from traceability.domain.roles import FIELD_ROLES
from traceability.domain.rules import cold_chain
from traceability.domain.rules.custody import (
    may_observe,
    require_active,
    require_known,
    require_role,
)
from traceability.domain.rules.quality import evaluate, require_tester
from traceability.domain.rules.recall import require_not_recalled


def quality_test(ctx: Context, body: QualityTest) -> None:
    """A registered laboratory's test sets the batch's quality (a passing retest clears it)."""
    require_tester(ctx, body)
    batch = require_known(ctx, [body.batch])[body.batch]
    require_not_recalled(ctx, batch)
    verdict = evaluate(ctx, body, batch)
    ctx.state.update_batch(batch.id, quality=verdict)
    ctx.state.add_events(ctx.index, "quality_test", [batch.id])


def sensor_reading(ctx: Context, body: SensorReadings) -> None:
    """Readings near batches held (or, in transit, about to be held) by the signer's side."""
    require_role(ctx, FIELD_ROLES, "sensor readings")
    ids = list(dict.fromkeys(body.batches))
    found = require_known(ctx, ids)
    for batch in found.values():
        require_active(ctx, batch)
        may_observe(ctx, batch)
    cold_chain.observe(ctx, body, found)
    ctx.state.add_events(ctx.index, "sensor_reading", ids)
